#include "tokens/txn_token.h"

#include <gtest/gtest.h>

#include "crypto/jwt.h"

namespace bulwark::tokens {
namespace {

using nlohmann::json;

constexpr const char* kIssuer = "https://authority.example.org:7443";
constexpr const char* kTd = "example.org";

class TxnTokenTest : public ::testing::Test {
 protected:
  TxnTokenClaims Claims() {
    TxnTokenClaims c;
    c.issuer = kIssuer;
    c.audience = "spiffe://example.org";
    c.txn = "b3BhcXVlLXR4bi1pZA";
    c.subject = "partner:user-42";
    c.subject_issuer = "partner";
    c.scope = {"rentals:read", "rentals:charge"};
    c.requesting_workload = "spiffe://example.org/gateway";
    c.request_ip = "192.0.2.7";
    c.issued_at = now_;
    c.expires_at = now_ + core::Seconds(60);
    return c;
  }
  std::string Sign(const json& claims, std::string typ = "txntoken+jwt",
                   const crypto::PrivateKey* key = nullptr) {
    return crypto::SignJwt({{"typ", typ}}, claims, key ? *key : key_, jwk_.kid).value();
  }
  absl::StatusOr<TxnTokenClaims> Verify(const std::string& token) {
    return VerifyTransactionToken(token, jwks_, kTd, kIssuer, now_);
  }

  core::TimePoint now_ = core::FromUnixSeconds(1'800'000'000);
  crypto::PrivateKey key_ = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  crypto::Jwk jwk_ = crypto::JwkForKey(key_.Public()).value();
  crypto::Jwks jwks_ = crypto::Jwks::FromKeys({jwk_}).value();
};

TEST_F(TxnTokenTest, RoundTripsEveryClaim) {
  json claims = TxnTokenClaimsToJson(Claims());
  EXPECT_EQ(claims["aud"], "spiffe://example.org");
  EXPECT_EQ(claims["scope"], "rentals:read rentals:charge");
  EXPECT_EQ(claims["rctx"], (json{{"req_ip", "192.0.2.7"}}));
  auto verified = Verify(Sign(claims));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(claims["sub_iss"], "partner");
  EXPECT_EQ(verified->subject, "partner:user-42");
  EXPECT_EQ(verified->subject_issuer, "partner");
  EXPECT_EQ(verified->txn, "b3BhcXVlLXR4bi1pZA");
  EXPECT_EQ(verified->scope, Claims().scope);
  EXPECT_EQ(verified->requesting_workload, "spiffe://example.org/gateway");
  EXPECT_EQ(verified->request_ip, "192.0.2.7");
  EXPECT_EQ(verified->expires_at, now_ + core::Seconds(60));
}

TEST_F(TxnTokenTest, OptionalClaimsMayBeAbsent) {
  TxnTokenClaims c = Claims();
  c.scope.clear();
  c.request_ip.reset();
  json claims = TxnTokenClaimsToJson(c);
  EXPECT_FALSE(claims.contains("scope"));
  EXPECT_FALSE(claims.contains("rctx"));
  auto verified = Verify(Sign(claims));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->scope.empty());
  EXPECT_FALSE(verified->request_ip.has_value());
}

struct Mutation {
  const char* name;
  std::function<void(json&)> change;
  const char* message;
};

class TxnTokenRefuses : public TxnTokenTest, public ::testing::WithParamInterface<Mutation> {};

TEST_P(TxnTokenRefuses, AMutatedClaim) {
  json claims = TxnTokenClaimsToJson(Claims());
  GetParam().change(claims);
  auto verified = Verify(Sign(claims));
  ASSERT_FALSE(verified.ok()) << GetParam().name;
  EXPECT_TRUE(absl::IsUnauthenticated(verified.status()));
  EXPECT_NE(verified.status().message().find(GetParam().message), std::string::npos)
      << verified.status();
}

INSTANTIATE_TEST_SUITE_P(
    All, TxnTokenRefuses,
    ::testing::Values(
        Mutation{"LivesTooLong", [](json& c) { c["exp"] = c["iat"].get<long long>() + 61; },
                 "at most 60 s"},
        Mutation{"Expired", [](json& c) { c["exp"] = 1'800'000'000 - 61; }, "expired"},
        Mutation{"WrongAudience", [](json& c) { c["aud"] = "spiffe://other.org"; }, "aud"},
        Mutation{"PlainTrustDomainAudience", [](json& c) { c["aud"] = "example.org"; }, "aud"},
        Mutation{"WrongIssuer", [](json& c) { c["iss"] = "https://evil.example"; }, "iss"},
        Mutation{"NoIat", [](json& c) { c.erase("iat"); }, "numeric 'iat'"},
        Mutation{"NoTxn", [](json& c) { c.erase("txn"); }, "'txn'"},
        Mutation{"EmptySub", [](json& c) { c["sub"] = ""; }, "'sub'"},
        Mutation{"NumericSub", [](json& c) { c["sub"] = 42; }, "'sub'"},
        Mutation{"NoSubIss", [](json& c) { c.erase("sub_iss"); }, "'sub_iss'"},
        Mutation{"EmptySubIss", [](json& c) { c["sub_iss"] = ""; }, "'sub_iss'"},
        Mutation{"ArraySubIss", [](json& c) { c["sub_iss"] = json::array({"local"}); },
                 "'sub_iss'"},
        Mutation{"NoReqWl", [](json& c) { c.erase("req_wl"); }, "'req_wl'"},
        Mutation{"ForeignReqWl", [](json& c) { c["req_wl"] = "spiffe://other.org/gateway"; },
                 "this trust domain"},
        Mutation{"BadScope", [](json& c) { c["scope"] = "a  b"; }, "claim 'scope'"},
        Mutation{"ArrayScope", [](json& c) { c["scope"] = json::array({"a"}); }, "claim 'scope'"},
        Mutation{"BadRctx", [](json& c) { c["rctx"] = "192.0.2.7"; }, "'rctx'"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(TxnTokenTest, RefusesOtherTokenTypesAndForeignKeys) {
  json claims = TxnTokenClaimsToJson(Claims());
  EXPECT_FALSE(Verify(Sign(claims, "at+jwt")).ok()) << "an access token is not a txn token";
  EXPECT_FALSE(Verify(Sign(claims, "JWT")).ok());
  EXPECT_TRUE(Verify(Sign(claims, "application/txntoken+jwt")).ok());
  crypto::PrivateKey other = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  auto forged = Verify(Sign(claims, "txntoken+jwt", &other));
  EXPECT_FALSE(forged.ok()) << "signed by a key that is not in the JWKS";
}

}  // namespace
}  // namespace bulwark::tokens
