#include "crypto/jwk.h"

#include <array>
#include <set>
#include <utility>

#include "core/status.h"
#include "core/strict_json.h"
#include "crypto/bytes.h"
#include "crypto/digest.h"
#include "fmt/format.h"

namespace bulwark::crypto {

namespace {

using internal::QuoteForMessage;
using nlohmann::json;

constexpr std::size_t kCoordinateBytes = 32;
// Members that carry private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
constexpr std::array<std::string_view, 8> kPrivateMembers = {"d",  "p",  "q",   "dp",
                                                             "dq", "qi", "oth", "k"};

absl::Status Invalid(std::string message) {
  return absl::InvalidArgumentError(fmt::format("JWK {}", message));
}

// Returns the string member `name`; nullopt when absent; an error when it is not a string.
absl::StatusOr<std::optional<std::string>> OptionalString(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) {
    return std::optional<std::string>();
  }
  if (!it->is_string()) {
    return Invalid(fmt::format("member '{}' must be a string", name));
  }
  return std::optional<std::string>(it->get<std::string>());
}

absl::StatusOr<std::string> RequiredString(const json& jwk, const char* name) {
  BULWARK_ASSIGN_OR_RETURN(std::optional<std::string> value, OptionalString(jwk, name));
  if (!value) {
    return Invalid(fmt::format("member '{}' is required", name));
  }
  return *std::move(value);
}

// Decodes the strict base64url member `name`; `size` 0 means any non-zero length.
absl::StatusOr<Bytes> RequiredBytes(const json& jwk, const char* name, std::size_t size) {
  BULWARK_ASSIGN_OR_RETURN(std::string text, RequiredString(jwk, name));
  absl::StatusOr<Bytes> bytes = Base64UrlDecode(text);
  if (!bytes.ok()) {
    return Invalid(
        fmt::format("member '{}' is not strict base64url: {}", name, bytes.status().message()));
  }
  if ((size != 0 && bytes->size() != size) || bytes->empty()) {
    return Invalid(
        fmt::format("member '{}' must decode to {} bytes, got {}", name, size, bytes->size()));
  }
  return *std::move(bytes);
}

absl::Status CheckPublicOnly(const json& jwk) {
  for (std::string_view member : kPrivateMembers) {
    if (jwk.contains(std::string(member))) {
      return Invalid(fmt::format(
          "has private or symmetric member '{}'; only public keys are accepted", member));
    }
  }
  BULWARK_ASSIGN_OR_RETURN(std::optional<std::string> use, OptionalString(jwk, "use"));
  if (use && *use != "sig") {
    return Invalid(fmt::format("'use' must be \"sig\", got {}", QuoteForMessage(*use)));
  }
  auto ops = jwk.find("key_ops");
  if (ops != jwk.end() && (!ops->is_array() || *ops != json::array({"verify"}))) {
    return Invalid("'key_ops' must be [\"verify\"] when present");
  }
  return absl::OkStatus();
}

// Returns the key's pinned algorithm: `alg` if present (it must be one of `allowed`), otherwise
// `inferred` (nullopt when the key type requires an explicit alg).
absl::StatusOr<JwsAlgorithm> PinAlgorithm(const json& jwk, std::string_view kty,
                                          std::vector<JwsAlgorithm> allowed,
                                          std::optional<JwsAlgorithm> inferred) {
  BULWARK_ASSIGN_OR_RETURN(std::optional<std::string> alg, OptionalString(jwk, "alg"));
  if (!alg) {
    if (!inferred) {
      return Invalid(fmt::format("of kty {} needs an explicit 'alg'", kty));
    }
    return *inferred;
  }
  std::optional<JwsAlgorithm> parsed = JwsAlgorithmFromName(*alg);
  for (JwsAlgorithm a : allowed) {
    if (parsed == a) {
      return a;
    }
  }
  return Invalid(fmt::format("'alg' {} is not accepted for kty {}", QuoteForMessage(*alg), kty));
}

absl::Status CheckCurve(const json& jwk, std::string_view expected) {
  BULWARK_ASSIGN_OR_RETURN(std::string crv, RequiredString(jwk, "crv"));
  if (crv != expected) {
    return Invalid(fmt::format("'crv' must be {}, got {}", expected, QuoteForMessage(crv)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<PublicKey, JwsAlgorithm>> ParseEc(const json& jwk) {
  BULWARK_RETURN_IF_ERROR(CheckCurve(jwk, "P-256"));
  BULWARK_ASSIGN_OR_RETURN(Bytes x, RequiredBytes(jwk, "x", kCoordinateBytes));
  BULWARK_ASSIGN_OR_RETURN(Bytes y, RequiredBytes(jwk, "y", kCoordinateBytes));
  BULWARK_ASSIGN_OR_RETURN(JwsAlgorithm alg,
                           PinAlgorithm(jwk, "EC", {JwsAlgorithm::kES256}, JwsAlgorithm::kES256));
  absl::StatusOr<PublicKey> key = PublicKey::FromP256Coordinates(x, y);
  if (!key.ok()) {
    return Invalid(fmt::format("EC point: {}", key.status().message()));
  }
  return std::make_pair(*std::move(key), alg);
}

absl::StatusOr<std::pair<PublicKey, JwsAlgorithm>> ParseOkp(const json& jwk) {
  BULWARK_RETURN_IF_ERROR(CheckCurve(jwk, "Ed25519"));
  BULWARK_ASSIGN_OR_RETURN(Bytes x, RequiredBytes(jwk, "x", kCoordinateBytes));
  BULWARK_ASSIGN_OR_RETURN(JwsAlgorithm alg,
                           PinAlgorithm(jwk, "OKP", {JwsAlgorithm::kEdDSA}, JwsAlgorithm::kEdDSA));
  absl::StatusOr<PublicKey> key = PublicKey::FromEd25519Raw(x);
  if (!key.ok()) {
    return Invalid(fmt::format("Ed25519 key: {}", key.status().message()));
  }
  return std::make_pair(*std::move(key), alg);
}

absl::StatusOr<std::pair<PublicKey, JwsAlgorithm>> ParseRsa(const json& jwk) {
  BULWARK_ASSIGN_OR_RETURN(Bytes n, RequiredBytes(jwk, "n", 0));
  BULWARK_ASSIGN_OR_RETURN(Bytes e, RequiredBytes(jwk, "e", 0));
  BULWARK_ASSIGN_OR_RETURN(
      JwsAlgorithm alg,
      PinAlgorithm(jwk, "RSA", {JwsAlgorithm::kRS256, JwsAlgorithm::kPS256}, std::nullopt));
  absl::StatusOr<PublicKey> key = PublicKey::FromRsaComponents(n, e);
  if (!key.ok()) {
    return Invalid(fmt::format("RSA key: {}", key.status().message()));
  }
  return std::make_pair(*std::move(key), alg);
}

absl::StatusOr<std::pair<PublicKey, JwsAlgorithm>> ParseKeyMaterial(const json& jwk,
                                                                    std::string_view kty) {
  if (kty == "EC") {
    return ParseEc(jwk);
  }
  if (kty == "OKP") {
    return ParseOkp(jwk);
  }
  if (kty == "RSA") {
    return ParseRsa(jwk);
  }
  return Invalid(fmt::format("'kty' {} is not accepted (EC, OKP or RSA)", QuoteForMessage(kty)));
}

// Returns whether `alg` may be used with a key of `type`.
bool AlgorithmFitsKey(JwsAlgorithm alg, KeyType type) {
  switch (type) {
    case KeyType::kP256:
      return alg == JwsAlgorithm::kES256;
    case KeyType::kEd25519:
      return alg == JwsAlgorithm::kEdDSA;
    case KeyType::kRsa:
      return alg == JwsAlgorithm::kRS256 || alg == JwsAlgorithm::kPS256;
  }
  return false;
}

// Returns the canonical RFC 7638 member JSON of a P-256 or Ed25519 key (lexicographic order).
absl::StatusOr<json> RequiredMembers(const PublicKey& key) {
  if (key.type() == KeyType::kP256) {
    Bytes x;
    Bytes y;
    BULWARK_RETURN_IF_ERROR(key.P256Coordinates(x, y));
    return json{
        {"crv", "P-256"}, {"kty", "EC"}, {"x", Base64UrlEncode(x)}, {"y", Base64UrlEncode(y)}};
  }
  if (key.type() == KeyType::kEd25519) {
    BULWARK_ASSIGN_OR_RETURN(Bytes x, key.Ed25519Raw());
    return json{{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", Base64UrlEncode(x)}};
  }
  return absl::FailedPreconditionError(fmt::format(
      "JWKs are emitted only for P-256 and Ed25519 keys, not {}", KeyTypeName(key.type())));
}

// Parses the bulwark_delegation member (see Jwk::delegation); nullopt when absent.
absl::StatusOr<std::optional<JwkDelegation>> ParseDelegation(const json& jwk) {
  auto it = jwk.find(std::string(kJwkDelegationMember));
  if (it == jwk.end()) {
    return std::optional<JwkDelegation>();
  }
  const json& d = *it;
  if (!d.is_object() || d.size() != 3 || !d.contains("workload") || !d.contains("typ") ||
      !d.contains("exp")) {
    return Invalid(fmt::format("member '{}' must be an object of exactly workload, typ and exp",
                               kJwkDelegationMember));
  }
  const json& exp = d["exp"];
  if (!d["workload"].is_string() || d["workload"].get<std::string>().empty() ||
      !d["typ"].is_string() || d["typ"].get<std::string>().empty() || !exp.is_number_integer()) {
    return Invalid(
        fmt::format("member '{}' needs non-empty string workload and typ and an integer exp",
                    kJwkDelegationMember));
  }
  return std::optional<JwkDelegation>(JwkDelegation{d["workload"].get<std::string>(),
                                                    d["typ"].get<std::string>(),
                                                    core::FromUnixSeconds(exp.get<long long>())});
}

}  // namespace

namespace internal {
std::string QuoteForMessage(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    char c = text[i];
    out += (c >= 0x20 && c < 0x7f && c != '\'') ? c : '?';
  }
  out += text.size() > kMax ? "'..." : "'";
  return out;
}
}  // namespace internal

std::string_view JwsAlgorithmName(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kES256:
      return "ES256";
    case JwsAlgorithm::kEdDSA:
      return "EdDSA";
    case JwsAlgorithm::kRS256:
      return "RS256";
    case JwsAlgorithm::kPS256:
      return "PS256";
  }
  return "unknown";
}

std::optional<JwsAlgorithm> JwsAlgorithmFromName(std::string_view name) {
  for (JwsAlgorithm alg :
       {JwsAlgorithm::kES256, JwsAlgorithm::kEdDSA, JwsAlgorithm::kRS256, JwsAlgorithm::kPS256}) {
    if (JwsAlgorithmName(alg) == name) {
      return alg;
    }
  }
  return std::nullopt;
}

absl::StatusOr<Jwks> Jwks::FromKeys(std::vector<Jwk> keys) {
  if (keys.empty()) {
    return absl::InvalidArgumentError("JWKS has no keys");
  }
  std::set<std::string, std::less<>> kids;
  for (const Jwk& key : keys) {
    if (key.kid.empty() && keys.size() > 1) {
      return absl::InvalidArgumentError("JWKS with more than one key needs a 'kid' on every key");
    }
    if (!AlgorithmFitsKey(key.alg, key.key.type())) {
      return absl::InvalidArgumentError(
          fmt::format("JWKS key {} pins {} on a {} key", QuoteForMessage(key.kid),
                      JwsAlgorithmName(key.alg), KeyTypeName(key.key.type())));
    }
    if (!kids.insert(key.kid).second) {
      return absl::InvalidArgumentError(
          fmt::format("JWKS repeats kid {}", QuoteForMessage(key.kid)));
    }
  }
  return Jwks(std::move(keys));
}

const Jwk* Jwks::Find(std::string_view kid) const {
  for (const Jwk& key : keys_) {
    if (key.kid == kid) {
      return &key;
    }
  }
  return nullptr;
}

absl::StatusOr<Jwk> ParseJwk(const json& jwk, const JwksLimits& limits) {
  if (!jwk.is_object()) {
    return Invalid("must be a JSON object");
  }
  BULWARK_RETURN_IF_ERROR(CheckPublicOnly(jwk));
  BULWARK_ASSIGN_OR_RETURN(std::optional<std::string> kid, OptionalString(jwk, "kid"));
  if (kid && (kid->empty() || kid->size() > limits.max_kid_bytes)) {
    return Invalid(fmt::format("'kid' must be 1 to {} bytes", limits.max_kid_bytes));
  }
  BULWARK_ASSIGN_OR_RETURN(std::string kty, RequiredString(jwk, "kty"));
  BULWARK_ASSIGN_OR_RETURN(auto parsed, ParseKeyMaterial(jwk, kty));
  BULWARK_ASSIGN_OR_RETURN(std::optional<JwkDelegation> delegation, ParseDelegation(jwk));
  return Jwk{kid.value_or(""), parsed.second, std::move(parsed.first), std::move(delegation)};
}

absl::StatusOr<Jwks> ParseJwks(std::string_view text, const JwksLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(
        fmt::format("JWKS is {} bytes, over the limit of {}", text.size(), limits.max_bytes));
  }
  absl::StatusOr<json> doc = core::ParseStrictJson(text, /*max_depth=*/8);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(fmt::format("JWKS: {}", doc.status().message()));
  }
  auto keys = doc->is_object() ? doc->find("keys") : doc->end();
  if (!doc->is_object() || keys == doc->end() || !keys->is_array()) {
    return absl::InvalidArgumentError("JWKS must be an object with a 'keys' array");
  }
  if (keys->size() > limits.max_keys) {
    return absl::InvalidArgumentError(
        fmt::format("JWKS has {} keys, over the limit of {}", keys->size(), limits.max_keys));
  }
  std::vector<Jwk> parsed;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    absl::StatusOr<Jwk> key = ParseJwk((*keys)[i], limits);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("JWKS keys[{}]: {}", i, key.status().message()));
    }
    parsed.push_back(*std::move(key));
  }
  return Jwks::FromKeys(std::move(parsed));
}

absl::StatusOr<std::string> JwkThumbprint(const PublicKey& key) {
  BULWARK_ASSIGN_OR_RETURN(json members, RequiredMembers(key));
  // nlohmann's default object is a std::map, so dump() is already RFC 7638's canonical form:
  // sorted member names, no whitespace.
  return Base64UrlEncode(Sha256(members.dump()));
}

absl::StatusOr<Jwk> JwkForKey(const PublicKey& key) {
  BULWARK_ASSIGN_OR_RETURN(std::string kid, JwkThumbprint(key));
  JwsAlgorithm alg = key.type() == KeyType::kP256 ? JwsAlgorithm::kES256 : JwsAlgorithm::kEdDSA;
  return Jwk{std::move(kid), alg, key, std::nullopt};
}

absl::StatusOr<json> JwkToJson(const Jwk& jwk) {
  BULWARK_ASSIGN_OR_RETURN(json out, RequiredMembers(jwk.key));
  out["alg"] = std::string(JwsAlgorithmName(jwk.alg));
  out["use"] = "sig";
  if (!jwk.kid.empty()) {
    out["kid"] = jwk.kid;
  }
  if (jwk.delegation) {
    out[std::string(kJwkDelegationMember)] = {
        {"workload", jwk.delegation->workload},
        {"typ", jwk.delegation->typ},
        {"exp", core::ToUnixSeconds(jwk.delegation->expires_at)}};
  }
  return out;
}

absl::StatusOr<json> JwksToJson(const Jwks& jwks) {
  json keys = json::array();
  for (const Jwk& jwk : jwks.keys()) {
    BULWARK_ASSIGN_OR_RETURN(json member, JwkToJson(jwk));
    keys.push_back(std::move(member));
  }
  return json{{"keys", std::move(keys)}};
}

}  // namespace bulwark::crypto
