#include "proxy/token_filter.h"

#include <gtest/gtest.h>

#include "crypto/jwt.h"
#include "fmt/format.h"
#include "tests/support/fake_clock.h"
#include "tokens/txn_token.h"

namespace bulwark::proxy {
namespace {

using nlohmann::json;

constexpr const char* kIssuer = "https://127.0.0.1:7443";
constexpr const char* kTd = "example.org";
constexpr core::Seconds kSkew{60};

class TokenFilterTest : public ::testing::Test {
 protected:
  TokenFilterTest() {
    keys_ = std::make_shared<const tokens::IssuerKeys>(
        tokens::IssuerKeys{kIssuer, crypto::Jwks::FromKeys({jwk_}).value()});
  }
  std::string Mint(core::Seconds ttl = core::Seconds(60), std::string sub = "u1") {
    tokens::TxnTokenClaims c;
    c.issuer = kIssuer;
    c.audience = "spiffe://example.org";
    c.txn = "dHhu";
    c.subject = std::move(sub);
    c.subject_issuer = "local";
    c.requesting_workload = "spiffe://example.org/gateway";
    c.issued_at = clock_.Now();
    c.expires_at = clock_.Now() + ttl;
    return crypto::SignJwt({{"typ", "txntoken+jwt"}}, tokens::TxnTokenClaimsToJson(c), key_,
                           jwk_.kid)
        .value();
  }
  TokenFilter Filter(TokenCacheOptions options = {}) {
    return TokenFilter({[this] { return keys_; }, [this] { ++unknown_kids_; }}, kTd, clock_,
                       options);
  }

  testing::FakeClock clock_;
  crypto::PrivateKey key_ = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  crypto::Jwk jwk_ = crypto::JwkForKey(key_.Public()).value();
  std::shared_ptr<const tokens::IssuerKeys> keys_;
  int unknown_kids_ = 0;
};

TEST_F(TokenFilterTest, VerifiesAndCachesUntilExp) {
  TokenFilter filter = Filter();
  std::string token = Mint(core::Seconds(30));
  absl::StatusOr<TokenFilter::Claims> first = filter.Verify(token, kSkew);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((**first)["sub"], "u1");
  EXPECT_EQ(filter.cached(), 1u);
  // A hit returns the same claims object even after the keys are gone.
  keys_ = nullptr;
  absl::StatusOr<TokenFilter::Claims> again = filter.Verify(token, kSkew);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(first->get(), again->get());
  // At exp the entry is dead; verifying again needs the keys.
  clock_.Advance(core::Seconds(30));
  EXPECT_EQ(filter.Verify(token, kSkew).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenFilterTest, NeverCachesFailures) {
  TokenFilter filter = Filter();
  std::string token = Mint();
  std::string forged = token.substr(0, token.size() - 2) + (token.back() == 'A' ? "BB" : "AA");
  EXPECT_FALSE(filter.Verify(forged, kSkew).ok());
  EXPECT_FALSE(filter.Verify(forged, kSkew).ok());
  EXPECT_EQ(filter.cached(), 0u);
}

TEST_F(TokenFilterTest, ExpiredTokenIsRefusedOnceTheSkewIsSmall) {
  TokenFilter filter = Filter();
  std::string token = Mint(core::Seconds(5));
  clock_.Advance(core::Seconds(10));
  EXPECT_TRUE(filter.Verify(token, kSkew).ok());  // within the default skew, not cached
  EXPECT_EQ(filter.cached(), 0u);
  absl::StatusOr<TokenFilter::Claims> late = filter.Verify(token, core::Seconds(1));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(late.status().message().find("expired"), std::string::npos) << late.status();
}

TEST_F(TokenFilterTest, UnknownKidAsksForARefetch) {
  TokenFilter filter = Filter();
  crypto::PrivateKey other = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  std::string token =
      crypto::SignJwt({{"typ", "txntoken+jwt"}},
                      {{"iss", kIssuer}, {"aud", "spiffe://example.org"}}, other, "not-a-known-kid")
          .value();
  EXPECT_FALSE(filter.Verify(token, kSkew).ok());
  EXPECT_EQ(unknown_kids_, 1);
  EXPECT_FALSE(filter.Verify(Mint().substr(1), kSkew).ok());  // other failures do not
  EXPECT_EQ(unknown_kids_, 1);
}

TEST_F(TokenFilterTest, OversizedTokenIsRefusedBeforeAnyWork) {
  TokenFilter filter = Filter();
  std::string token = Mint() + std::string(kMaxTxnTokenBytes, 'A');
  absl::StatusOr<TokenFilter::Claims> claims = filter.Verify(token, kSkew);
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(claims.status().message().find("at most 8192"), std::string::npos);
}

TEST_F(TokenFilterTest, NoKeysYetRefuses) {
  keys_ = nullptr;
  TokenFilter filter = Filter();
  absl::StatusOr<TokenFilter::Claims> claims = filter.Verify(Mint(), kSkew);
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenFilterTest, CacheStaysBounded) {
  TokenFilter filter = Filter({.max_entries = 32});
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(filter.Verify(Mint(core::Seconds(60), fmt::format("u{}", i)), kSkew).ok());
  }
  EXPECT_LE(filter.cached(), 32u);
}

TEST_F(TokenFilterTest, RequestHeaders) {
  TokenFilter filter = Filter();
  http::Headers none;
  absl::StatusOr<TokenFilter::Claims> absent = VerifyRequestToken(&filter, none, kSkew);
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, nullptr);

  http::Headers one;
  one.Add("txn-token", Mint());
  absl::StatusOr<TokenFilter::Claims> ok = VerifyRequestToken(&filter, one, kSkew);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_NE(*ok, nullptr);
  EXPECT_EQ(VerifyRequestToken(nullptr, one, kSkew).status().code(),
            absl::StatusCode::kUnauthenticated);

  http::Headers two = one;
  two.Add("Txn-Token", Mint(core::Seconds(60), "u2"));
  absl::StatusOr<TokenFilter::Claims> dup = VerifyRequestToken(&filter, two, kSkew);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(dup.status().message().find("2 Txn-Token headers"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::proxy
