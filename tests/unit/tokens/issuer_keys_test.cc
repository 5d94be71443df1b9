#include "tokens/issuer_keys.h"

#include <gtest/gtest.h>

#include "crypto/jwk.h"

namespace bulwark::tokens {
namespace {

constexpr const char* kIssuer = "https://idp.example.com";

TEST(DiscoveryUrlTest, AppendsTheWellKnownPath) {
  EXPECT_EQ(DiscoveryUrl(kIssuer), "https://idp.example.com/.well-known/openid-configuration");
  EXPECT_EQ(DiscoveryUrl("https://idp.example.com/tenant/"),
            "https://idp.example.com/tenant/.well-known/openid-configuration");
}

TEST(ParseDiscoveryTest, ReturnsTheJwksUri) {
  auto uri = ParseDiscoveryJwksUri(
      R"({"issuer":"https://idp.example.com","jwks_uri":"https://keys.example.com/jwks",
          "token_endpoint":"https://idp.example.com/token"})",
      kIssuer);
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_EQ(*uri, "https://keys.example.com/jwks");
}

struct Refusal {
  const char* name;
  std::string document;
  const char* message;
};

class ParseDiscoveryRefuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(ParseDiscoveryRefuses, ADocument) {
  auto uri = ParseDiscoveryJwksUri(GetParam().document, kIssuer);
  ASSERT_FALSE(uri.ok()) << *uri;
  EXPECT_TRUE(absl::IsDataLoss(uri.status()));
  EXPECT_NE(uri.status().message().find(GetParam().message), std::string::npos) << uri.status();
}

INSTANTIATE_TEST_SUITE_P(
    All, ParseDiscoveryRefuses,
    ::testing::Values(
        // An issuer that speaks for another (OIDC Discovery §4.3): an attacker's document.
        Refusal{"OtherIssuer",
                R"({"issuer":"https://evil.example","jwks_uri":"https://evil.example/jwks"})",
                "is not the configured issuer"},
        Refusal{"IssuerWithTrailingSlash",
                R"({"issuer":"https://idp.example.com/","jwks_uri":"https://idp.example.com/k"})",
                "must be equal exactly"},
        Refusal{"IssuerCaseDiffers",
                R"({"issuer":"https://IDP.example.com","jwks_uri":"https://idp.example.com/k"})",
                "is not the configured issuer"},
        Refusal{"NoIssuer", R"({"jwks_uri":"https://idp.example.com/k"})", "(missing)"},
        Refusal{"HttpJwksUri",
                R"({"issuer":"https://idp.example.com","jwks_uri":"http://idp.example.com/k"})",
                "is not an https:// URL"},
        Refusal{"NoJwksUri", R"({"issuer":"https://idp.example.com"})", "'jwks_uri'"},
        Refusal{"NumericJwksUri", R"({"issuer":"https://idp.example.com","jwks_uri":5})",
                "'jwks_uri'"},
        Refusal{"DuplicateIssuer",
                R"({"issuer":"https://idp.example.com","issuer":"https://evil.example",
                    "jwks_uri":"https://idp.example.com/k"})",
                "not a JSON object"},
        Refusal{"NotAnObject", R"(["https://idp.example.com"])", "not a JSON object"},
        Refusal{"Oversized", std::string(kMaxIssuerDocumentBytes + 1, ' '), "larger than"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParseIssuerJwksTest, DropsKeysNoTokenCouldBeVerifiedWith) {
  crypto::Jwk sig =
      crypto::JwkForKey(crypto::PrivateKey::Generate(crypto::KeyType::kP256).value().Public())
          .value();
  nlohmann::json sig_json = crypto::JwkToJson(sig).value();
  nlohmann::json enc = sig_json;
  enc["kid"] = "enc-1";
  enc["use"] = "enc";
  enc.erase("alg");
  nlohmann::json oaep = {
      {"kty", "RSA"}, {"kid", "oaep"}, {"alg", "RSA-OAEP"}, {"n", "AQAB"}, {"e", "AQAB"}};
  nlohmann::json es384 = sig_json;
  es384["kid"] = "p384";
  es384["alg"] = "ES384";
  auto jwks = ParseIssuerJwks(nlohmann::json{{"keys", {enc, oaep, es384, sig_json}}}.dump());
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  ASSERT_EQ(jwks->keys().size(), 1u);
  EXPECT_NE(jwks->Find(sig.kid), nullptr);

  EXPECT_FALSE(ParseIssuerJwks(nlohmann::json{{"keys", {enc, oaep}}}.dump()).ok());
  // Anything else is as strict as ParseJwks: a private member refuses the whole set.
  nlohmann::json leaked = sig_json;
  leaked["kid"] = "leaked";
  leaked["d"] = "AAAA";
  EXPECT_FALSE(ParseIssuerJwks(nlohmann::json{{"keys", {sig_json, leaked}}}.dump()).ok());
  EXPECT_FALSE(ParseIssuerJwks(R"({"keys":[],"keys":[]})").ok());
  EXPECT_FALSE(ParseIssuerJwks("[]").ok());
}

TEST(IsUnknownKidTest, RecognizesTheJwsLayersRefusal) {
  EXPECT_TRUE(IsUnknownKid(absl::UnauthenticatedError("kid 'k2' is not in the key set")));
  EXPECT_FALSE(IsUnknownKid(absl::UnauthenticatedError("signature does not verify")));
}

}  // namespace
}  // namespace bulwark::tokens
