#include "crypto/jws.h"

#include <array>
#include <vector>

#include "core/status.h"
#include "core/strict_json.h"
#include "fmt/format.h"

namespace bulwark::crypto {

namespace {

using internal::QuoteForMessage;
using nlohmann::json;

constexpr std::size_t kRawEcdsaBytes = 64;
constexpr std::size_t kHeaderMaxDepth = 8;
// Header members that would let the token choose its own key or fetch one (RFC 8725 §3.10).
constexpr std::array<std::string_view, 4> kUntrustedMembers = {"jku", "x5u", "jwk", "x5c"};

absl::Status Refuse(std::string message) {
  return absl::UnauthenticatedError(fmt::format("JWS {}", message));
}

// Splits `token` at '.' into its segments.
std::vector<std::string_view> Segments(std::string_view token) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = token.find('.', start);
    out.push_back(token.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) {
      return out;
    }
    start = dot + 1;
  }
}

absl::StatusOr<Bytes> DecodeSegment(std::string_view segment, std::string_view what) {
  absl::StatusOr<Bytes> bytes = Base64UrlDecode(segment);
  if (!bytes.ok()) {
    return Refuse(fmt::format("{} is not strict base64url: {}", what, bytes.status().message()));
  }
  return bytes;
}

absl::StatusOr<json> DecodeHeader(std::string_view segment) {
  BULWARK_ASSIGN_OR_RETURN(Bytes bytes, DecodeSegment(segment, "header"));
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  absl::StatusOr<json> header = core::ParseStrictJson(text, kHeaderMaxDepth);
  if (!header.ok()) {
    return Refuse(fmt::format("header is not strict JSON: {}", header.status().message()));
  }
  if (!header->is_object()) {
    return Refuse("header is not a JSON object");
  }
  return header;
}

// Refuses header members we never honour: key-selecting URLs and keys, and any `crit`.
absl::Status CheckHeaderMembers(const json& header) {
  for (std::string_view member : kUntrustedMembers) {
    if (header.contains(std::string(member))) {
      return Refuse(
          fmt::format("header member '{}' is not accepted (keys come only from the "
                      "configured JWKS)",
                      member));
    }
  }
  if (header.contains("crit")) {
    return Refuse("header 'crit' is present but no extensions are understood");
  }
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) {
    return Refuse("header 'alg' is missing or not a string");
  }
  return absl::OkStatus();
}

// Chooses the key named by the header's `kid`, or the only key when there is no kid.
absl::StatusOr<const Jwk*> SelectKey(const json& header, const Jwks& keys) {
  auto kid = header.find("kid");
  if (kid == header.end()) {
    if (keys.keys().size() != 1) {
      return Refuse(
          fmt::format("header has no 'kid' and the key set has {} keys", keys.keys().size()));
    }
    return &keys.keys().front();
  }
  if (!kid->is_string()) {
    return Refuse("header 'kid' is not a string");
  }
  const std::string& name = kid->get_ref<const std::string&>();
  const Jwk* key = keys.Find(name);
  if (key == nullptr) {
    return Refuse(fmt::format("kid {} is not in the key set", QuoteForMessage(name)));
  }
  return key;
}

absl::Status VerifyWithKey(JwsAlgorithm alg, std::string_view input, const Bytes& signature,
                           const PublicKey& key) {
  switch (alg) {
    case JwsAlgorithm::kES256:
      if (signature.size() != kRawEcdsaBytes) {
        return Refuse(fmt::format(
            "ES256 signature must be 64 bytes of raw R||S, got {} (DER is not accepted)",
            signature.size()));
      }
      return key.Verify(input, signature, PublicKey::SignatureFormat::kRaw);
    case JwsAlgorithm::kEdDSA:
      return key.Verify(input, signature);
    case JwsAlgorithm::kRS256:
      return key.VerifyRsa(input, signature, PublicKey::RsaPadding::kPkcs1v15);
    case JwsAlgorithm::kPS256:
      return key.VerifyRsa(input, signature, PublicKey::RsaPadding::kPss);
  }
  return Refuse("unknown algorithm");
}

absl::StatusOr<JwsAlgorithm> AlgorithmOf(const PrivateKey& key) {
  switch (key.type()) {
    case KeyType::kP256:
      return JwsAlgorithm::kES256;
    case KeyType::kEd25519:
      return JwsAlgorithm::kEdDSA;
    case KeyType::kRsa:
      break;
  }
  return absl::InvalidArgumentError(
      fmt::format("JWS signing needs a P-256 or Ed25519 key, not {}", KeyTypeName(key.type())));
}

absl::Status CheckSigningHeader(const json& header) {
  if (!header.is_object()) {
    return absl::InvalidArgumentError("JWS header must be a JSON object");
  }
  for (const char* member : {"alg", "kid", "jku", "x5u", "jwk", "x5c", "crit"}) {
    if (header.contains(member)) {
      return absl::InvalidArgumentError(
          fmt::format("JWS header must not set '{}' (alg and kid come from the key)", member));
    }
  }
  return absl::OkStatus();
}

// Serializes `value` compactly; InvalidArgument instead of nlohmann's exception for invalid UTF-8.
absl::StatusOr<std::string> Dump(const json& value, std::string_view what) {
  try {
    return value.dump();
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("JWS {} cannot be serialized: {}", what, e.what()));
  }
}

}  // namespace

absl::Status VerifyJwsSignature(std::string_view alg, std::string_view signing_input,
                                const Bytes& signature, const Jwk& key) {
  std::string_view pinned = JwsAlgorithmName(key.alg);
  if (alg != pinned) {
    return Refuse(fmt::format("alg {} does not match the key's algorithm '{}'",
                              QuoteForMessage(alg), pinned));
  }
  absl::Status verified = VerifyWithKey(key.alg, signing_input, signature, key.key);
  if (!verified.ok() && verified.code() != absl::StatusCode::kUnauthenticated) {
    return Refuse(fmt::format("{} signature does not verify: {}", pinned, verified.message()));
  }
  return verified;
}

absl::StatusOr<VerifiedJws> VerifyJws(std::string_view token, const Jwks& keys,
                                      const JwsLimits& limits) {
  if (token.size() > limits.max_token_bytes) {
    return Refuse(fmt::format("token is {} bytes, over the limit of {}", token.size(),
                              limits.max_token_bytes));
  }
  std::vector<std::string_view> parts = Segments(token);
  if (parts.size() == 5) {
    return Refuse("token has 5 segments: it is a JWE (encrypted), which is not accepted");
  }
  if (parts.size() != 3) {
    return Refuse(fmt::format("compact serialization needs 3 segments, got {}", parts.size()));
  }
  BULWARK_ASSIGN_OR_RETURN(json header, DecodeHeader(parts[0]));
  BULWARK_RETURN_IF_ERROR(CheckHeaderMembers(header));
  BULWARK_ASSIGN_OR_RETURN(const Jwk* key, SelectKey(header, keys));
  BULWARK_ASSIGN_OR_RETURN(Bytes payload, DecodeSegment(parts[1], "payload"));
  BULWARK_ASSIGN_OR_RETURN(Bytes signature, DecodeSegment(parts[2], "signature"));
  std::string_view signing_input = token.substr(0, parts[0].size() + 1 + parts[1].size());
  BULWARK_RETURN_IF_ERROR(VerifyJwsSignature(header["alg"].get_ref<const std::string&>(),
                                             signing_input, signature, *key));
  return VerifiedJws{std::move(header), ToString(payload), key->kid, key->alg, key->delegation};
}

absl::StatusOr<std::string> SignJws(const json& header, std::string_view payload,
                                    const PrivateKey& key, std::string_view kid) {
  BULWARK_RETURN_IF_ERROR(CheckSigningHeader(header));
  BULWARK_ASSIGN_OR_RETURN(JwsAlgorithm alg, AlgorithmOf(key));
  json full = header;
  full["alg"] = std::string(JwsAlgorithmName(alg));
  if (!kid.empty()) {
    full["kid"] = std::string(kid);
  }
  BULWARK_ASSIGN_OR_RETURN(std::string header_text, Dump(full, "header"));
  std::string input = fmt::format("{}.{}", Base64UrlEncode(ToBytes(header_text)),
                                  Base64UrlEncode(ToBytes(payload)));
  BULWARK_ASSIGN_OR_RETURN(Bytes signature, key.Sign(input, PublicKey::SignatureFormat::kRaw));
  return fmt::format("{}.{}", input, Base64UrlEncode(signature));
}

}  // namespace bulwark::crypto
