#include "authority/sso/login_pages.h"

#include <gtest/gtest.h>

#include <regex>

#include "asio/co_spawn.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/address.hpp"
#include "authority/sso/login_session.h"
#include "authority/sso/totp.h"
#include "authority/store/sqlite_store.h"
#include "crypto/random.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace bulwark::authority {
namespace {

constexpr char kPassword[] = "correct horse battery staple";

// A browser of one: keeps the cookies the pages set and sends them back.
struct Browser {
  std::map<std::string, std::string> cookies;
  std::string address = "192.0.2.10";

  void Keep(const http::Response& response) {
    for (const http::Header& h : response.headers.all()) {
      if (h.name != "Set-Cookie") continue;
      std::string pair = h.value.substr(0, h.value.find(';'));
      std::size_t eq = pair.find('=');
      std::string value = pair.substr(eq + 1);
      if (value.empty()) {
        cookies.erase(pair.substr(0, eq));
      } else {
        cookies[pair.substr(0, eq)] = value;
      }
    }
  }
  http::Request Make(const std::string& method, const std::string& target, std::string body) {
    http::Request request{method, target, {}, std::move(body)};
    std::string cookie;
    for (const auto& [name, value] : cookies) {
      cookie += (cookie.empty() ? "" : "; ") + name + "=" + value;
    }
    if (!cookie.empty()) request.headers.Add("Cookie", cookie);
    return request;
  }
};

std::string CsrfToken(const std::string& body) {
  std::smatch m;
  std::regex re("name=\"csrf\" value=\"([^\"]+)\"");
  return std::regex_search(body, m, re) ? m[1].str() : "";
}

std::string Alert(const std::string& body) {
  std::smatch m;
  std::regex re("<p role=\"alert\">([^<]*)</p>");
  return std::regex_search(body, m, re) ? m[1].str() : "";
}

// Runs the pages' coroutine for `request` to its end on an io_context of the test's thread.
std::optional<http::Response> HandleNow(LoginPages& pages, const http::Request& request,
                                        const http::ConnectionInfo& conn) {
  asio::io_context io;
  std::optional<http::Response> result;
  bool done = false;
  asio::co_spawn(io, pages.Handle(request, conn),
                 [&](std::exception_ptr e, std::optional<http::Response> r) {
                   done = e == nullptr;
                   result = std::move(r);
                 });
  io.run();
  EXPECT_TRUE(done) << request.target;
  return result;
}

class LoginPagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteStore(dir_.File("a.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    users_ = std::make_unique<UserDirectory>(*store_, clock_, crypto::RandomBytes(32),
                                             "https://127.0.0.1:7443");
    pages_ = std::make_unique<LoginPages>(*users_, LoginOptions{});
    auto added = users_->Add("admin", "alice", "");
    ASSERT_TRUE(added.ok());
    auto enrolment =
        users_->FindEnrolment(added->enrol_link.substr(added->enrol_link.find("bwen_")));
    ASSERT_TRUE(enrolment.ok());
    secret_ = enrolment->totp_secret;
    auto codes = users_->CompleteEnrolment(*enrolment, kPassword, Code());
    ASSERT_TRUE(codes.ok()) << codes.status();
    recovery_ = *codes;
    clock_.Advance(core::Seconds(30));  // the enrolment spent the current step
  }
  std::string Code(int offset = 0) { return TotpCode(secret_, TotpStep(clock_.Now()) + offset); }
  http::Response Send(Browser& b, const std::string& method, const std::string& target,
                      std::string body = "", std::optional<std::string> origin = std::nullopt) {
    http::Request request = b.Make(method, target, std::move(body));
    if (origin) request.headers.Add("Origin", *origin);
    http::ConnectionInfo conn;
    conn.remote = asio::ip::tcp::endpoint(asio::ip::make_address(b.address), 40000);
    std::optional<http::Response> response = HandleNow(*pages_, request, conn);
    EXPECT_TRUE(response.has_value()) << target;
    if (!response) return {};
    b.Keep(*response);
    return *response;
  }
  // GETs /login and returns its CSRF token.
  std::string Token(Browser& b, const std::string& target = "/login") {
    return CsrfToken(Send(b, "GET", target).body);
  }
  http::Response Password(Browser& b, const std::string& user, const std::string& password,
                          const std::string& return_to = "") {
    std::string token = Token(b);
    return Send(b, "POST", "/login",
                "csrf=" + token + "&username=" + user + "&password=" + password +
                    (return_to.empty() ? "" : "&return_to=" + return_to));
  }
  http::Response Mfa(Browser& b, const std::string& code) {
    std::string token = CsrfToken(Send(b, "GET", "/login/mfa").body);
    return Send(b, "POST", "/login/mfa", "csrf=" + token + "&code=" + code);
  }
  std::string SignedInAs(Browser& b) {
    std::smatch m;
    std::string body = Send(b, "GET", "/login").body;
    std::regex re("Signed in as <strong id=\"user\">([^<]*)</strong>");
    return std::regex_search(body, m, re) ? m[1].str() : "";
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  StorePtr store_;
  std::unique_ptr<UserDirectory> users_;
  std::unique_ptr<LoginPages> pages_;
  crypto::Bytes secret_;
  std::vector<std::string> recovery_;
};

TEST_F(LoginPagesTest, PasswordThenTotpSignsInAndLandsOnReturnTo) {
  Browser b;
  http::Response first = Password(b, "alice", "correct+horse+battery+staple",
                                  "%2Foauth2%2Fauthorize%3Fclient_id%3Dapp");
  ASSERT_EQ(first.status, 303) << first.body;
  EXPECT_EQ(first.headers.Get("Location"), "/login/mfa");
  EXPECT_TRUE(b.cookies.contains(std::string(kMfaCookie)));
  EXPECT_FALSE(b.cookies.contains(std::string(kLoginCookie))) << "not before the second factor";
  http::Response second = Mfa(b, Code());
  ASSERT_EQ(second.status, 303) << second.body;
  EXPECT_EQ(second.headers.Get("Location"), "/oauth2/authorize?client_id=app");
  ASSERT_TRUE(b.cookies.contains(std::string(kLoginCookie)));
  EXPECT_FALSE(b.cookies.contains(std::string(kMfaCookie))) << "the half-done state is gone";
  EXPECT_EQ(SignedInAs(b), "alice");
  auto session = FindActiveLoginSession(*store_, b.Make("GET", "/", "").headers, clock_.Now());
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->amr, (std::vector<std::string>{"pwd", "otp"}));
}

TEST_F(LoginPagesTest, OpenRedirectsLandOnTheDefaultPage) {
  for (const char* attack :
       {"%2F%2Fevil.example", "%2F%5Cevil.example", "https%3A%2F%2Fevil.example",
        "%2F%2F%2Fevil.example", "javascript%3Aalert(1)"}) {
    Browser b;
    ASSERT_EQ(Password(b, "alice", "correct+horse+battery+staple", attack).status, 303);
    clock_.Advance(core::Seconds(30));
    http::Response done = Mfa(b, Code());
    ASSERT_EQ(done.status, 303) << attack << done.body;
    EXPECT_EQ(done.headers.Get("Location"), kDefaultReturnTo) << attack;
  }
}

TEST_F(LoginPagesTest, UnknownUserAndWrongPasswordLookTheSame) {
  Browser b;
  http::Response wrong = Password(b, "alice", "wrong+password+here");
  http::Response unknown = Password(b, "mallory", "wrong+password+here");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(Alert(wrong.body), "The user name or password is incorrect.");
  EXPECT_EQ(wrong.body, unknown.body) << "byte-identical pages";
  EXPECT_FALSE(b.cookies.contains(std::string(kMfaCookie)));
}

TEST_F(LoginPagesTest, TheMfaStepNeedsTheServerSideStateNotAClientClaim) {
  Browser b;
  std::string token = Token(b);
  b.cookies[std::string(kMfaCookie)] = "forged-value";
  http::Response r = Send(b, "POST", "/login/mfa", "csrf=" + token + "&code=" + Code());
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(r.headers.Get("Location"), "/login") << "no password step, no second step";
  EXPECT_FALSE(b.cookies.contains(std::string(kLoginCookie)));
}

TEST_F(LoginPagesTest, AReplayedTotpCodeIsRefused) {
  Browser one, two;
  ASSERT_EQ(Password(one, "alice", "correct+horse+battery+staple").status, 303);
  std::string code = Code();
  ASSERT_EQ(Mfa(one, code).status, 303);
  ASSERT_EQ(Password(two, "alice", "correct+horse+battery+staple").status, 303);
  http::Response replay = Mfa(two, code);
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(Alert(replay.body), "The code is incorrect or was used already.");
  EXPECT_EQ(Mfa(two, Code(-1)).status, 401) << "an older step after a newer one";
  EXPECT_EQ(Mfa(two, Code(1)).status, 303) << "the next step works";
}

TEST_F(LoginPagesTest, ARecoveryCodeWorksOnce) {
  Browser one, two;
  ASSERT_EQ(Password(one, "alice", "correct+horse+battery+staple").status, 303);
  ASSERT_EQ(Mfa(one, recovery_[0]).status, 303);
  ASSERT_EQ(Password(two, "alice", "correct+horse+battery+staple").status, 303);
  EXPECT_EQ(Mfa(two, recovery_[0]).status, 401);
}

TEST_F(LoginPagesTest, PostsWithoutAValidCsrfTokenOrFromAnotherOriginAreRefused) {
  Browser b;
  std::string token = Token(b);
  std::string body = "username=alice&password=correct+horse+battery+staple";
  EXPECT_EQ(Send(b, "POST", "/login", body).status, 403) << "no token";
  EXPECT_EQ(Send(b, "POST", "/login", body + "&csrf=" + token.substr(1) + "A").status, 403);
  EXPECT_EQ(Send(b, "POST", "/login", body + "&csrf=" + token, "https://evil.example").status, 403);
  Browser other;  // another browser's cookie with this token
  Token(other);
  EXPECT_EQ(Send(other, "POST", "/login", body + "&csrf=" + token).status, 403);
  EXPECT_EQ(Send(b, "POST", "/login", body + "&csrf=" + token, "https://127.0.0.1:7443").status,
            303);
}

TEST_F(LoginPagesTest, RepeatedFailuresLockTheAccountWithAClearMessage) {
  Browser b;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Password(b, "alice", "wrong+password+here").status, 401) << i;
    clock_.Advance(core::Seconds(10));  // past each growing delay
  }
  http::Response locked = Password(b, "alice", "correct+horse+battery+staple");
  EXPECT_EQ(locked.status, 429);
  EXPECT_NE(Alert(locked.body).find("Too many failed sign-ins"), std::string::npos);
  EXPECT_NE(Alert(locked.body).find("Try again in 890 seconds"), std::string::npos)
      << Alert(locked.body);
  EXPECT_EQ(locked.headers.Get("Retry-After"), "890");
  Browser elsewhere;
  elsewhere.address = "198.51.100.7";
  EXPECT_EQ(Password(elsewhere, "alice", "correct+horse+battery+staple").status, 429)
      << "the account is locked from every address";
  clock_.Advance(core::Seconds(890));
  EXPECT_EQ(Password(b, "alice", "correct+horse+battery+staple").status, 303);
}

TEST_F(LoginPagesTest, GrowingDelaysPerSourceAddressAcrossAccounts) {
  Browser b;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Password(b, "user" + std::to_string(i), "wrong+password+here").status, 401);
  }
  ASSERT_EQ(Password(b, "user10", "wrong+password+here").status, 401);
  EXPECT_EQ(Password(b, "alice", "correct+horse+battery+staple").status, 429)
      << "11 failures from one address: wait a second";
  clock_.Advance(core::Seconds(1));
  EXPECT_EQ(Password(b, "alice", "correct+horse+battery+staple").status, 303);
}

TEST_F(LoginPagesTest, LogoutEndsTheSessionAndClearsTheCookie) {
  Browser b;
  ASSERT_EQ(Password(b, "alice", "correct+horse+battery+staple").status, 303);
  ASSERT_EQ(Mfa(b, Code()).status, 303);
  std::string cookie = b.cookies[std::string(kLoginCookie)];
  std::string token = Token(b);
  EXPECT_EQ(Send(b, "POST", "/logout", "").status, 403) << "CSRF-protected";
  http::Response out = Send(b, "POST", "/logout", "csrf=" + token);
  EXPECT_EQ(out.status, 303);
  EXPECT_FALSE(b.cookies.contains(std::string(kLoginCookie)));
  EXPECT_EQ(SignedInAs(b), "");
  b.cookies[std::string(kLoginCookie)] = cookie;
  EXPECT_EQ(SignedInAs(b), "") << "the old cookie is dead server-side";
}

TEST_F(LoginPagesTest, SignedInPageOffersOnlyASafeReturnTo) {
  Browser b;
  ASSERT_EQ(Password(b, "alice", "correct+horse+battery+staple").status, 303);
  ASSERT_EQ(Mfa(b, Code()).status, 303);
  std::string body = Send(b, "GET", "/login?return_to=%2Foauth2%2Fauthorize%3Fa%3D1%26b%3D2").body;
  EXPECT_NE(body.find("<a href=\"/oauth2/authorize?a=1&amp;b=2\">Continue</a>"), std::string::npos)
      << body;
  body = Send(b, "GET", "/login?return_to=%2F%2Fevil.example").body;
  EXPECT_EQ(body.find("Continue"), std::string::npos);
  EXPECT_EQ(body.find("evil"), std::string::npos);
}

TEST_F(LoginPagesTest, OtherPathsAreNotTheirs) {
  http::Request request{"GET", "/v1/bundle", {}, ""};
  http::ConnectionInfo conn;
  conn.remote = asio::ip::tcp::endpoint(asio::ip::make_address("192.0.2.10"), 40000);
  EXPECT_FALSE(HandleNow(*pages_, request, conn).has_value());
}

TEST_F(LoginPagesTest, FullPasswordWorkersAnswer503WithRetryAfterAndCountNoFailure) {
  LoginOptions options;
  options.password_workers.max_pending = 0;  // always full
  pages_ = std::make_unique<LoginPages>(*users_, options);
  Browser b;
  for (int i = 0; i < 6; ++i) {
    http::Response busy = Password(b, "alice", "correct+horse+battery+staple");
    ASSERT_EQ(busy.status, 503) << busy.body;
    EXPECT_EQ(busy.headers.Get("Retry-After"), "1");
    EXPECT_FALSE(b.cookies.contains(std::string(kMfaCookie)));
  }
  // None was a 429: a busy answer is not counted as a failed guess (a third failure would have
  // been delayed, a sixth locked out).
}

}  // namespace
}  // namespace bulwark::authority
