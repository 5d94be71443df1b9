#include "tokens/issuer_keys.h"

#include "absl/strings/match.h"
#include "core/status.h"
#include "core/strict_json.h"
#include "fmt/format.h"
#include "http/url.h"

namespace bulwark::tokens {

std::string DiscoveryUrl(std::string_view issuer) {
  while (issuer.ends_with('/')) {
    issuer.remove_suffix(1);
  }
  return fmt::format("{}/.well-known/openid-configuration", issuer);
}

absl::StatusOr<std::string> ParseDiscoveryJwksUri(std::string_view document,
                                                  std::string_view expected_issuer) {
  if (document.size() > kMaxIssuerDocumentBytes) {
    return absl::DataLossError(
        fmt::format("the discovery document is larger than {} bytes", kMaxIssuerDocumentBytes));
  }
  absl::StatusOr<nlohmann::json> doc = core::ParseStrictJson(document, 16);
  if (!doc.ok() || !doc->is_object()) {
    return absl::DataLossError(
        fmt::format("the discovery document is not a JSON object{}",
                    doc.ok() ? "" : fmt::format(" ({})", doc.status().message())));
  }
  auto issuer = doc->find("issuer");
  if (issuer == doc->end() || !issuer->is_string() ||
      issuer->get_ref<const std::string&>() != expected_issuer) {
    return absl::DataLossError(fmt::format(
        "the discovery document's issuer {} is not the configured issuer '{}' (they must be "
        "equal exactly)",
        issuer != doc->end() && issuer->is_string()
            ? crypto::internal::QuoteForMessage(issuer->get<std::string>())
            : std::string("(missing)"),
        expected_issuer));
  }
  auto jwks_uri = doc->find("jwks_uri");
  if (jwks_uri == doc->end() || !jwks_uri->is_string()) {
    return absl::DataLossError("the discovery document has no string 'jwks_uri'");
  }
  const std::string& uri = jwks_uri->get_ref<const std::string&>();
  absl::StatusOr<http::Url> url = http::ParseUrl(uri);
  if (!url.ok() || url->scheme != "https") {
    return absl::DataLossError(
        fmt::format("the discovery document's jwks_uri {} is not an "
                    "https:// URL",
                    crypto::internal::QuoteForMessage(uri)));
  }
  return uri;
}

absl::StatusOr<crypto::Jwks> ParseIssuerJwks(std::string_view text) {
  crypto::JwksLimits limits;
  if (text.size() > limits.max_bytes) {
    return crypto::ParseJwks(text, limits);  // its size refusal
  }
  absl::StatusOr<nlohmann::json> doc = core::ParseStrictJson(text, 8);
  auto keys = doc.ok() && doc->is_object() ? doc->find("keys") : nlohmann::json::iterator();
  if (!doc.ok() || !doc->is_object() || keys == doc->end() || !keys->is_array()) {
    return crypto::ParseJwks(text, limits);  // its refusal of the document
  }
  nlohmann::json usable = nlohmann::json::array();
  for (const nlohmann::json& key : *keys) {
    auto use = key.is_object() ? key.find("use") : key.end();
    auto alg = key.is_object() ? key.find("alg") : key.end();
    bool encryption = use != key.end() && use->is_string() && use->get<std::string>() == "enc";
    bool foreign_alg = alg != key.end() && alg->is_string() &&
                       !crypto::JwsAlgorithmFromName(alg->get<std::string>()).has_value();
    if (!encryption && !foreign_alg) {
      usable.push_back(key);
    }
  }
  if (usable.empty()) {
    return absl::InvalidArgumentError(
        "JWKS has no signing key bulwark can verify with (ES256, EdDSA, RS256, PS256)");
  }
  (*doc)["keys"] = std::move(usable);
  return crypto::ParseJwks(doc->dump(), limits);
}

bool IsUnknownKid(const absl::Status& status) {
  // The JWS layer's wording for a kid missing from the set (crypto/jws.cc).
  return absl::StrContains(status.message(), "is not in the key set");
}

}  // namespace bulwark::tokens
