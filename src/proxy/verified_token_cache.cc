#include "proxy/verified_token_cache.h"

#include "crypto/digest.h"

namespace bulwark::proxy {

std::string TokenDigest(std::string_view token) {
  crypto::Bytes d = crypto::Sha256(token);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace bulwark::proxy
