// The authority's side of delegated transaction-token keys (TokenKeys::RegisterDelegated):
// registration rules, the JWKS marker, the per-workload bound, persistence and expiry. The OAuth
// service's refusals of delegated keys are in oauth_service_test.cc.
#include <gtest/gtest.h>

#include "authority/oauth/token_keys.h"
#include "authority/store/sqlite_store.h"
#include "crypto/jwt.h"
#include "crypto/random.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tokens/txn_token.h"

namespace bulwark::authority::oauth {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class TxnKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(OpenSqliteStore(dir_.File("a.db")).value());
    keys_ = Load();
  }
  TokenKeysPtr Load() { return std::move(TokenKeys::Load(*store_, kek_, clock_, {}).value()); }
  json PublicJwk(const crypto::PrivateKey& key) {
    return crypto::JwkToJson(crypto::JwkForKey(key.Public()).value()).value();
  }
  absl::StatusOr<DelegatedKeyGrant> Register(const crypto::PrivateKey& key) {
    return keys_->RegisterDelegated(gateway_, PublicJwk(key));
  }
  const crypto::Jwk* Published(const std::string& kid) { return keys_->Published()->Find(kid); }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  crypto::Bytes kek_ = crypto::RandomBytes(32);
  StorePtr store_;
  TokenKeysPtr keys_;
  identity::SpiffeId gateway_ = identity::SpiffeId::Parse("spiffe://example.org/gateway").value();
  crypto::PrivateKey key_ = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
};

TEST_F(TxnKeysTest, ARegisteredKeyIsPublishedAsDelegatedForTransactionTokensOnly) {
  auto grant = Register(key_);
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(grant->kid, crypto::JwkThumbprint(key_.Public()).value());
  EXPECT_EQ(grant->expires_at, clock_.Now() + seconds(3600));
  EXPECT_EQ(grant->signs_from, clock_.Now() + keys_->options().publish_lead());
  const crypto::Jwk* jwk = Published(grant->kid);
  ASSERT_NE(jwk, nullptr);
  ASSERT_TRUE(jwk->delegation.has_value());
  EXPECT_EQ(jwk->delegation->workload, "spiffe://example.org/gateway");
  EXPECT_EQ(jwk->delegation->typ, "txntoken+jwt");
  json doc = json::parse(*keys_->PublishedJson());
  int marked = 0;
  for (const json& key : doc["keys"]) {
    marked += key.contains("bulwark_delegation") ? 1 : 0;
  }
  EXPECT_EQ(marked, 1) << "only the delegated key is marked: " << doc.dump();
  EXPECT_EQ(keys_->List().size(), 1u) << "List() shows the authority's own keys";
}

TEST_F(TxnKeysTest, OnlyPublicP256KeysWithTheirThumbprintAsKidAreAccepted) {
  json with_private = PublicJwk(key_);
  with_private["d"] = "AAAA";
  json wrong_kid = PublicJwk(key_);
  wrong_kid["kid"] = "chosen-by-the-gateway";
  json self_delegated = PublicJwk(key_);
  self_delegated["bulwark_delegation"] = {
      {"workload", "spiffe://example.org/gateway"}, {"typ", "at+jwt"}, {"exp", 4'000'000'000}};
  auto ed25519 = crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value();
  for (const json& bad : {with_private, wrong_kid, self_delegated, PublicJwk(ed25519),
                          json("not a key"), json::object()}) {
    auto grant = keys_->RegisterDelegated(gateway_, bad);
    EXPECT_EQ(grant.status().code(), absl::StatusCode::kInvalidArgument) << bad.dump();
  }
  EXPECT_EQ(keys_->Published()->keys().size(), 1u);
}

// Attack: register the authority's own public key (or one already registered) so that its kid
// becomes a delegated key or the JWKS breaks on a duplicate kid.
TEST_F(TxnKeysTest, AKeyTheJwksHoldsAlreadyIsRefused) {
  const crypto::Jwk& own = keys_->Published()->keys().front();
  auto grant = keys_->RegisterDelegated(gateway_, crypto::JwkToJson(own).value());
  EXPECT_EQ(grant.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(keys_->Published()->keys().front().delegation.has_value());
  ASSERT_TRUE(Register(key_).ok());
  EXPECT_EQ(Register(key_).status().code(), absl::StatusCode::kAlreadyExists);
}

// Attack: a compromised gateway floods the JWKS with keys.
TEST_F(TxnKeysTest, AWorkloadHasAtMostMaxDelegatedKeysTheOldestIsEvicted) {
  std::vector<std::string> kids;
  for (int i = 0; i < 10; ++i) {
    auto key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
    auto grant = Register(key);
    ASSERT_TRUE(grant.ok()) << grant.status();
    kids.push_back(grant->kid);
    clock_.Advance(seconds(1));
  }
  EXPECT_EQ(keys_->Published()->keys().size(), 1u + keys_->options().max_delegated_keys);
  EXPECT_EQ(Published(kids[6]), nullptr);
  for (int i = 7; i < 10; ++i) {
    EXPECT_NE(Published(kids[i]), nullptr) << i;
  }
  EXPECT_EQ(Load()->Published()->keys().size(), 4u) << "the store evicted them too";
}

TEST_F(TxnKeysTest, DelegatedKeysSurviveARestartAndLeaveTheJwksWhenTheyExpire) {
  auto grant = Register(key_);
  ASSERT_TRUE(grant.ok());
  keys_ = Load();
  const crypto::Jwk* reloaded = Published(grant->kid);
  ASSERT_NE(reloaded, nullptr);
  EXPECT_EQ(reloaded->delegation->expires_at, grant->expires_at);
  clock_.Set(grant->expires_at - seconds(1));
  ASSERT_TRUE(keys_->Rotate(false).ok());
  EXPECT_NE(Published(grant->kid), nullptr);
  clock_.Set(grant->expires_at);
  ASSERT_TRUE(keys_->Rotate(false).ok());
  EXPECT_EQ(Published(grant->kid), nullptr);
  // Attack: a token signed with the expired key, against a JWKS fetched after the expiry.
  tokens::TxnTokenClaims late;
  late.issuer = "https://authority.test";
  late.audience = "spiffe://example.org";
  late.txn = "dHhu";
  late.subject = "user-1";
  late.subject_issuer = "local";
  late.requesting_workload = gateway_.str();
  late.issued_at = clock_.Now();
  late.expires_at = clock_.Now() + seconds(30);
  std::string token = tokens::SignTransactionToken(late, key_, grant->kid).value();
  auto refused = tokens::VerifyTransactionToken(token, *keys_->Published(), "example.org",
                                                "https://authority.test", clock_.Now());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Load()->Published()->Find(grant->kid), nullptr) << "and from the store";
}

TEST_F(TxnKeysTest, TheDelegatedTtlLeavesRoomForRotation) {
  TokenKeyOptions options;
  options.delegated_key_ttl = seconds(60);
  EXPECT_EQ(options.delegated_ttl(), 2 * (options.publish_lead() + seconds(60)));
  options.delegated_key_ttl = seconds(7200);
  EXPECT_EQ(options.delegated_ttl(), seconds(7200));
}

}  // namespace
}  // namespace bulwark::authority::oauth
