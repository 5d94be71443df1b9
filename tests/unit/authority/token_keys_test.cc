#include "authority/oauth/token_keys.h"

#include <gtest/gtest.h>

#include <map>

#include "authority/store/sqlite_store.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/random.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace bulwark::authority::oauth {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

class TokenKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(OpenSqliteStore(dir_.File("keys.db")).value());
    options_.signing_period = hours(1);
    keys_ = Load();
    ASSERT_NE(keys_, nullptr);
  }
  TokenKeysPtr Load(const crypto::Bytes* kek = nullptr) {
    auto keys = TokenKeys::Load(*store_, kek ? *kek : kek_, clock_, options_);
    EXPECT_TRUE(keys.ok()) << keys.status();
    return keys.ok() ? std::move(*keys) : nullptr;
  }
  // Signs a token that lives for the longest token lifetime from now.
  std::string Mint() {
    long long now = core::ToUnixSeconds(clock_.Now());
    auto token = keys_->Sign("at+jwt", {{"iss", "https://a"},
                                        {"aud", "td"},
                                        {"iat", now},
                                        {"exp", now + options_.max_token_ttl.count()}});
    EXPECT_TRUE(token.ok()) << token.status();
    return *token;
  }
  absl::StatusOr<crypto::VerifiedJwt> Verify(const std::string& token) {
    return crypto::VerifyJwt(token, *keys_->Published(), {"https://a", "td", "at+jwt"},
                             clock_.Now());
  }
  // Returns the kid of the published key whose signature `token` carries; empty when none.
  std::string KidOf(const std::string& token) {
    auto verified = crypto::VerifyJws(token, *keys_->Published());
    return verified.ok() ? verified->kid : "";
  }
  TokenKeyRotation Rotate(bool force = false) {
    auto rotation = keys_->Rotate(force, "test");
    EXPECT_TRUE(rotation.ok()) << rotation.status();
    return rotation.ok() ? *rotation : TokenKeyRotation{};
  }
  std::vector<std::string> PublishedKids() {
    std::vector<std::string> kids;
    for (const crypto::Jwk& jwk : keys_->Published()->keys()) {
      kids.push_back(jwk.kid);
    }
    return kids;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  crypto::Bytes kek_ = crypto::RandomBytes(32);
  TokenKeyOptions options_;
  StorePtr store_;
  TokenKeysPtr keys_;
};

TEST_F(TokenKeysTest, FirstKeyIsCurrentAtOnceAndSignsVerifiableTokens) {
  std::vector<TokenKeyInfo> keys = keys_->List();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].state, TokenKeyState::kCurrent);
  auto key = crypto::JwkForKey(keys_->Published()->keys()[0].key).value();
  EXPECT_EQ(keys[0].kid, key.kid) << "kid is the RFC 7638 thumbprint";
  std::string token = Mint();
  auto verified = Verify(token);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->kid, keys[0].kid);
  EXPECT_EQ(verified->header["typ"], "at+jwt");
  EXPECT_EQ(verified->header["alg"], "ES256");
  auto doc = nlohmann::json::parse(*keys_->PublishedJson());
  ASSERT_EQ(doc["keys"].size(), 1u);
  EXPECT_EQ(doc["keys"][0]["kid"], keys[0].kid);
  EXPECT_FALSE(doc["keys"][0].contains("d")) << "only public members are published";
}

TEST_F(TokenKeysTest, NextKeyIsPublishedBeforeItSignsAndOldKeyStaysUntilItsTokensExpire) {
  const seconds lead = options_.publish_lead();
  const std::string first = keys_->List()[0].kid;
  clock_.Advance(hours(1) - lead - seconds(1));
  EXPECT_FALSE(Rotate().next.has_value()) << "too early for the next key";
  clock_.Advance(seconds(1));
  TokenKeyRotation rotation = Rotate();
  ASSERT_TRUE(rotation.next.has_value());
  EXPECT_FALSE(rotation.activated);
  const std::string second = rotation.next->kid;
  EXPECT_EQ(PublishedKids(), (std::vector<std::string>{first, second}));
  EXPECT_EQ(KidOf(Mint()), first) << "the next key does not sign yet";
  EXPECT_EQ(rotation.next->activate_at, clock_.Now() + lead);

  clock_.Advance(lead - seconds(1));
  EXPECT_FALSE(Rotate().activated);
  std::string old_token = Mint();
  clock_.Advance(seconds(1));
  EXPECT_TRUE(Rotate().activated);
  EXPECT_EQ(KidOf(Mint()), second);
  std::vector<TokenKeyInfo> keys = keys_->List();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1].state, TokenKeyState::kRetiring);
  EXPECT_TRUE(Verify(old_token).ok()) << "a token of the retiring key still verifies";

  clock_.Advance(options_.retain() - seconds(1));
  Rotate();
  EXPECT_EQ(PublishedKids(), (std::vector<std::string>{second, first}));
  clock_.Advance(seconds(1));
  Rotate();
  EXPECT_EQ(PublishedKids(), std::vector<std::string>{second});
  auto records = store_->ListTokenKeys().value();
  ASSERT_EQ(records[0].kid, first);
  EXPECT_EQ(records[0].state, TokenKeyState::kRetired);
  EXPECT_TRUE(records[0].sealed_key.empty()) << "a retired key is erased at rest";
}

// Walks three signing periods in 20-second steps and checks the two rules of the schedule for
// every key and every token: published for the whole lead before signing, and published until
// every token it signed has expired (plus skew).
TEST_F(TokenKeysTest, ScheduleKeepsEveryTokenVerifiableAcrossRotations) {
  const std::string initial = keys_->List()[0].kid;
  std::map<std::string, core::TimePoint> first_published, first_signed;
  std::vector<std::pair<std::string, core::TimePoint>> tokens;  // token, exp + skew
  int activations = 0;
  for (int step = 0; step < 3 * 3600 / 20; ++step) {
    clock_.Advance(seconds(20));
    activations += Rotate().activated ? 1 : 0;
    for (const std::string& kid : PublishedKids()) {
      first_published.emplace(kid, clock_.Now());
    }
    std::string token = Mint();
    first_signed.emplace(KidOf(token), clock_.Now());
    tokens.emplace_back(token, clock_.Now() + options_.max_token_ttl + options_.skew);
    for (const auto& [old, until] : tokens) {
      if (clock_.Now() < until) {
        EXPECT_FALSE(KidOf(old).empty()) << "a live token's key left the JWKS at step " << step;
      }
    }
  }
  EXPECT_GE(activations, 2);
  for (const auto& [kid, signed_at] : first_signed) {
    if (kid == initial) {
      continue;  // the first key signed at once: no JWKS existed before it
    }
    EXPECT_GE(signed_at - first_published[kid], options_.publish_lead()) << kid;
  }
}

TEST_F(TokenKeysTest, ForcedRotationStillWaitsForTheLead) {
  const std::string first = keys_->List()[0].kid;
  TokenKeyRotation forced = Rotate(/*force=*/true);
  ASSERT_TRUE(forced.next.has_value());
  EXPECT_FALSE(forced.activated) << "a key nobody has fetched must not sign";
  EXPECT_EQ(forced.next->activate_at, clock_.Now() + options_.publish_lead());
  EXPECT_FALSE(Rotate(true).activated);
  EXPECT_EQ(KidOf(Mint()), first);
  clock_.Advance(options_.publish_lead());
  EXPECT_TRUE(Rotate().activated);
  EXPECT_EQ(KidOf(Mint()), forced.next->kid);
}

TEST_F(TokenKeysTest, ForcedRotationActivatesANextKeyPublishedLongEnoughAtOnce) {
  clock_.Advance(hours(1) - options_.publish_lead());
  std::string next = Rotate().next.value().kid;
  clock_.Advance(options_.publish_lead() / 2);
  EXPECT_FALSE(Rotate().activated);
  clock_.Advance(options_.publish_lead() / 2);
  TokenKeyRotation forced = Rotate(true);
  EXPECT_TRUE(forced.activated);
  EXPECT_EQ(forced.current_kid, next);
}

TEST_F(TokenKeysTest, ReloadKeepsTheScheduleAndRefusesAnotherKek) {
  Rotate(true);
  std::vector<TokenKeyInfo> before = keys_->List();
  std::string token = Mint();
  TokenKeysPtr reloaded = Load();
  ASSERT_NE(reloaded, nullptr);
  std::vector<TokenKeyInfo> after = reloaded->List();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].kid, before[i].kid);
    EXPECT_EQ(after[i].state, before[i].state);
    EXPECT_EQ(after[i].activate_at, before[i].activate_at);
  }
  EXPECT_TRUE(
      crypto::VerifyJwt(token, *reloaded->Published(), {"https://a", "td"}, clock_.Now()).ok());
  crypto::Bytes other = crypto::RandomBytes(32);
  auto wrong = TokenKeys::Load(*store_, other, clock_, options_);
  EXPECT_TRUE(absl::IsPermissionDenied(wrong.status())) << wrong.status();
}

}  // namespace
}  // namespace bulwark::authority::oauth
