// Fuzzes the OpenID Connect Discovery document parser that picks an external issuer's jwks_uri.
// It must never crash, and whatever it accepts must be an https:// URL from a document of the
// configured issuer.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tokens/issuer_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view document(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::string> uri =
      bulwark::tokens::ParseDiscoveryJwksUri(document, "https://idp.example");
  if (uri.ok() && (!uri->starts_with("https://") ||
                   document.find("\"https://idp.example\"") == std::string_view::npos)) {
    std::abort();
  }
  return 0;
}
