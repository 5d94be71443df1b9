// The gateway's delegated transaction-token signer against the authority's real key store
// (TokenKeys::RegisterDelegated stands in for POST /v1/txn-keys) on a fake clock: minting, the
// rotation schedule, and what happens while the authority refuses or is away.
#include "proxy/txn_signer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "authority/oauth/token_keys.h"
#include "authority/store/sqlite_store.h"
#include "core/status.h"
#include "crypto/random.h"
#include "proxy/token_filter.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tokens/txn_token.h"

namespace bulwark::proxy {
namespace {

using std::chrono::seconds;

constexpr const char* kIssuer = "https://authority.test:7443";

class TxnSignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(authority::OpenSqliteStore(dir_.File("a.db")).value());
    keys_ = std::move(authority::oauth::TokenKeys::Load(*store_, kek_, clock_, {}).value());
  }
  TxnKeyRegistrar Registrar() {
    return [this](const nlohmann::json& jwk) -> absl::StatusOr<TxnKeyGrant> {
      ++calls_;
      if (!available_) {
        return absl::UnavailableError("authority away");
      }
      auto id = identity::SpiffeId::Parse("spiffe://example.org/gateway").value();
      BULWARK_ASSIGN_OR_RETURN(auto grant, keys_->RegisterDelegated(id, jwk));
      return TxnKeyGrant{grant.kid, grant.signs_from, grant.expires_at};
    };
  }
  TxnSignerPtr MakeSigner() {
    auto signer = TxnSigner::Create({kIssuer, "example.org"}, Registrar(), clock_);
    EXPECT_TRUE(signer.ok()) << signer.status();
    return signer.ok() ? *std::move(signer) : nullptr;
  }
  absl::StatusOr<tokens::TxnTokenClaims> Verify(const std::string& token) {
    return tokens::VerifyTransactionToken(token, *keys_->Published(), "example.org", kIssuer,
                                          clock_.Now());
  }
  std::string MintNow(TxnSigner& signer) {
    auto token = signer.Mint({"local", "user-42", {"read"}}, "dHhu", "");
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  crypto::Bytes kek_ = crypto::RandomBytes(32);
  authority::StorePtr store_;
  authority::oauth::TokenKeysPtr keys_;
  bool available_ = true;
  int calls_ = 0;
};

TEST_F(TxnSignerTest, MintsATokenTheSidecarsFilterAccepts) {
  TxnSignerPtr signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  // The gateway's seam, as it will be wired: one line.
  std::function<absl::StatusOr<std::string>(const tokens::Subject&, std::string_view,
                                            std::string_view)>
      mint = [&signer](const tokens::Subject& s, std::string_view txn, std::string_view ip) {
        return signer->Mint(s, txn, ip);
      };
  auto token = mint({"local", "user-42", {"read", "write"}}, "dHhuLWlk", "192.0.2.7");
  ASSERT_TRUE(token.ok()) << token.status();
  TokenFilter filter({[this] {
                        return std::make_shared<const tokens::IssuerKeys>(
                            tokens::IssuerKeys{kIssuer, *keys_->Published()});
                      },
                      nullptr},
                     "example.org", clock_);
  auto claims = filter.Verify(*token, seconds(60));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ((**claims)["iss"], kIssuer);
  EXPECT_EQ((**claims)["aud"], "spiffe://example.org");
  EXPECT_EQ((**claims)["req_wl"], "spiffe://example.org/gateway");
  EXPECT_EQ((**claims)["sub"], "user-42");
  EXPECT_EQ((**claims)["sub_iss"], "local");
  EXPECT_EQ((**claims)["txn"], "dHhuLWlk");
  EXPECT_EQ((**claims)["scope"], "read write");
  EXPECT_EQ((**claims)["rctx"]["req_ip"], "192.0.2.7");
  EXPECT_EQ((**claims)["exp"].get<long long>() - (**claims)["iat"].get<long long>(), 60);
  EXPECT_FALSE(signer->Mint({"local", "", {}}, "t", "").ok());
  EXPECT_FALSE(signer->Mint({"local", "u", {}}, "", "").ok());
}

TEST_F(TxnSignerTest, RotatesAtHalfLifeAndSwitchesOnceEveryVerifierHasTheNewKey) {
  TxnSignerPtr signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  const core::TimePoint start = clock_.Now();
  const seconds ttl = keys_->options().delegated_ttl();
  const seconds lead = keys_->options().publish_lead();
  std::string first = signer->CurrentKid();
  EXPECT_NE(first, "") << "the first key signs at once";
  clock_.Set(start + ttl / 2 - seconds(1));
  ASSERT_TRUE(signer->Maintain().ok());
  EXPECT_EQ(signer->registrations(), 1);
  clock_.Set(start + ttl / 2);
  ASSERT_TRUE(signer->Maintain().ok());
  EXPECT_EQ(signer->registrations(), 2) << "the next key is registered at half the lifetime";
  EXPECT_EQ(signer->CurrentKid(), first) << "but not used before verifiers cache it";
  clock_.Set(start + ttl / 2 + lead - seconds(1));
  std::string old_token = MintNow(*signer);
  EXPECT_EQ(signer->CurrentKid(), first);
  clock_.Set(start + ttl / 2 + lead);
  std::string second = signer->CurrentKid();
  EXPECT_NE(second, first);
  EXPECT_TRUE(Verify(MintNow(*signer)).ok());
  clock_.Advance(seconds(59));
  EXPECT_TRUE(Verify(old_token).ok()) << "a token of the old key verifies until its exp";
  // The old key leaves the authority's JWKS at its expiry; tokens of the new one still verify.
  clock_.Set(start + ttl);
  ASSERT_TRUE(keys_->Rotate(false).ok());
  EXPECT_EQ(keys_->Published()->Find(first), nullptr);
  EXPECT_TRUE(Verify(MintNow(*signer)).ok());
  ASSERT_TRUE(signer->Maintain().ok());
  EXPECT_EQ(signer->registrations(), 3) << "the third key at the second's half-life";
}

TEST_F(TxnSignerTest, WhileTheAuthorityIsAwayTheOldKeySignsUntilItMustStop) {
  TxnSignerPtr signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  const core::TimePoint start = clock_.Now();
  const seconds ttl = keys_->options().delegated_ttl();
  available_ = false;
  clock_.Set(start + ttl / 2);
  EXPECT_EQ(signer->Maintain().code(), absl::StatusCode::kUnavailable);
  int calls = calls_;
  clock_.Advance(seconds(4));
  EXPECT_TRUE(signer->Maintain().ok()) << "no retry before the retry interval";
  EXPECT_EQ(calls_, calls);
  clock_.Advance(seconds(1));
  EXPECT_FALSE(signer->Maintain().ok());
  EXPECT_EQ(calls_, calls + 1);
  clock_.Set(start + ttl - seconds(61));
  EXPECT_TRUE(Verify(MintNow(*signer)).ok());
  clock_.Set(start + ttl - seconds(60));
  auto refused = signer->Mint({"local", "user-42", {}}, "dHhu", "");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  available_ = true;
  clock_.Advance(seconds(5));
  ASSERT_TRUE(signer->Maintain().ok());
  EXPECT_TRUE(Verify(MintNow(*signer)).ok()) << "a fresh key is used at once when none is left";
}

TEST_F(TxnSignerTest, CreateFailsWhenTheAuthorityRefusesOrTheOptionsAreBad) {
  TxnKeyRegistrar refuse = [](const nlohmann::json&) -> absl::StatusOr<TxnKeyGrant> {
    return absl::PermissionDeniedError("only the gateway may register transaction-token keys");
  };
  auto signer = TxnSigner::Create({kIssuer, "example.org"}, refuse, clock_);
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kPermissionDenied);
  TxnSignerOptions too_long{kIssuer, "example.org"};
  too_long.txn_ttl = seconds(61);
  EXPECT_EQ(TxnSigner::Create(too_long, Registrar(), clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
  TxnKeyRegistrar wrong_kid = [](const nlohmann::json&) -> absl::StatusOr<TxnKeyGrant> {
    return TxnKeyGrant{"someone-else", core::TimePoint(), core::FromUnixSeconds(4'000'000'000)};
  };
  EXPECT_EQ(TxnSigner::Create({kIssuer, "example.org"}, wrong_kid, clock_).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(TxnSignerTest, TheMaintenanceThreadReplacesAnEndingKeyAndStopsOnDestruction) {
  // Keys that may sign for one second (expiry = now + txn_ttl + 1 s), on the real clock.
  std::atomic<int> granted{0};
  TxnKeyRegistrar brief = [&granted](const nlohmann::json& jwk) -> absl::StatusOr<TxnKeyGrant> {
    ++granted;
    core::TimePoint now = core::SystemClock().Now();
    return TxnKeyGrant{jwk["kid"].get<std::string>(), now, now + seconds(61)};
  };
  auto signer = TxnSigner::Create({kIssuer, "example.org"}, brief, core::SystemClock());
  ASSERT_TRUE(signer.ok()) << signer.status();
  (*signer)->StartMaintenance(std::chrono::milliseconds(20));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*signer)->registrations() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE((*signer)->registrations(), 2);
  auto stop = std::chrono::steady_clock::now();
  signer->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - stop, std::chrono::seconds(1));
  EXPECT_GE(granted.load(), 2);
}

}  // namespace
}  // namespace bulwark::proxy
