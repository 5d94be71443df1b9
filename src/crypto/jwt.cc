#include "crypto/jwt.h"

#include <cmath>
#include <optional>

#include "core/ascii.h"
#include "core/status.h"
#include "core/strict_json.h"
#include "crypto/jws.h"
#include "fmt/format.h"

namespace bulwark::crypto {

namespace {

using internal::QuoteForMessage;
using nlohmann::json;

constexpr std::size_t kClaimsMaxDepth = 16;

absl::Status Refuse(std::string message) {
  return absl::UnauthenticatedError(fmt::format("JWT {}", message));
}

// Returns the NumericDate claim `name` in seconds; nullopt when absent; an error when it is not
// a finite JSON number (booleans and strings are refused).
absl::StatusOr<std::optional<double>> NumericDate(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) {
    return std::optional<double>();
  }
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    return Refuse(fmt::format("claim '{}' must be a NumericDate (a JSON number)", name));
  }
  return std::optional<double>(it->get<double>());
}

absl::Status CheckTimes(const json& claims, const JwtExpectations& expect, core::TimePoint now) {
  const double t = static_cast<double>(core::ToUnixSeconds(now));
  const double skew = static_cast<double>(expect.skew.count());
  BULWARK_ASSIGN_OR_RETURN(std::optional<double> exp, NumericDate(claims, "exp"));
  if (!exp) {
    return Refuse("claim 'exp' is required");
  }
  if (t >= *exp + skew) {
    return Refuse(
        fmt::format("expired: exp {:.0f} is before now {:.0f} minus {:.0f} s skew", *exp, t, skew));
  }
  BULWARK_ASSIGN_OR_RETURN(std::optional<double> nbf, NumericDate(claims, "nbf"));
  if (nbf && *nbf > t + skew) {
    return Refuse(fmt::format("not yet valid: nbf {:.0f} is after now {:.0f} plus {:.0f} s skew",
                              *nbf, t, skew));
  }
  BULWARK_ASSIGN_OR_RETURN(std::optional<double> iat, NumericDate(claims, "iat"));
  if (iat && *iat > t + skew) {
    return Refuse(
        fmt::format("issued in the future: iat {:.0f} is after now {:.0f} plus {:.0f} s "
                    "skew",
                    *iat, t, skew));
  }
  return absl::OkStatus();
}

absl::Status CheckIssuer(const json& claims, const std::string& issuer) {
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string()) {
    return Refuse("claim 'iss' is missing or not a string");
  }
  if (iss->get_ref<const std::string&>() != issuer) {
    return Refuse(fmt::format("issuer {} is not the expected {}",
                              QuoteForMessage(iss->get_ref<const std::string&>()),
                              QuoteForMessage(issuer)));
  }
  return absl::OkStatus();
}

absl::Status CheckAudience(const json& claims, const std::string& audience) {
  auto aud = claims.find("aud");
  if (aud == claims.end()) {
    return Refuse("claim 'aud' is required");
  }
  if (aud->is_string()) {
    if (aud->get_ref<const std::string&>() == audience) {
      return absl::OkStatus();
    }
  } else if (aud->is_array()) {
    bool found = false;
    for (const json& entry : *aud) {
      if (!entry.is_string()) {
        return Refuse("claim 'aud' array must hold only strings");
      }
      found = found || entry.get_ref<const std::string&>() == audience;
    }
    if (found) {
      return absl::OkStatus();
    }
  } else {
    return Refuse("claim 'aud' must be a string or an array of strings");
  }
  return Refuse(fmt::format("audience does not include {}", QuoteForMessage(audience)));
}

absl::Status CheckType(const json& header, const std::string& typ) {
  if (typ.empty()) {
    return absl::OkStatus();
  }
  auto it = header.find("typ");
  if (it == header.end() || !it->is_string()) {
    return Refuse(
        fmt::format("header 'typ' is missing or not a string; expected {}", QuoteForMessage(typ)));
  }
  if (!JoseTypeEquals(it->get_ref<const std::string&>(), typ)) {
    return Refuse(fmt::format("header typ {} is not the expected {}",
                              QuoteForMessage(it->get_ref<const std::string&>()),
                              QuoteForMessage(typ)));
  }
  return absl::OkStatus();
}

// Applies a delegated key's restrictions (JwtExpectations::accept_delegated) to a token it
// verified.
absl::Status CheckDelegation(const JwkDelegation& delegation, const std::string& kid,
                             const json& claims, const JwtExpectations& expect,
                             core::TimePoint now) {
  if (!expect.accept_delegated || expect.typ.empty() ||
      !JoseTypeEquals(delegation.typ, expect.typ)) {
    return Refuse(fmt::format("key {} is delegated to {} for {} tokens only", QuoteForMessage(kid),
                              QuoteForMessage(delegation.workload),
                              QuoteForMessage(delegation.typ)));
  }
  const long long expires = core::ToUnixSeconds(delegation.expires_at);
  const long long skew = expect.skew.count();
  if (core::ToUnixSeconds(now) >= expires + skew) {
    return Refuse(fmt::format("delegated key {} expired at {}", QuoteForMessage(kid), expires));
  }
  // CheckTimes made sure exp is a number.
  if (claims["exp"].get<double>() > static_cast<double>(expires + skew)) {
    return Refuse(fmt::format("outlives its delegated key {} (expires at {})", QuoteForMessage(kid),
                              expires));
  }
  return absl::OkStatus();
}

absl::StatusOr<json> ParseClaims(const std::string& payload) {
  absl::StatusOr<json> claims = core::ParseStrictJson(payload, kClaimsMaxDepth);
  if (!claims.ok()) {
    return Refuse(fmt::format("claims are not strict JSON: {}", claims.status().message()));
  }
  if (!claims->is_object()) {
    return Refuse("claims are not a JSON object");
  }
  return claims;
}

std::string_view StripApplication(std::string_view typ) {
  constexpr std::string_view kPrefix = "application/";
  if (typ.size() > kPrefix.size() &&
      core::AsciiEqualsIgnoreCase(typ.substr(0, kPrefix.size()), kPrefix)) {
    return typ.substr(kPrefix.size());
  }
  return typ;
}

}  // namespace

bool JoseTypeEquals(std::string_view a, std::string_view b) {
  return core::AsciiEqualsIgnoreCase(StripApplication(a), StripApplication(b));
}

absl::StatusOr<VerifiedJwt> VerifyJwt(std::string_view token, const Jwks& keys,
                                      const JwtExpectations& expect, core::TimePoint now) {
  if (expect.issuer.empty() || expect.audience.empty()) {
    return absl::InvalidArgumentError("JWT expectations need an issuer and an audience");
  }
  BULWARK_ASSIGN_OR_RETURN(VerifiedJws jws,
                           VerifyJws(token, keys, JwsLimits{expect.max_token_bytes}));
  BULWARK_RETURN_IF_ERROR(CheckType(jws.header, expect.typ));
  BULWARK_ASSIGN_OR_RETURN(json claims, ParseClaims(jws.payload));
  BULWARK_RETURN_IF_ERROR(CheckTimes(claims, expect, now));
  BULWARK_RETURN_IF_ERROR(CheckIssuer(claims, expect.issuer));
  BULWARK_RETURN_IF_ERROR(CheckAudience(claims, expect.audience));
  std::optional<std::string> delegated_to;
  if (jws.delegation) {
    BULWARK_RETURN_IF_ERROR(CheckDelegation(*jws.delegation, jws.kid, claims, expect, now));
    delegated_to = jws.delegation->workload;
  }
  return VerifiedJwt{std::move(jws.header), std::move(claims), std::move(jws.kid),
                     std::move(delegated_to)};
}

absl::StatusOr<std::string> SignJwt(const json& header_extra, const json& claims,
                                    const PrivateKey& key, std::string_view kid) {
  if (!claims.is_object()) {
    return absl::InvalidArgumentError("JWT claims must be a JSON object");
  }
  if (!header_extra.is_object()) {
    return absl::InvalidArgumentError("JWT header must be a JSON object");
  }
  json header = header_extra;
  if (!header.contains("typ")) {
    header["typ"] = "JWT";
  }
  std::string payload;
  try {
    payload = claims.dump();
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(fmt::format("JWT claims cannot be serialized: {}", e.what()));
  }
  return SignJws(header, payload, key, kid);
}

}  // namespace bulwark::crypto
