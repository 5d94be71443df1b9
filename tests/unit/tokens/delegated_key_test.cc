// Delegated keys (crypto::JwkDelegation) in the JOSE layer and the transaction-token profile: the
// JWK marker round-trips strictly, every verification fails closed on a delegated key unless it
// is a transaction token naming the key's owner, within the key's lifetime.
#include <gtest/gtest.h>

#include "crypto/jwt.h"
#include "tokens/txn_token.h"

namespace bulwark::tokens {
namespace {

using nlohmann::json;

constexpr const char* kIssuer = "https://authority.example.org:7443";
constexpr const char* kTd = "example.org";
constexpr const char* kGateway = "spiffe://example.org/gateway";

class DelegatedKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jwk_.delegation = crypto::JwkDelegation{kGateway, std::string(kTxnTokenType), expires_};
    // Published and parsed back, as a verifier sees it.
    json doc = crypto::JwksToJson(crypto::Jwks::FromKeys({jwk_}).value()).value();
    jwks_ = crypto::ParseJwks(doc.dump()).value();
  }
  TxnTokenClaims Claims(std::string req_wl = kGateway) {
    TxnTokenClaims c;
    c.issuer = kIssuer;
    c.audience = "spiffe://example.org";
    c.txn = "dHhu";
    c.subject = "user-42";
    c.subject_issuer = "local";
    c.requesting_workload = std::move(req_wl);
    c.issued_at = now_;
    c.expires_at = now_ + core::Seconds(60);
    return c;
  }
  absl::StatusOr<TxnTokenClaims> Verify(const std::string& token, core::TimePoint at) {
    return VerifyTransactionToken(token, *jwks_, kTd, kIssuer, at);
  }

  core::TimePoint now_ = core::FromUnixSeconds(1'800'000'000);
  core::TimePoint expires_ = now_ + core::Seconds(3600);
  crypto::PrivateKey key_ = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  crypto::Jwk jwk_ = crypto::JwkForKey(key_.Public()).value();
  std::optional<crypto::Jwks> jwks_;
};

TEST_F(DelegatedKeyTest, TheJwkCarriesTheDelegationAndParsesBackStrictly) {
  json member = crypto::JwkToJson(jwk_).value();
  EXPECT_EQ(member["use"], "sig");
  EXPECT_EQ(member["bulwark_delegation"],
            (json{{"workload", kGateway}, {"typ", "txntoken+jwt"}, {"exp", 1'800'003'600}}));
  const crypto::Jwk& parsed = jwks_->keys().front();
  ASSERT_TRUE(parsed.delegation.has_value());
  EXPECT_EQ(parsed.delegation->workload, kGateway);
  EXPECT_EQ(parsed.delegation->expires_at, expires_);
  for (json bad : {json("yes"), json{{"workload", kGateway}, {"typ", "txntoken+jwt"}},
                   json{{"workload", kGateway}, {"typ", "txntoken+jwt"}, {"exp", "1800003600"}},
                   json{{"workload", ""}, {"typ", "txntoken+jwt"}, {"exp", 1}},
                   json{{"workload", kGateway}, {"typ", "x"}, {"exp", 1}, {"extra", 1}}}) {
    json jwk = member;
    jwk["bulwark_delegation"] = bad;
    EXPECT_EQ(crypto::ParseJwk(jwk).status().code(), absl::StatusCode::kInvalidArgument)
        << bad.dump();
  }
}

TEST_F(DelegatedKeyTest, ATransactionTokenOfTheOwnerVerifies) {
  auto token = SignTransactionToken(Claims(), key_, jwk_.kid);
  ASSERT_TRUE(token.ok()) << token.status();
  auto verified = Verify(*token, now_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->requesting_workload, kGateway);
}

// Attack: the gateway's key signs a transaction token that claims another workload asked.
TEST_F(DelegatedKeyTest, ATransactionTokenNamingAnotherWorkloadIsRefused) {
  std::string token =
      SignTransactionToken(Claims("spiffe://example.org/billing"), key_, jwk_.kid).value();
  auto verified = Verify(token, now_);
  EXPECT_EQ(verified.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(verified.status().message().find("delegated to"), std::string::npos)
      << verified.status();
}

// Attack: the delegated key signs an access token (at+jwt) and a plain JWT; every verifier that
// does not ask for delegated keys (access tokens, subject tokens, introspection) refuses them.
TEST_F(DelegatedKeyTest, AnyOtherTokenSignedWithTheKeyIsRefused) {
  long long now = core::ToUnixSeconds(now_);
  json claims = {{"iss", kIssuer},
                 {"aud", "spiffe://example.org"},
                 {"sub", kGateway},
                 {"iat", now},
                 {"exp", now + 300}};
  for (const char* typ : {"at+jwt", "JWT", "txntoken+jwt"}) {
    std::string token = crypto::SignJwt({{"typ", typ}}, claims, key_, jwk_.kid).value();
    auto jwt = crypto::VerifyJwt(token, *jwks_, {kIssuer, "spiffe://example.org"}, now_);
    EXPECT_EQ(jwt.status().code(), absl::StatusCode::kUnauthenticated) << typ;
    EXPECT_NE(jwt.status().message().find("delegated"), std::string::npos) << jwt.status();
  }
  // Even asking for delegated keys, only the delegated typ is accepted.
  crypto::JwtExpectations expect{kIssuer, "spiffe://example.org", "at+jwt"};
  expect.accept_delegated = true;
  std::string access = crypto::SignJwt({{"typ", "at+jwt"}}, claims, key_, jwk_.kid).value();
  EXPECT_FALSE(crypto::VerifyJwt(access, *jwks_, expect, now_).ok());
}

// Attack: a token signed with the key after (or outliving) the key's expiry.
TEST_F(DelegatedKeyTest, AnExpiredKeyNoLongerVerifies) {
  TxnTokenClaims late = Claims();
  late.issued_at = expires_ + core::Seconds(61);
  late.expires_at = late.issued_at + core::Seconds(60);
  std::string token = SignTransactionToken(late, key_, jwk_.kid).value();
  auto verified = Verify(token, late.issued_at);
  EXPECT_EQ(verified.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(verified.status().message().find("expired"), std::string::npos) << verified.status();

  TxnTokenClaims outliving = Claims();
  outliving.issued_at = expires_ + core::Seconds(30);
  outliving.expires_at = outliving.issued_at + core::Seconds(60);
  token = SignTransactionToken(outliving, key_, jwk_.kid).value();
  verified = Verify(token, expires_);
  EXPECT_NE(verified.status().message().find("outlives"), std::string::npos) << verified.status();
}

TEST_F(DelegatedKeyTest, SigningRefusesClaimsOutsideTheProfile) {
  TxnTokenClaims c = Claims();
  c.expires_at = c.issued_at + core::Seconds(61);
  EXPECT_EQ(SignTransactionToken(c, key_, jwk_.kid).status().code(),
            absl::StatusCode::kInvalidArgument);
  c = Claims();
  c.expires_at = c.issued_at;
  EXPECT_FALSE(SignTransactionToken(c, key_, jwk_.kid).ok());
  c = Claims();
  c.txn.clear();
  EXPECT_FALSE(SignTransactionToken(c, key_, jwk_.kid).ok());
}

}  // namespace
}  // namespace bulwark::tokens
