#include "crypto/jwk.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "core/status.h"
#include "crypto/bytes.h"

namespace bulwark::crypto {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// A valid P-256 public key (Wycheproof's first ECDSA group) and a valid Ed25519 key (RFC 8037).
const json kEcJwk = {{"kty", "EC"},
                     {"crv", "P-256"},
                     {"x", "KSexBRK64-3c_kZ4KBKLrSkDJpkZ9whgacjE32xzKDg"},
                     {"y", "x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT4"},
                     {"kid", "ec1"}};
const json kOkpJwk = {{"kty", "OKP"},
                      {"crv", "Ed25519"},
                      {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
                      {"kid", "ed1"}};

json With(json base, const std::string& member, json value) {
  base[member] = std::move(value);
  return base;
}

json Without(json base, const std::string& member) {
  base.erase(member);
  return base;
}

TEST(JwkTest, ParsesEcAndOkpKeysAndInfersTheirAlgorithm) {
  absl::StatusOr<Jwk> ec = ParseJwk(kEcJwk);
  ASSERT_TRUE(ec.ok()) << ec.status();
  EXPECT_EQ(ec->kid, "ec1");
  EXPECT_EQ(ec->alg, JwsAlgorithm::kES256);
  EXPECT_EQ(ec->key.type(), KeyType::kP256);
  absl::StatusOr<Jwk> okp = ParseJwk(With(kOkpJwk, "alg", "EdDSA"));
  ASSERT_TRUE(okp.ok()) << okp.status();
  EXPECT_EQ(okp->alg, JwsAlgorithm::kEdDSA);
  EXPECT_EQ(okp->key.type(), KeyType::kEd25519);
  EXPECT_TRUE(ParseJwk(With(With(kEcJwk, "use", "sig"), "key_ops", {"verify"})).ok());
}

TEST(JwkTest, ComputesTheRfc8037Thumbprint) {
  absl::StatusOr<Jwk> okp = ParseJwk(kOkpJwk);
  ASSERT_TRUE(okp.ok()) << okp.status();
  // RFC 8037 appendix A.3.
  EXPECT_EQ(*JwkThumbprint(okp->key), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

TEST(JwkTest, EmitsOwnKeysThatParseBack) {
  for (KeyType type : {KeyType::kP256, KeyType::kEd25519}) {
    absl::StatusOr<PrivateKey> priv = PrivateKey::Generate(type);
    ASSERT_TRUE(priv.ok());
    absl::StatusOr<Jwk> jwk = JwkForKey(priv->Public());
    ASSERT_TRUE(jwk.ok()) << jwk.status();
    EXPECT_EQ(jwk->kid, *JwkThumbprint(priv->Public()));
    absl::StatusOr<json> text = JwkToJson(*jwk);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ((*text)["use"], "sig");
    EXPECT_FALSE(text->contains("d"));
    absl::StatusOr<Jwk> back = ParseJwk(*text);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->key.Equals(priv->Public()));
    EXPECT_EQ(back->alg, jwk->alg);
    EXPECT_EQ(back->kid, jwk->kid);
  }
}

TEST(JwkTest, EmitsAndParsesAJwks) {
  absl::StatusOr<PrivateKey> a = PrivateKey::Generate(KeyType::kP256);
  absl::StatusOr<PrivateKey> b = PrivateKey::Generate(KeyType::kEd25519);
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<Jwks> set = Jwks::FromKeys({*JwkForKey(a->Public()), *JwkForKey(b->Public())});
  ASSERT_TRUE(set.ok()) << set.status();
  absl::StatusOr<json> doc = JwksToJson(*set);
  ASSERT_TRUE(doc.ok());
  absl::StatusOr<Jwks> back = ParseJwks(doc->dump());
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->keys().size(), 2u);
  const Jwk* found = back->Find(set->keys()[1].kid);
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(found->key.Equals(b->Public()));
  EXPECT_EQ(back->Find("nope"), nullptr);
}

struct BadJwk {
  std::string name;
  json jwk;
  std::string reason;
};

TEST(JwkTest, RefusesEveryBadKey) {
  const std::vector<BadJwk> cases = {
      {"ec private d", With(kEcJwk, "d", "AAAA"), "private or symmetric member 'd'"},
      {"okp private d", With(kOkpJwk, "d", "AAAA"), "private or symmetric member 'd'"},
      {"rsa private p", With(kEcJwk, "p", "AAAA"), "member 'p'"},
      {"symmetric k", With(kEcJwk, "k", "AAAA"), "member 'k'"},
      {"oct kty", json{{"kty", "oct"}, {"kid", "h"}}, "'kty' 'oct' is not accepted"},
      {"no kty", Without(kEcJwk, "kty"), "member 'kty' is required"},
      {"kty number", With(kEcJwk, "kty", 1), "member 'kty' must be a string"},
      {"use enc", With(kEcJwk, "use", "enc"), "'use' must be \"sig\""},
      {"key_ops sign", With(kEcJwk, "key_ops", {"sign"}), "'key_ops' must be [\"verify\"]"},
      {"P-384", With(kEcJwk, "crv", "P-384"), "'crv' must be P-256"},
      {"X25519", With(kOkpJwk, "crv", "X25519"), "'crv' must be Ed25519"},
      {"short x", With(kEcJwk, "x", Base64UrlEncode(Bytes(31, 1))),
       "member 'x' must decode to 32 bytes"},
      {"padded x", With(kEcJwk, "x", "KSexBRK64-3c_kZ4KBKLrSkDJpkZ9whgacjE32xzKDg="),
       "member 'x' is not strict base64url"},
      {"std alphabet y", With(kEcJwk, "y", "x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT+"),
       "member 'y' is not strict base64url"},
      {"missing y", Without(kEcJwk, "y"), "member 'y' is required"},
      {"off curve", With(kEcJwk, "y", "x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT8"), "EC point"},
      {"EC with EdDSA", With(kEcJwk, "alg", "EdDSA"), "'alg' 'EdDSA' is not accepted for kty EC"},
      {"EC with es256", With(kEcJwk, "alg", "es256"), "'alg' 'es256' is not accepted"},
      {"EC with HS256", With(kEcJwk, "alg", "HS256"), "'alg' 'HS256' is not accepted"},
      {"EC with none", With(kEcJwk, "alg", "none"), "'alg' 'none' is not accepted"},
      {"OKP with ES256", With(kOkpJwk, "alg", "ES256"), "not accepted for kty OKP"},
      {"RSA without alg", json{{"kty", "RSA"}, {"n", "AQAB"}, {"e", "AQAB"}},
       "of kty RSA needs an explicit 'alg'"},
      {"RSA tiny", json{{"kty", "RSA"}, {"n", "wQ"}, {"e", "AQAB"}, {"alg", "RS256"}}, "RSA key:"},
      {"empty kid", With(kEcJwk, "kid", ""), "'kid' must be 1 to 256 bytes"},
      {"not an object", json::array({kEcJwk}), "must be a JSON object"},
  };
  for (const BadJwk& c : cases) {
    absl::StatusOr<Jwk> jwk = ParseJwk(c.jwk);
    ASSERT_FALSE(jwk.ok()) << c.name;
    EXPECT_EQ(jwk.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(jwk.status().message()), HasSubstr(c.reason)) << c.name;
  }
}

TEST(JwkTest, RefusesBadSets) {
  const std::string ec = kEcJwk.dump();
  const std::string okp = kOkpJwk.dump();
  const std::string ec_no_kid = Without(kEcJwk, "kid").dump();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "must be an object with a 'keys' array"},
      {"{\"keys\":{}}", "must be an object with a 'keys' array"},
      {"{\"keys\":[]}", "JWKS has no keys"},
      {"{\"keys\":[" + ec + "," + ec + "]}", "JWKS repeats kid 'ec1'"},
      {"{\"keys\":[" + ec_no_kid + "," + okp + "]}", "needs a 'kid' on every key"},
      {"{\"keys\":[" + okp + "," + With(kEcJwk, "d", "AA").dump() + "]}", "JWKS keys[1]: JWK has"},
      {"{\"keys\":[" + ec + "],\"keys\":[" + okp + "]}", "JWKS:"},
      {"{\"keys\":[" + ec + "]", "JWKS:"},
  };
  for (const auto& [text, reason] : cases) {
    absl::StatusOr<Jwks> set = ParseJwks(text);
    ASSERT_FALSE(set.ok()) << text;
    EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(set.status().message()), HasSubstr(reason)) << text;
  }
}

TEST(JwkTest, EnforcesSetSizeLimits) {
  JwksLimits limits;
  limits.max_keys = 1;
  std::string two = "{\"keys\":[" + kEcJwk.dump() + "," + kOkpJwk.dump() + "]}";
  EXPECT_THAT(std::string(ParseJwks(two, limits).status().message()),
              HasSubstr("JWKS has 2 keys, over the limit of 1"));
  limits = JwksLimits{};
  limits.max_bytes = 100;
  EXPECT_THAT(std::string(ParseJwks(two, limits).status().message()),
              HasSubstr("over the limit of 100"));
  EXPECT_TRUE(ParseJwks(two).ok());
}

TEST(JwkTest, FromKeysRefusesAnAlgorithmThatDoesNotFitTheKey) {
  absl::StatusOr<Jwk> ec = ParseJwk(kEcJwk);
  ASSERT_TRUE(ec.ok());
  ec->alg = JwsAlgorithm::kRS256;
  EXPECT_THAT(std::string(Jwks::FromKeys({*ec}).status().message()),
              HasSubstr("pins RS256 on a P-256 key"));
}

TEST(JwkTest, NamesAlgorithmsExactly) {
  EXPECT_EQ(JwsAlgorithmFromName("ES256"), JwsAlgorithm::kES256);
  EXPECT_EQ(JwsAlgorithmFromName("EdDSA"), JwsAlgorithm::kEdDSA);
  EXPECT_EQ(JwsAlgorithmFromName("PS256"), JwsAlgorithm::kPS256);
  EXPECT_EQ(JwsAlgorithmFromName("RS256"), JwsAlgorithm::kRS256);
  for (const char* bad : {"es256", "none", "HS256", "EDDSA", "", "ES256 "}) {
    EXPECT_EQ(JwsAlgorithmFromName(bad), std::nullopt) << bad;
  }
}

TEST(JwkTest, QuotesAttackerTextSafely) {
  EXPECT_EQ(internal::QuoteForMessage("ok"), "'ok'");
  EXPECT_EQ(internal::QuoteForMessage("a\nb'c"), "'a?b?c'");
  EXPECT_EQ(internal::QuoteForMessage(std::string(100, 'x')), "'" + std::string(64, 'x') + "'...");
}

}  // namespace
}  // namespace bulwark::crypto
