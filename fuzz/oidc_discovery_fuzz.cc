// Fuzzes what bulwark reads from an external issuer: the OpenID Connect Discovery document
// parser that picks its jwks_uri, and its JWKS (ParseIssuerJwks). Neither may crash; an accepted
// jwks_uri must be an https:// URL from a document of the configured issuer, an accepted JWKS
// must hold at least one key.
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
  absl::StatusOr<bulwark::crypto::Jwks> jwks = bulwark::tokens::ParseIssuerJwks(document);
  if (jwks.ok() && jwks->keys().empty()) {
    std::abort();
  }
  return 0;
}
