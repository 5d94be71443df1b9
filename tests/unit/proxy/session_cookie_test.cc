#include "proxy/session_cookie.h"

#include <gtest/gtest.h>

#include "crypto/bytes.h"

namespace bulwark::proxy {
namespace {

const core::TimePoint kNow = core::FromUnixSeconds(1'800'000'000);

crypto::Bytes Key(char fill) { return crypto::Bytes(32, static_cast<std::uint8_t>(fill)); }

SessionState Session() {
  SessionState s;
  s.sub = "alice";
  s.sid = "sid-1";
  s.name = "alice";
  s.email = "alice@example.test";
  s.scope = {"openid", "email"};
  s.access_token = std::string(600, 'a');
  s.refresh_token = std::string(43, 'r');
  s.id_token = std::string(600, 'i');
  s.access_expires_at = kNow + core::Seconds(300);
  s.created_at = kNow;
  s.refreshed_at = kNow;
  s.expires_at = kNow + core::Seconds(3600);
  return s;
}

LoginState Login() {
  return LoginState{"state-1", "nonce-1", std::string(43, 'v'), "/app?x=1",
                    kNow + kLoginStateLifetime};
}

TEST(SessionCookieTest, SessionRoundTrips) {
  absl::StatusOr<std::string> value = SealSession(Key('k'), Session());
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_TRUE(value->starts_with("1."));
  EXPECT_EQ(value->find(Session().access_token), std::string::npos);  // encrypted, not encoded
  absl::StatusOr<SessionState> opened = OpenSession(Key('k'), *value, kNow + core::Seconds(5));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->sub, "alice");
  EXPECT_EQ(opened->sid, "sid-1");
  EXPECT_EQ(opened->email, "alice@example.test");
  EXPECT_EQ(opened->scope, (std::vector<std::string>{"openid", "email"}));
  EXPECT_EQ(opened->access_token, Session().access_token);
  EXPECT_EQ(opened->refresh_token, Session().refresh_token);
  EXPECT_EQ(opened->id_token, Session().id_token);
  EXPECT_EQ(opened->access_expires_at, kNow + core::Seconds(300));
  EXPECT_EQ(opened->created_at, kNow);
  EXPECT_EQ(opened->refreshed_at, kNow);
  EXPECT_EQ(opened->expires_at, kNow + core::Seconds(3600));
}

TEST(SessionCookieTest, EachSealUsesAFreshNonce) {
  EXPECT_NE(*SealSession(Key('k'), Session()), *SealSession(Key('k'), Session()));
}

TEST(SessionCookieTest, LoginRoundTrips) {
  absl::StatusOr<std::string> value = SealLogin(Key('k'), Login());
  ASSERT_TRUE(value.ok()) << value.status();
  absl::StatusOr<LoginState> opened = OpenLogin(Key('k'), *value, kNow);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->state, "state-1");
  EXPECT_EQ(opened->nonce, "nonce-1");
  EXPECT_EQ(opened->code_verifier, std::string(43, 'v'));
  EXPECT_EQ(opened->return_to, "/app?x=1");
}

TEST(SessionCookieTest, EveryTamperedByteIsRefused) {
  std::string value = *SealSession(Key('k'), Session());
  for (std::size_t i = 0; i < value.size(); i += 7) {
    std::string tampered = value;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(OpenSession(Key('k'), tampered, kNow).ok()) << "byte " << i;
  }
  EXPECT_FALSE(OpenSession(Key('k'), value.substr(0, value.size() - 1), kNow).ok());
}

TEST(SessionCookieTest, AnotherKeyIsRefused) {
  std::string value = *SealSession(Key('k'), Session());
  absl::StatusOr<SessionState> opened = OpenSession(Key('o'), value, kNow);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(opened.status().message().find("does not open"), std::string::npos);
}

TEST(SessionCookieTest, ALoginCookieIsNotASessionNorTheReverse) {
  // Same key, same JSON shape made to fit: the name in the associated data decides.
  std::string login = *SealLogin(Key('k'), Login());
  EXPECT_FALSE(OpenSession(Key('k'), login, kNow).ok());
  std::string session = *SealSession(Key('k'), Session());
  EXPECT_FALSE(OpenLogin(Key('k'), session, kNow).ok());
}

TEST(SessionCookieTest, ExpiredIsRefused) {
  std::string value = *SealSession(Key('k'), Session());
  absl::StatusOr<SessionState> opened = OpenSession(Key('k'), value, kNow + core::Seconds(3600));
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("expired"), std::string::npos);
  std::string login = *SealLogin(Key('k'), Login());
  EXPECT_FALSE(OpenLogin(Key('k'), login, kNow + kLoginStateLifetime).ok());
}

TEST(SessionCookieTest, OtherVersionsAndGarbageAreRefused) {
  std::string value = *SealSession(Key('k'), Session());
  EXPECT_FALSE(OpenSession(Key('k'), "2." + value.substr(2), kNow).ok());
  EXPECT_FALSE(OpenSession(Key('k'), "", kNow).ok());
  EXPECT_FALSE(OpenSession(Key('k'), "1.", kNow).ok());
  EXPECT_FALSE(OpenSession(Key('k'), "1.AAAA", kNow).ok());
  EXPECT_FALSE(OpenSession(Key('k'), "1.a+b/", kNow).ok());
  EXPECT_FALSE(OpenSession(Key('k'), "1." + std::string(kMaxCookieValueBytes, 'A'), kNow).ok());
}

TEST(SessionCookieTest, TokensTooLargeForACookieAreRefusedAtSealing) {
  SessionState big = Session();
  big.access_token = std::string(3000, 'a');
  absl::StatusOr<std::string> value = SealSession(Key('k'), big);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kResourceExhausted);
  // What fits, a Set-Cookie included, stays under the 4096 bytes browsers keep.
  std::string fits = *SealSession(Key('k'), Session());
  EXPECT_LT(SetCookieValue(kSessionCookie, fits, core::Seconds(28800)).size(), 4096u);
}

TEST(SessionCookieTest, CookieKeyIsRawOrBase64Url) {
  EXPECT_EQ(*ParseCookieKey(std::string(32, 'x')), crypto::Bytes(32, 'x'));
  std::string encoded = crypto::Base64UrlEncode(crypto::Bytes(32, 7));
  EXPECT_EQ(*ParseCookieKey(encoded + "\n"), crypto::Bytes(32, 7));
  EXPECT_FALSE(ParseCookieKey("short").ok());
  EXPECT_FALSE(ParseCookieKey(crypto::Base64UrlEncode(crypto::Bytes(16, 7))).ok());
}

TEST(SessionCookieTest, SetCookieHasTheHostPrefixAttributes) {
  EXPECT_EQ(SetCookieValue(kSessionCookie, "v", core::Seconds(60)),
            "__Host-bulwark-session=v; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax");
  EXPECT_EQ(SetCookieValue(kLoginStateCookie, "", core::Seconds(60)),
            "__Host-bulwark-rp-login=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax");
}

}  // namespace
}  // namespace bulwark::proxy
