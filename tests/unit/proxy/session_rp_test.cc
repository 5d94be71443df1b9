#include "proxy/session_rp.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "asio/co_spawn.hpp"
#include "asio/io_context.hpp"
#include "crypto/digest.h"
#include "crypto/jwk.h"
#include "crypto/jwt.h"
#include "crypto/key.h"
#include "fmt/format.h"
#include "http/cookie.h"
#include "nlohmann/json.hpp"

namespace bulwark::proxy {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::string_view kIssuer = "https://auth.test";
constexpr std::string_view kPublic = "https://gw.test";
const core::TimePoint kStart = core::FromUnixSeconds(1'800'000'000);

class FakeClock : public core::Clock {
 public:
  core::TimePoint Now() const override { return now; }
  core::TimePoint now = kStart;
};

template <typename T>
T Await(asio::awaitable<T> task) {
  std::optional<T> result;
  asio::io_context io;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    ASSERT_FALSE(e);
    result = std::move(value);
  });
  io.run_for(10s);
  EXPECT_TRUE(result.has_value());
  return *std::move(result);
}

// Returns the parameters of an urlencoded body or query.
std::map<std::string, std::string> Params(std::string_view encoded) {
  http::Request r;
  r.target = fmt::format("/?{}", encoded);
  std::map<std::string, std::string> out;
  for (const char* name :
       {"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "token", "state",
        "nonce", "code_challenge", "code_challenge_method", "response_type", "client_id", "scope",
        "id_token_hint", "post_logout_redirect_uri"}) {
    if (std::optional<std::string> v = r.QueryParam(name)) {
      out[name] = *v;
    }
  }
  return out;
}

std::vector<std::string> SetCookies(const http::Response& response) {
  std::vector<std::string> out;
  for (const http::Header& h : response.headers.all()) {
    if (h.name == "Set-Cookie") {
      out.push_back(h.value);
    }
  }
  return out;
}

// The value a response's Set-Cookie gives `name`; nullopt when it sets none.
std::optional<std::string> CookieSet(const http::Response& response, std::string_view name) {
  for (const std::string& c : SetCookies(response)) {
    if (c.starts_with(fmt::format("{}=", name))) {
      return c.substr(name.size() + 1, c.find(';') - name.size() - 1);
    }
  }
  return std::nullopt;
}

// The authority's token, userinfo and revoke endpoints, signing with a real key.
struct FakeAuthority {
  crypto::PrivateKey key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  FakeClock* clock = nullptr;
  std::string expected_nonce;        // the ID token's nonce for the next code
  std::string nonce_override;        // when set, the ID token carries this nonce instead
  std::set<std::string> used_codes;  // a code works once
  bool refuse_refresh = false;
  bool unreachable = false;
  int token_calls = 0;
  int refreshes = 0;
  std::vector<std::string> revoked;
  std::string last_basic;

  std::shared_ptr<const tokens::IssuerKeys> Keys() const {
    crypto::Jwk jwk = crypto::JwkForKey(key.Public()).value();
    jwk.kid = "k1";
    return std::make_shared<tokens::IssuerKeys>(
        tokens::IssuerKeys{std::string(kIssuer), crypto::Jwks::FromKeys({jwk}).value()});
  }

  json Tokens(const std::string& nonce) {
    long long now = core::ToUnixSeconds(clock->Now());
    json access = {{"iss", kIssuer},
                   {"sub", "alice"},
                   {"aud", "spiffe://example.org"},
                   {"client_id", "gateway"},
                   {"scope", "openid email"},
                   {"jti", fmt::format("j{}", token_calls)},
                   {"iat", now},
                   {"exp", now + 300}};
    json id = {{"iss", kIssuer}, {"sub", "alice"}, {"aud", "gateway"}, {"azp", "gateway"},
               {"sid", "sid-7"}, {"iat", now},     {"exp", now + 300}};
    if (!nonce.empty()) {
      id["nonce"] = nonce;
    }
    return {{"access_token", crypto::SignJwt({{"typ", "at+jwt"}}, access, key, "k1").value()},
            {"id_token", crypto::SignJwt(json::object(), id, key, "k1").value()},
            {"refresh_token", fmt::format("rt-{}", token_calls)},
            {"token_type", "Bearer"},
            {"expires_in", 300}};
  }

  http::Response Answer(const std::string& url, const http::Request& request) {
    http::Response response;
    response.status = 200;
    if (url.ends_with("/oauth2/userinfo")) {
      response.body =
          json{{"sub", "alice"}, {"preferred_username", "Alice"}, {"email", "alice@example.test"}}
              .dump();
      return response;
    }
    std::map<std::string, std::string> form = Params(request.body);
    last_basic = std::string(request.headers.Get("Authorization").value_or(""));
    if (url.ends_with("/oauth2/revoke")) {
      revoked.push_back(form["token"]);
      response.body = "{}";
      return response;
    }
    ++token_calls;
    auto refuse = [&response] {
      response.status = 400;
      response.body = json{{"error", "invalid_grant"}, {"error_description", "refused"}}.dump();
      return response;
    };
    if (form["grant_type"] == "authorization_code") {
      if (!used_codes.insert(form["code"]).second ||
          form["redirect_uri"] != fmt::format("{}/_bulwark/callback", kPublic)) {
        return refuse();
      }
      response.body = Tokens(nonce_override.empty() ? expected_nonce : nonce_override).dump();
      return response;
    }
    if (refuse_refresh) {
      return refuse();
    }
    ++refreshes;
    response.body = Tokens("").dump();
    return response;
  }
};

class SessionRpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    authority_.clock = &clock_;
    SessionRpOptions options;
    options.config.client_secret_file = "unused";
    options.config.lifetime = core::Seconds(3600);
    options.config.recheck = core::Seconds(60);
    options.public_url = std::string(kPublic);
    options.issuer = std::string(kIssuer);
    options.authority_url = "https://auth-backchannel.test";
    options.client_secret = "s3cret";
    options.cookie_key = key_;
    options.keys.current = [this] { return authority_.Keys(); };
    options.subject_issuer = "local";
    options.trust_domain = "example.org";
    rp_ = SessionRelyingParty::Create(
              std::move(options), clock_,
              [this](std::string url,
                     http::Request request) -> asio::awaitable<absl::StatusOr<http::Response>> {
                if (authority_.unreachable) {
                  co_return absl::UnavailableError("connection refused");
                }
                co_return authority_.Answer(url, request);
              })
              .value();
  }

  static http::Request Get(std::string target, std::string accept = "text/html") {
    http::Request request;
    request.method = "GET";
    request.target = std::move(target);
    request.headers.Add("Accept", std::move(accept));
    return request;
  }

  http::Response Reserved(http::Request request) {
    std::optional<http::Response> answer = Await(rp_->HandleReserved(request));
    EXPECT_TRUE(answer.has_value()) << request.target;
    return answer.value_or(http::Response{});
  }

  // Starts a login for `return_to`; returns the login cookie and its opened state.
  std::pair<std::string, LoginState> StartLogin(const std::string& return_to = "/app") {
    http::Response login = Reserved(Get("/_bulwark/login?return_to=" + return_to));
    EXPECT_EQ(login.status, 302);
    std::string cookie = CookieSet(login, kLoginStateCookie).value_or("");
    absl::StatusOr<LoginState> state = OpenLogin(key_, cookie, clock_.Now());
    EXPECT_TRUE(state.ok()) << state.status();
    authority_.expected_nonce = state.ok() ? state->nonce : "";
    return {cookie, state.value_or(LoginState{})};
  }

  http::Response Callback(const std::string& login_cookie, const std::string& state,
                          const std::string& code = "good", std::string_view iss = kIssuer) {
    http::Request request =
        Get(fmt::format("/_bulwark/callback?code={}&state={}&iss={}", code, state, iss));
    if (!login_cookie.empty()) {
      request.headers.Add("Cookie", fmt::format("{}={}", kLoginStateCookie, login_cookie));
    }
    return Reserved(std::move(request));
  }

  // Logs alice in; returns her session cookie.
  std::string LogIn() {
    auto [cookie, login] = StartLogin();
    http::Response done = Callback(cookie, login.state);
    EXPECT_EQ(done.status, 303);
    return CookieSet(done, kSessionCookie).value_or("");
  }

  static http::Request WithSession(http::Request request, const std::string& session) {
    request.headers.Add("Cookie", fmt::format("{}={}", kSessionCookie, session));
    return request;
  }

  crypto::Bytes key_ = crypto::Bytes(32, 9);
  FakeClock clock_;
  FakeAuthority authority_;
  std::unique_ptr<SessionRelyingParty> rp_;
};

TEST_F(SessionRpTest, ABrowserNavigationIsSentToTheAuthorizationEndpoint) {
  std::optional<http::Response> redirect = rp_->LoginRedirect(Get("/app/x?y=1"), "/app/x?y=1");
  ASSERT_TRUE(redirect.has_value());
  EXPECT_EQ(redirect->status, 302);
  std::string location(redirect->headers.Get("Location").value_or(""));
  ASSERT_TRUE(location.starts_with("https://auth.test/oauth2/authorize?")) << location;
  std::map<std::string, std::string> query = Params(location.substr(location.find('?') + 1));
  EXPECT_EQ(query["response_type"], "code");
  EXPECT_EQ(query["client_id"], "gateway");
  EXPECT_EQ(query["redirect_uri"], "https://gw.test/_bulwark/callback");
  EXPECT_EQ(query["scope"], "openid profile email");
  EXPECT_EQ(query["code_challenge_method"], "S256");
  std::string cookie = CookieSet(*redirect, kLoginStateCookie).value_or("");
  absl::StatusOr<LoginState> login = OpenLogin(key_, cookie, clock_.Now());
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(query["state"], login->state);
  EXPECT_EQ(query["nonce"], login->nonce);
  EXPECT_EQ(query["code_challenge"],
            crypto::Base64UrlEncode(crypto::Sha256(std::string_view(login->code_verifier))));
  EXPECT_EQ(login->return_to, "/app/x?y=1");
  EXPECT_NE(SetCookies(*redirect)[0].find("; Secure; HttpOnly; SameSite=Lax"), std::string::npos);
}

TEST_F(SessionRpTest, AnythingButANavigationGetsNoRedirect) {
  EXPECT_FALSE(rp_->LoginRedirect(Get("/api", "application/json"), "/api").has_value());
  http::Request fetch = Get("/api");
  fetch.headers.Add("Sec-Fetch-Mode", "cors");  // a fetch() that happens to accept HTML
  EXPECT_FALSE(rp_->LoginRedirect(fetch, "/api").has_value());
  http::Request post = Get("/api");
  post.method = "POST";
  EXPECT_FALSE(rp_->LoginRedirect(post, "/api").has_value());
  http::Request navigate = Get("/api", "*/*");
  navigate.headers.Add("Sec-Fetch-Mode", "navigate");
  EXPECT_TRUE(rp_->LoginRedirect(navigate, "/api").has_value());
}

TEST_F(SessionRpTest, TheCallbackSignsInAndTheSessionAdmitsTheUser) {
  auto [cookie, login] = StartLogin("/app/page?q=1");
  http::Response done = Callback(cookie, login.state);
  ASSERT_EQ(done.status, 303) << done.body;
  EXPECT_EQ(done.headers.Get("Location").value_or(""), "/app/page?q=1");
  EXPECT_EQ(CookieSet(done, kLoginStateCookie), "");  // spent
  std::string session = CookieSet(done, kSessionCookie).value_or("");
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(authority_.last_basic,
            "Basic " + crypto::Base64Encode(crypto::ToBytes("gateway:s3cret")));

  SessionCheck check = Await(rp_->Check(WithSession(Get("/app"), session)));
  ASSERT_TRUE(check.subject.ok()) << check.subject.status();
  EXPECT_EQ(check.subject->issuer, "local");
  EXPECT_EQ(check.subject->subject, "alice");
  EXPECT_EQ(check.subject->scope, (std::vector<std::string>{"openid", "email"}));
  EXPECT_TRUE(check.set_cookies.empty());

  http::Response info = Reserved(WithSession(Get("/_bulwark/session"), session));
  ASSERT_EQ(info.status, 200);
  json body = json::parse(info.body);
  EXPECT_EQ(body["sub"], "alice");
  EXPECT_EQ(body["name"], "Alice");
  EXPECT_EQ(body["email"], "alice@example.test");
  EXPECT_EQ(body["expires_at"], core::ToUnixSeconds(kStart) + 3600);
  EXPECT_EQ(Reserved(Get("/_bulwark/session")).status, 401);
}

TEST_F(SessionRpTest, AStateOfAnotherLoginIsRefusedBeforeTheCodeIsRedeemed) {
  auto [cookie, login] = StartLogin();
  http::Response refused = Callback(cookie, "attacker-state");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(authority_.token_calls, 0);
  EXPECT_FALSE(CookieSet(refused, kSessionCookie).has_value());
  // Another browser's login cookie with the attacker's own state: the key decides.
  LoginState forged = login;
  forged.state = "attacker-state";
  std::string other_key_cookie = SealLogin(crypto::Bytes(32, 1), forged).value();
  EXPECT_EQ(Callback(other_key_cookie, "attacker-state").status, 400);
  EXPECT_EQ(authority_.token_calls, 0);
}

TEST_F(SessionRpTest, AnotherIssuerInTheAnswerIsRefused) {
  auto [cookie, login] = StartLogin();
  EXPECT_EQ(Callback(cookie, login.state, "good", "https://evil.test").status, 400);
  EXPECT_EQ(authority_.token_calls, 0);
}

TEST_F(SessionRpTest, AReplayedCallbackIsRefused) {
  auto [cookie, login] = StartLogin();
  ASSERT_EQ(Callback(cookie, login.state).status, 303);
  // Without the login cookie, which the first answer deleted.
  EXPECT_EQ(Callback("", login.state).status, 400);
  // With it kept by an attacker: the code is spent at the authority.
  http::Response again = Callback(cookie, login.state);
  EXPECT_EQ(again.status, 400);
  EXPECT_FALSE(CookieSet(again, kSessionCookie).has_value());
}

TEST_F(SessionRpTest, AnIdTokenWithAnotherNonceIsRefused) {
  auto [cookie, login] = StartLogin();
  authority_.nonce_override = "another-login";
  http::Response refused = Callback(cookie, login.state);
  EXPECT_EQ(refused.status, 502);
  EXPECT_FALSE(CookieSet(refused, kSessionCookie).has_value());
}

TEST_F(SessionRpTest, ReturnToStaysOnTheGateway) {
  for (const char* evil : {"https://evil.test", "//evil.test", "/%5Cevil.test", "/\\evil.test",
                           "%2F%2Fevil.test", "javascript:alert(1)"}) {
    EXPECT_EQ(StartLogin(evil).second.return_to, "/") << evil;
  }
  EXPECT_EQ(StartLogin("/app%3Fx%3D1").second.return_to, "/app?x=1");
  EXPECT_EQ(SafeLocalReturnTo("/ok/path"), "/ok/path");
}

TEST_F(SessionRpTest, DecideSessionFollowsRecheckExpiryAndLifetime) {
  mesh::SessionConfig config;
  config.lifetime = core::Seconds(3600);
  config.recheck = core::Seconds(60);
  SessionState s;
  s.created_at = s.refreshed_at = kStart;
  s.expires_at = kStart + core::Seconds(3600);
  s.access_expires_at = kStart + core::Seconds(300);
  auto at = [&](int seconds) {
    return DecideSession(s, config, kStart + core::Seconds(seconds), core::Seconds(30));
  };
  EXPECT_EQ(at(0), SessionAction::kUse);
  EXPECT_EQ(at(59), SessionAction::kUse);
  EXPECT_EQ(at(60), SessionAction::kRefresh);
  s.refreshed_at = kStart + core::Seconds(250);
  EXPECT_EQ(at(269), SessionAction::kUse);
  EXPECT_EQ(at(270), SessionAction::kRefresh);  // the access token expires within the margin
  s.refreshed_at = kStart + core::Seconds(3590);
  s.access_expires_at = kStart + core::Seconds(3890);
  EXPECT_EQ(at(3599), SessionAction::kUse);
  EXPECT_EQ(at(3600), SessionAction::kEnd);  // lifetime, whatever the refreshes did
  config.lifetime = core::Seconds(1800);     // a shorter lifetime applies to existing sessions
  EXPECT_EQ(at(1800), SessionAction::kEnd);
}

TEST_F(SessionRpTest, AfterRecheckTheSessionIsRefreshedAndANewCookieSet) {
  std::string session = LogIn();
  clock_.now += core::Seconds(61);
  SessionCheck check = Await(rp_->Check(WithSession(Get("/app"), session)));
  ASSERT_TRUE(check.subject.ok()) << check.subject.status();
  EXPECT_EQ(authority_.refreshes, 1);
  ASSERT_EQ(check.set_cookies.size(), 1u);
  std::string next = check.set_cookies[0].substr(kSessionCookie.size() + 1);
  next = next.substr(0, next.find(';'));
  absl::StatusOr<SessionState> opened = OpenSession(key_, next, clock_.Now());
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->refresh_token, "rt-2");
  EXPECT_EQ(opened->refreshed_at, clock_.Now());
  EXPECT_EQ(opened->created_at, kStart);  // the lifetime still counts from the login
  EXPECT_EQ(opened->email, "alice@example.test");
  // The new cookie needs no refresh; the old one, presented again, refreshes again (the
  // provider's grace window lets both succeed).
  EXPECT_TRUE(Await(rp_->Check(WithSession(Get("/app"), next))).set_cookies.empty());
  EXPECT_TRUE(Await(rp_->Check(WithSession(Get("/app"), session))).subject.ok());
  EXPECT_EQ(authority_.refreshes, 2);
}

TEST_F(SessionRpTest, ARefusedRefreshEndsTheSession) {
  std::string session = LogIn();
  clock_.now += core::Seconds(61);
  authority_.refuse_refresh = true;  // revoked at the authority, or the user disabled
  SessionCheck check = Await(rp_->Check(WithSession(Get("/app"), session)));
  EXPECT_FALSE(check.subject.ok());
  ASSERT_EQ(check.set_cookies.size(), 1u);
  EXPECT_TRUE(check.set_cookies[0].starts_with("__Host-bulwark-session=; Path=/; Max-Age=0"));
}

TEST_F(SessionRpTest, WhileTheAuthorityIsAwayTheSessionLastsUntilItsAccessTokenExpires) {
  std::string session = LogIn();
  authority_.unreachable = true;
  clock_.now += core::Seconds(61);
  SessionCheck check = Await(rp_->Check(WithSession(Get("/app"), session)));
  EXPECT_TRUE(check.subject.ok()) << check.subject.status();
  EXPECT_TRUE(check.set_cookies.empty());
  clock_.now = kStart + core::Seconds(300);  // the access token's exp
  EXPECT_FALSE(Await(rp_->Check(WithSession(Get("/app"), session))).subject.ok());
}

TEST_F(SessionRpTest, TheLifetimeEndsTheSessionWithoutAskingTheAuthority) {
  std::string session = LogIn();
  int calls = authority_.token_calls;
  clock_.now += core::Seconds(3600);
  SessionCheck check = Await(rp_->Check(WithSession(Get("/app"), session)));
  EXPECT_FALSE(check.subject.ok());
  EXPECT_EQ(authority_.token_calls, calls);
}

TEST_F(SessionRpTest, TamperedOrForeignSessionCookiesAreRefused) {
  std::string session = LogIn();
  std::string tampered = session;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(Await(rp_->Check(WithSession(Get("/app"), tampered))).subject.ok());
  SessionState forged;
  forged.sub = "admin";
  forged.refresh_token = "x";
  forged.created_at = forged.refreshed_at = clock_.Now();
  forged.expires_at = forged.access_expires_at = clock_.Now() + core::Seconds(600);
  std::string foreign = SealSession(crypto::Bytes(32, 1), forged).value();
  EXPECT_FALSE(Await(rp_->Check(WithSession(Get("/app"), foreign))).subject.ok());
}

TEST_F(SessionRpTest, LogoutRevokesAndSendsToTheProvidersLogout) {
  std::string session = LogIn();
  http::Request post = WithSession(Get("/_bulwark/logout"), session);
  post.method = "POST";
  http::Response out = Reserved(post);
  ASSERT_EQ(out.status, 303);
  std::string location(out.headers.Get("Location").value_or(""));
  ASSERT_TRUE(location.starts_with("https://auth.test/oauth2/logout?")) << location;
  std::map<std::string, std::string> query = Params(location.substr(location.find('?') + 1));
  EXPECT_EQ(query["post_logout_redirect_uri"], "https://gw.test/");
  EXPECT_FALSE(query["id_token_hint"].empty());
  EXPECT_EQ(authority_.revoked, (std::vector<std::string>{"rt-1"}));
  EXPECT_EQ(CookieSet(out, kSessionCookie), "");
  EXPECT_EQ(CookieSet(out, kLoginStateCookie), "");
  // A copy of the cookie kept from before the logout is refused at once, not at its recheck.
  SessionCheck copy = Await(rp_->Check(WithSession(Get("/app"), session)));
  EXPECT_FALSE(copy.subject.ok());
  ASSERT_EQ(copy.set_cookies.size(), 1u);
  EXPECT_TRUE(copy.set_cookies[0].starts_with(std::string(kSessionCookie) + "=;"))
      << copy.set_cookies[0];
  // A GET cannot log out (a link or an image on another site).
  EXPECT_EQ(Reserved(WithSession(Get("/_bulwark/logout"), session)).status, 405);
}

TEST_F(SessionRpTest, TheServiceNeverSeesNorSetsTheGatewaysCookies) {
  http::Headers headers;
  headers.Add("Cookie", "a=1; __Host-bulwark-session=s; b=2");
  headers.Add("Cookie", "__Host-bulwark-rp-login=l; __Host-bulwark-login=authority");
  SessionRelyingParty::RemoveSessionCookies(headers);
  EXPECT_EQ(headers.Count("Cookie"), 1u);
  EXPECT_EQ(headers.Get("Cookie").value_or(""), "a=1; b=2");
  http::Headers only;
  only.Add("Cookie", "__Host-bulwark-session=s");
  SessionRelyingParty::RemoveSessionCookies(only);
  EXPECT_EQ(only.Count("Cookie"), 0u);

  http::Headers response;
  response.Add("Set-Cookie", "app=1; Path=/");
  response.Add("Set-Cookie", "__Host-bulwark-session=; Path=/; Max-Age=0");
  response.Add("Set-Cookie", "__Host-bulwark-login=fixated; Path=/; Secure");
  SessionRelyingParty::RemoveSessionSetCookies(response);
  EXPECT_EQ(response.Count("Set-Cookie"), 1u);
  EXPECT_EQ(response.Get("Set-Cookie").value_or(""), "app=1; Path=/");
}

TEST_F(SessionRpTest, UnknownReservedPathsAreNotAnswered) {
  EXPECT_FALSE(Await(rp_->HandleReserved(Get("/_bulwark/other"))).has_value());
  EXPECT_FALSE(Await(rp_->HandleReserved(Get("/app"))).has_value());
}

}  // namespace
}  // namespace bulwark::proxy
