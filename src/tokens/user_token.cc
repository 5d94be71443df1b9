#include "tokens/user_token.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"
#include "core/strict_json.h"
#include "crypto/bytes.h"
#include "crypto/jwt.h"
#include "fmt/format.h"
#include "identity/spiffe_id.h"
#include "tokens/scope.h"

namespace bulwark::tokens {
namespace {

using crypto::internal::QuoteForMessage;
using nlohmann::json;

absl::Status Refuse(std::string message) { return absl::UnauthenticatedError(std::move(message)); }

// The issuer `iss` names, with its current keys (null if none yet).
struct Match {
  const TrustedIssuer* issuer = nullptr;
  std::shared_ptr<const IssuerKeys> keys;
};

Match FindIssuer(const std::vector<TrustedIssuer>& issuers, std::string_view iss) {
  for (const TrustedIssuer& candidate : issuers) {
    std::shared_ptr<const IssuerKeys> keys =
        candidate.keys.current ? candidate.keys.current() : nullptr;
    std::string_view expected =
        candidate.self ? (keys ? std::string_view(keys->issuer) : "") : candidate.issuer;
    if (!expected.empty() && expected == iss) {
      return {&candidate, std::move(keys)};
    }
  }
  return {};
}

absl::Status CheckType(const TrustedIssuer& issuer, const json& header) {
  auto typ = header.find("typ");
  if (issuer.self) {
    // VerifyJwt checked typ == at+jwt.
    return absl::OkStatus();
  }
  if (typ == header.end()) {
    return absl::OkStatus();
  }
  if (typ->is_string() && (crypto::JoseTypeEquals(typ->get<std::string>(), "JWT") ||
                           crypto::JoseTypeEquals(typ->get<std::string>(), kAccessTokenType))) {
    return absl::OkStatus();
  }
  return Refuse(fmt::format(
      "typ {} is not an access token's (absent, JWT or at+jwt)",
      typ->is_string() ? QuoteForMessage(typ->get<std::string>()) : std::string("(not a string)")));
}

// The scopes of `scope` (a space-separated string) or else `scp` (an array of scope strings).
absl::StatusOr<std::vector<std::string>> ScopeOf(const json& claims) {
  if (claims.contains("scope") || !claims.contains("scp")) {
    absl::StatusOr<std::vector<std::string>> scope = ScopeClaim(claims);
    if (!scope.ok()) {
      return Refuse(std::string(scope.status().message()));
    }
    return scope;
  }
  const json& scp = claims.at("scp");
  if (scp.is_array() && scp.empty()) {
    return std::vector<std::string>();
  }
  // Not an array, or a non-string item: an empty item, which ParseScope refuses.
  std::vector<std::string> items;
  for (const json& item : scp.is_array() ? scp : json::array({json()})) {
    items.push_back(item.is_string() ? item.get<std::string>() : "");
  }
  // Joined and parsed: an item that is not exactly one valid scope token fails or splits.
  absl::StatusOr<std::vector<std::string>> parsed = ParseScope(JoinScope(items));
  if (!parsed.ok() || parsed->size() != items.size()) {
    return Refuse("claim 'scp' must be an array of scope tokens (RFC 6749 §3.3)");
  }
  return parsed;
}

}  // namespace

TrustedIssuer TrustedIssuerFromConfig(const mesh::IssuerConfig& config,
                                      std::string_view trust_domain, IssuerKeySource keys) {
  TrustedIssuer out;
  out.name = config.name;
  out.self = config.IsSelf();
  out.issuer = out.self ? "" : config.issuer;
  out.audiences =
      out.self ? std::vector<std::string>{identity::TrustDomainId(trust_domain)} : config.audiences;
  out.algorithms = config.algorithms;
  out.keys = std::move(keys);
  return out;
}

absl::StatusOr<json> PeekJwtClaims(std::string_view token) {
  std::size_t first = token.find('.');
  std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos) {
    return absl::InvalidArgumentError("not a compact JWS (header.payload.signature)");
  }
  BULWARK_ASSIGN_OR_RETURN(crypto::Bytes payload,
                           crypto::Base64UrlDecode(token.substr(first + 1, second - first - 1)));
  BULWARK_ASSIGN_OR_RETURN(json claims, core::ParseStrictJson(crypto::ToString(payload), 16));
  if (!claims.is_object()) {
    return absl::InvalidArgumentError("the payload is not a JSON object");
  }
  return claims;
}

std::vector<std::string> JwtAudiences(const json& claims) {
  auto aud = claims.find("aud");
  std::vector<std::string> offered;
  if (aud != claims.end() && aud->is_string()) {
    offered.push_back(aud->get<std::string>());
  } else if (aud != claims.end() && aud->is_array()) {
    for (const json& a : *aud) {
      if (a.is_string()) {
        offered.push_back(a.get<std::string>());
      }
    }
  }
  return offered;
}

std::string ChooseAudience(const json& claims, const std::vector<std::string>& accepted) {
  for (const std::string& a : JwtAudiences(claims)) {
    if (std::find(accepted.begin(), accepted.end(), a) != accepted.end()) {
      return a;
    }
  }
  return accepted.front();
}

absl::StatusOr<VerifiedUserToken> VerifyUserToken(std::string_view token,
                                                  const std::vector<TrustedIssuer>& issuers,
                                                  core::TimePoint now, core::Seconds skew) {
  absl::StatusOr<json> peeked = PeekJwtClaims(token);
  if (!peeked.ok()) {
    return Refuse(std::string(peeked.status().message()));
  }
  auto iss = peeked->find("iss");
  std::string issuer = iss != peeked->end() && iss->is_string() ? iss->get<std::string>() : "";
  Match match = FindIssuer(issuers, issuer);
  if (match.issuer == nullptr) {
    return Refuse(fmt::format("issuer {} is not one of gateway.issuers", QuoteForMessage(issuer)));
  }
  const TrustedIssuer& trusted = *match.issuer;
  if (match.keys == nullptr) {
    return Refuse(fmt::format("the keys of issuer '{}' were not fetched yet", trusted.name));
  }
  crypto::JwtExpectations expect;
  expect.issuer = issuer;
  expect.audience = ChooseAudience(*peeked, trusted.audiences);
  expect.skew = skew;
  if (trusted.self) {
    expect.typ = std::string(kAccessTokenType);
  }
  absl::StatusOr<crypto::VerifiedJwt> jwt = crypto::VerifyJwt(token, match.keys->jwks, expect, now);
  if (!jwt.ok()) {
    if (IsUnknownKid(jwt.status()) && trusted.keys.unknown_kid) {
      trusted.keys.unknown_kid();
    }
    return Refuse(std::string(jwt.status().message()));
  }
  std::string alg = jwt->header["alg"].get<std::string>();
  if (std::find(trusted.algorithms.begin(), trusted.algorithms.end(), alg) ==
      trusted.algorithms.end()) {
    return Refuse(fmt::format("algorithm {} is not allowed for issuer '{}'", alg, trusted.name));
  }
  BULWARK_RETURN_IF_ERROR(CheckType(trusted, jwt->header));
  auto sub = jwt->claims.find("sub");
  if (sub == jwt->claims.end() || !sub->is_string() || sub->get<std::string>().empty()) {
    return Refuse("the token has no 'sub' claim: whose request would this be?");
  }
  VerifiedUserToken out;
  out.self = trusted.self;
  out.subject.issuer = trusted.name;
  out.subject.subject = trusted.self ? sub->get<std::string>()
                                     : fmt::format("{}:{}", trusted.name, sub->get<std::string>());
  BULWARK_ASSIGN_OR_RETURN(out.subject.scope, ScopeOf(jwt->claims));
  // VerifyJwt checked that exp is a finite number.
  out.expires_at = core::FromUnixSeconds(static_cast<long long>(jwt->claims["exp"].get<double>()));
  out.header = std::move(jwt->header);
  out.claims = std::move(jwt->claims);
  return out;
}

}  // namespace bulwark::tokens
