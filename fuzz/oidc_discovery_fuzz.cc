// Fuzzes what bulwark reads from an external issuer: the OpenID Connect Discovery document
// parser that picks its jwks_uri, and its JWKS (ParseIssuerJwks). Neither may crash; an accepted
// jwks_uri must be an https:// URL from a document of the configured issuer, an accepted JWKS
// must hold at least one key.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/ascii.h"
#include "tokens/issuer_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view document(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::string> uri =
      bulwark::tokens::ParseDiscoveryJwksUri(document, "https://idp.example");
  // The scheme is case-insensitive (RFC 3986 §3.1): "HTTPS://" is an https URL too.
  if (uri.ok() &&
      (!bulwark::core::AsciiEqualsIgnoreCase(std::string_view(*uri).substr(0, 8), "https://") ||
       document.find("\"https://idp.example\"") == std::string_view::npos)) {
    std::abort();
  }
  absl::StatusOr<bulwark::crypto::Jwks> jwks = bulwark::tokens::ParseIssuerJwks(document);
  if (jwks.ok() && jwks->keys().empty()) {
    std::abort();
  }
  return 0;
}
