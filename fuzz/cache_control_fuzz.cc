// Fuzzes the Cache-Control max-age parser that decides how long a fetched JWKS is kept. It must
// never crash, and the lifetime it yields must stay within the bounds whatever the header says.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tokens/jwks_refresh.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bulwark::tokens;
  std::string_view value(reinterpret_cast<const char*>(data), size);
  std::optional<bulwark::core::Seconds> max_age = CacheControlMaxAge(value);
  if (max_age.has_value() && max_age->count() < 0) {
    std::abort();
  }
  bulwark::core::Seconds lifetime = JwksLifetime(value);
  if (lifetime < kMinJwksLifetime || lifetime > kMaxJwksLifetime) {
    std::abort();
  }
  return 0;
}
