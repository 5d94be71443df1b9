#include "authority/sso/users.h"

#include <gtest/gtest.h>

#include "authority/sso/login_session.h"
#include "authority/sso/totp.h"
#include "authority/store/sqlite_store.h"
#include "crypto/password.h"
#include "crypto/random.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace bulwark::authority {
namespace {

class UsersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteStore(dir_.File("a.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    users_ = std::make_unique<UserDirectory>(*store_, clock_, crypto::RandomBytes(32),
                                             "https://127.0.0.1:7443");
  }
  // Adds `name` and returns the token of its enrolment link.
  std::string AddUser(const std::string& name) {
    absl::StatusOr<NewUser> added = users_->Add("spiffe://td/admin/ops", name, "");
    EXPECT_TRUE(added.ok()) << added.status();
    if (!added.ok()) return "";
    std::string prefix = "https://127.0.0.1:7443/enrol?token=";
    EXPECT_TRUE(added->enrol_link.starts_with(prefix)) << added->enrol_link;
    return added->enrol_link.substr(prefix.size());
  }
  std::string Now(const crypto::Bytes& secret) { return TotpCode(secret, TotpStep(clock_.Now())); }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  StorePtr store_;
  std::unique_ptr<UserDirectory> users_;
};

TEST_F(UsersTest, NamesAndEmailsAreChecked) {
  for (const char* bad : {"", "Alice", "a b", "-a", ".a", "a/b", "a@b"}) {
    EXPECT_FALSE(users_->Add("admin", bad, "").ok()) << bad;
  }
  EXPECT_FALSE(users_->Add("admin", std::string(65, 'a'), "").ok());
  EXPECT_FALSE(users_->Add("admin", "alice", "no-at-sign").ok());
  EXPECT_FALSE(users_->Add("admin", "alice", "a@b@c").ok());
  EXPECT_TRUE(users_->Add("admin", "alice.smith-2", "alice@example.org").ok());
  EXPECT_EQ(users_->Add("admin", "alice.smith-2", "").status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(UsersTest, EnrolmentSetsPasswordAndTotpOnceAndTheLinkIsUsedUp) {
  std::string token = AddUser("alice");
  ASSERT_EQ(token.size(), 5u + 43u);  // bwen_ and 256 bits
  absl::StatusOr<OpenEnrolment> enrolment = users_->FindEnrolment(token);
  ASSERT_TRUE(enrolment.ok()) << enrolment.status();
  EXPECT_EQ(enrolment->totp_secret.size(), kTotpSecretBytes);
  EXPECT_FALSE(users_->FindEnrolment(token + "x").ok());
  EXPECT_FALSE(users_->FindEnrolment("").ok());

  EXPECT_EQ(
      users_->CompleteEnrolment(*enrolment, "short", Now(enrolment->totp_secret)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      users_->CompleteEnrolment(*enrolment, "a long enough password", "000000").status().code(),
      absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::vector<std::string>> codes =
      users_->CompleteEnrolment(*enrolment, "a long enough password", Now(enrolment->totp_secret));
  ASSERT_TRUE(codes.ok()) << codes.status();
  EXPECT_EQ(codes->size(), 10u);
  EXPECT_EQ(store_->CountRecoveryCodes("alice").value_or(0), 10);

  absl::StatusOr<UserRecord> user = store_->FindUser("alice");
  ASSERT_TRUE(user.ok());
  EXPECT_TRUE(crypto::VerifyPassword(user->password_hash, "a long enough password"));
  absl::StatusOr<UserMfaRecord> mfa = store_->FindUserMfa("alice");
  ASSERT_TRUE(mfa.ok());
  EXPECT_EQ(mfa->totp_last_step, TotpStep(clock_.Now())) << "the confirming code is spent";
  EXPECT_EQ(crypto::ToString(mfa->totp_sealed).find(crypto::ToString(enrolment->totp_secret)),
            std::string::npos)
      << "stored sealed";

  EXPECT_FALSE(users_->FindEnrolment(token).ok()) << "used up";
  EXPECT_EQ(users_
                ->CompleteEnrolment(*enrolment, "another long password",
                                    TotpCode(enrolment->totp_secret, TotpStep(clock_.Now()) + 1))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition)
      << "a second completion of the same link (a race) changes nothing";
}

TEST_F(UsersTest, LinksExpire) {
  std::string token = AddUser("bob");
  clock_.Advance(kEnrolmentTtl);
  EXPECT_EQ(users_->FindEnrolment(token).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(UsersTest, RecoveryCodesWorkOnceEach) {
  std::string token = AddUser("carol");
  auto enrolment = users_->FindEnrolment(token);
  ASSERT_TRUE(enrolment.ok());
  auto codes =
      users_->CompleteEnrolment(*enrolment, "carol's password!", Now(enrolment->totp_secret));
  ASSERT_TRUE(codes.ok());
  core::TimePoint now = clock_.Now();
  AuditEntry audit{0, now, "carol", "user.recovery_code", "carol", ""};
  crypto::Bytes hash = *RecoveryCodeHash("carol", (*codes)[3]);
  EXPECT_EQ(store_->UseRecoveryCode("carol", hash, now, audit).value_or(false), true);
  EXPECT_EQ(store_->UseRecoveryCode("carol", hash, now, audit).value_or(true), false);
  EXPECT_EQ(store_->UseRecoveryCode("dave", *RecoveryCodeHash("dave", (*codes)[4]), now, audit)
                .value_or(true),
            false)
      << "another user's code";
  EXPECT_EQ(store_->CountRecoveryCodes("carol").value_or(0), 9);
}

TEST_F(UsersTest, TotpStepsAreComparedAndSet) {
  std::string token = AddUser("erin");
  auto enrolment = users_->FindEnrolment(token);
  ASSERT_TRUE(enrolment.ok());
  ASSERT_TRUE(
      users_->CompleteEnrolment(*enrolment, "erin's password!!", Now(enrolment->totp_secret)).ok());
  std::int64_t step = TotpStep(clock_.Now());
  EXPECT_EQ(store_->AcceptTotpStep("erin", step).value_or(true), false);
  EXPECT_EQ(store_->AcceptTotpStep("erin", step + 1).value_or(false), true);
  EXPECT_EQ(store_->AcceptTotpStep("erin", step + 1).value_or(true), false);
}

TEST_F(UsersTest, DisableAndDeleteEndTheSessions) {
  AddUser("frank");
  auto session =
      CreateLoginSession(*store_, "frank", {"pwd", "otp"}, clock_.Now(), core::Seconds(3600));
  ASSERT_TRUE(session.ok());
  http::Headers headers;
  headers.Add("Cookie", std::string(kLoginCookie) + "=" + session->cookie_value);
  EXPECT_TRUE(FindActiveLoginSession(*store_, headers, clock_.Now()).ok());
  ASSERT_TRUE(users_->SetDisabled("admin", "frank", true).ok());
  EXPECT_FALSE(FindActiveLoginSession(*store_, headers, clock_.Now()).ok());
  ASSERT_TRUE(users_->SetDisabled("admin", "frank", false).ok());
  EXPECT_FALSE(FindActiveLoginSession(*store_, headers, clock_.Now()).ok())
      << "enabling does not reopen an ended session";
  ASSERT_TRUE(users_->Delete("admin", "frank").ok());
  EXPECT_TRUE(store_->FindUser("frank")->deleted_at.has_value());
  EXPECT_EQ(users_->Delete("admin", "frank").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(users_->Add("admin", "frank", "").status().code(), absl::StatusCode::kAlreadyExists)
      << "names are never reused";
  EXPECT_EQ(users_->SetDisabled("admin", "nobody", true).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace bulwark::authority
