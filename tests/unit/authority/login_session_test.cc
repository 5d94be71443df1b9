#include "authority/sso/login_session.h"

#include <gtest/gtest.h>

#include "authority/store/sqlite_store.h"
#include "tests/support/temp_dir.h"

namespace bulwark::authority {
namespace {

using core::FromUnixSeconds;

class LoginSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteStore(dir_.File("a.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    UserRecord alice{"alice", "", "", false, FromUnixSeconds(1000), std::nullopt};
    ASSERT_TRUE(
        store_->CreateUser(alice, {0, FromUnixSeconds(1000), "cli", "user.add", "alice", ""}).ok());
  }
  http::Headers Cookie(const std::string& value) {
    http::Headers headers;
    headers.Add("Cookie", std::string(kLoginCookie) + "=" + value);
    return headers;
  }
  testing::TempDir dir_;
  StorePtr store_;
};

TEST_F(LoginSessionTest, TheCookieLeadsBackToItsSessionUntilItExpires) {
  auto created = CreateLoginSession(*store_, "alice", {"pwd", "otp"}, FromUnixSeconds(2000),
                                    core::Seconds(3600));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GE(created->cookie_value.size(), 43u);  // 256 bits, base64url
  EXPECT_NE(created->record.hash,
            crypto::Bytes(created->cookie_value.begin(), created->cookie_value.end()))
      << "the store holds a hash, not the cookie";

  auto found =
      FindActiveLoginSession(*store_, Cookie(created->cookie_value), FromUnixSeconds(2500));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->user, "alice");
  EXPECT_EQ(FindActiveLoginSession(*store_, Cookie(created->cookie_value), FromUnixSeconds(5600))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      FindActiveLoginSession(*store_, Cookie("guessed"), FromUnixSeconds(2500)).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(FindActiveLoginSession(*store_, http::Headers{}, FromUnixSeconds(2500)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(LoginSessionTest, AnEndedSessionOrADisabledUserSignsNoOneIn) {
  auto first =
      CreateLoginSession(*store_, "alice", {"pwd"}, FromUnixSeconds(2000), core::Seconds(3600));
  auto second =
      CreateLoginSession(*store_, "alice", {"pwd"}, FromUnixSeconds(2000), core::Seconds(3600));
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(store_
                  ->EndLoginSessions(first->record.hash, "", FromUnixSeconds(2100),
                                     {0, FromUnixSeconds(2100), "alice", "logout", "alice", ""})
                  .ok());
  EXPECT_FALSE(
      FindActiveLoginSession(*store_, Cookie(first->cookie_value), FromUnixSeconds(2200)).ok());
  ASSERT_TRUE(
      FindActiveLoginSession(*store_, Cookie(second->cookie_value), FromUnixSeconds(2200)).ok());

  auto alice = store_->FindUser("alice");
  ASSERT_TRUE(alice.ok());
  alice->disabled = true;
  ASSERT_TRUE(
      store_->UpdateUser(*alice, {0, FromUnixSeconds(2300), "cli", "user.disable", "alice", ""})
          .ok());
  EXPECT_EQ(FindActiveLoginSession(*store_, Cookie(second->cookie_value), FromUnixSeconds(2400))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(LoginCookieHeaderTest, IsAHostPrefixedSecureHttpOnlyLaxCookie) {
  EXPECT_EQ(LoginCookieHeader("v", core::Seconds(60)),
            "__Host-bulwark-login=v; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax");
  EXPECT_EQ(LoginCookieHeader("", core::Seconds(60)),
            "__Host-bulwark-login=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax");
}

}  // namespace
}  // namespace bulwark::authority
