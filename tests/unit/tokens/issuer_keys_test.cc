#include "tokens/issuer_keys.h"

#include <gtest/gtest.h>

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

TEST(IsUnknownKidTest, RecognizesTheJwsLayersRefusal) {
  EXPECT_TRUE(IsUnknownKid(absl::UnauthenticatedError("kid 'k2' is not in the key set")));
  EXPECT_FALSE(IsUnknownKid(absl::UnauthenticatedError("signature does not verify")));
}

}  // namespace
}  // namespace bulwark::tokens
