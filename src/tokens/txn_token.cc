#include "tokens/txn_token.h"

#include <cmath>

#include "core/status.h"
#include "crypto/jwt.h"
#include "fmt/format.h"
#include "identity/spiffe_id.h"
#include "tokens/scope.h"

namespace bulwark::tokens {
namespace {

using nlohmann::json;

absl::Status Refuse(std::string message) {
  return absl::UnauthenticatedError(fmt::format("transaction token {}", message));
}

absl::StatusOr<std::string> RequiredString(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_string() || it->get<std::string>().empty()) {
    return Refuse(fmt::format("needs a non-empty string claim '{}'", name));
  }
  return it->get<std::string>();
}

}  // namespace

json TxnTokenClaimsToJson(const TxnTokenClaims& c) {
  json out = {{"iss", c.issuer},
              {"aud", c.audience},
              {"iat", core::ToUnixSeconds(c.issued_at)},
              {"exp", core::ToUnixSeconds(c.expires_at)},
              {"txn", c.txn},
              {"sub", c.subject},
              {"sub_iss", c.subject_issuer},
              {"req_wl", c.requesting_workload}};
  if (!c.scope.empty()) {
    out["scope"] = JoinScope(c.scope);
  }
  if (c.request_ip) {
    out["rctx"] = {{"req_ip", *c.request_ip}};
  }
  return out;
}

absl::StatusOr<std::string> SignTransactionToken(const TxnTokenClaims& claims,
                                                 const crypto::PrivateKey& key,
                                                 std::string_view kid) {
  for (const std::string* required :
       {&claims.issuer, &claims.audience, &claims.txn, &claims.subject, &claims.subject_issuer,
        &claims.requesting_workload}) {
    if (required->empty()) {
      return absl::InvalidArgumentError(
          "a transaction token needs iss, aud, txn, sub, sub_iss and req_wl");
    }
  }
  core::Seconds lifetime =
      std::chrono::duration_cast<core::Seconds>(claims.expires_at - claims.issued_at);
  if (lifetime <= core::Seconds(0) || lifetime > kMaxTxnTokenLifetime) {
    return absl::InvalidArgumentError(fmt::format("a transaction token lives 1 to {} s, not {} s",
                                                  kMaxTxnTokenLifetime.count(), lifetime.count()));
  }
  return crypto::SignJwt({{"typ", std::string(kTxnTokenType)}}, TxnTokenClaimsToJson(claims), key,
                         kid);
}

absl::StatusOr<TxnTokenClaims> VerifyTransactionToken(std::string_view token,
                                                      const crypto::Jwks& jwks,
                                                      std::string_view trust_domain,
                                                      std::string_view issuer, core::TimePoint now,
                                                      core::Seconds skew) {
  crypto::JwtExpectations expect;
  expect.skew = skew;
  expect.issuer = std::string(issuer);
  expect.audience = identity::TrustDomainId(trust_domain);
  expect.typ = std::string(kTxnTokenType);
  expect.accept_delegated = true;  // checked against req_wl below
  BULWARK_ASSIGN_OR_RETURN(crypto::VerifiedJwt jwt, crypto::VerifyJwt(token, jwks, expect, now));
  const json& claims = jwt.claims;
  TxnTokenClaims out;
  out.issuer = expect.issuer;
  out.audience = expect.audience;
  auto iat = claims.find("iat");
  if (iat == claims.end() || !iat->is_number() || !std::isfinite(iat->get<double>())) {
    return Refuse("needs a numeric 'iat'");
  }
  // VerifyJwt checked that exp is a number.
  double lifetime = claims["exp"].get<double>() - iat->get<double>();
  if (lifetime > static_cast<double>(kMaxTxnTokenLifetime.count())) {
    return Refuse(fmt::format("lives {:.0f} s (exp - iat); at most {} s are allowed", lifetime,
                              kMaxTxnTokenLifetime.count()));
  }
  out.issued_at = core::FromUnixSeconds(static_cast<long long>(iat->get<double>()));
  out.expires_at = core::FromUnixSeconds(static_cast<long long>(claims["exp"].get<double>()));
  BULWARK_ASSIGN_OR_RETURN(out.txn, RequiredString(claims, "txn"));
  BULWARK_ASSIGN_OR_RETURN(out.subject, RequiredString(claims, "sub"));
  BULWARK_ASSIGN_OR_RETURN(out.subject_issuer, RequiredString(claims, "sub_iss"));
  BULWARK_ASSIGN_OR_RETURN(out.requesting_workload, RequiredString(claims, "req_wl"));
  absl::StatusOr<identity::SpiffeId> wl = identity::SpiffeId::Parse(out.requesting_workload);
  if (!wl.ok() || wl->trust_domain() != trust_domain) {
    return Refuse("claim 'req_wl' must be a SPIFFE ID of this trust domain");
  }
  if (jwt.delegated_to && *jwt.delegated_to != out.requesting_workload) {
    return Refuse(fmt::format("is signed with a key delegated to {}, but names req_wl {}",
                              crypto::internal::QuoteForMessage(*jwt.delegated_to),
                              crypto::internal::QuoteForMessage(out.requesting_workload)));
  }
  absl::StatusOr<std::vector<std::string>> scope = ScopeClaim(claims);
  if (!scope.ok()) {
    return Refuse(std::string(scope.status().message()));
  }
  out.scope = *std::move(scope);
  if (auto rctx = claims.find("rctx"); rctx != claims.end()) {
    auto ip = rctx->is_object() ? rctx->find("req_ip") : rctx->end();
    if (!rctx->is_object() || (ip != rctx->end() && !ip->is_string())) {
      return Refuse("claim 'rctx' must be an object whose 'req_ip' is a string");
    }
    if (ip != rctx->end()) {
      out.request_ip = ip->get<std::string>();
    }
  }
  return out;
}

}  // namespace bulwark::tokens
