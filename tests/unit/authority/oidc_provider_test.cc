#include "authority/oauth/oidc_provider.h"

#include <gtest/gtest.h>

#include "authority/oauth/oauth_service.h"
#include "authority/oauth/oidc_rules.h"
#include "authority/sso/login_session.h"
#include "authority/store/sqlite_store.h"
#include "crypto/bytes.h"
#include "crypto/digest.h"
#include "crypto/jwt.h"
#include "crypto/random.h"
#include "http/message.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tokens/user_token.h"

namespace bulwark::authority::oauth {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kIssuer = "https://authority.test:7443";
constexpr const char* kRedirect = "https://app.example/callback";
// Computed independently with Python's hashlib: base64url(SHA-256(verifier)).
constexpr const char* kVerifier = "dBjftJeZ4CVP-mJ92K1KSBxAm2PaG3CpUkWy2zHIg2Y";
constexpr const char* kChallenge = "EvMrdJ847lr-tYCdtdpD2nFKr3nu9Jc62HqJlSXIJqw";

TEST(RedirectUriTest, AcceptsHttpsAndLoopbackHttpOnly) {
  for (const char* ok : {"https://app.example/callback", "https://app.example:8443/cb?x=1",
                         "http://127.0.0.1:5000/cb", "http://localhost/cb", "http://[::1]:9/cb"}) {
    EXPECT_TRUE(CheckRedirectUri(ok).ok()) << ok;
  }
  for (const char* bad :
       {"http://app.example/cb", "https://app.example/cb#frag", "https://*.example/cb",
        "https://app.example/*", "/callback", "app.example/cb", "https://user@app.example/cb",
        "javascript:alert(1)", "com.example.app:/cb", "https://app.example/a b", "",
        "HTTPS://app.example/cb"}) {
    EXPECT_FALSE(CheckRedirectUri(bad).ok()) << bad;
  }
}

TEST(PkceTest, S256VerifierMustHashToTheChallenge) {
  EXPECT_TRUE(CheckCodeChallenge(kChallenge).ok());
  EXPECT_TRUE(VerifyPkce(kVerifier, kChallenge));
  EXPECT_FALSE(VerifyPkce(std::string(kVerifier) + "x", kChallenge));
  // `plain` would compare the verifier with the challenge itself: never accepted.
  EXPECT_FALSE(VerifyPkce(kChallenge, kChallenge));
  EXPECT_FALSE(VerifyPkce("short", crypto::Base64UrlEncode(crypto::Sha256(std::string("short")))))
      << "RFC 7636 §4.1: at least 43 characters";
  EXPECT_FALSE(CheckCodeChallenge("plain-challenge").ok());
}

TEST(BasicCredentialsTest, DecodesFormEncodedIdAndSecret) {
  auto basic =
      ParseBasicCredentials("Basic " + crypto::Base64Encode(crypto::ToBytes("my%20app:s%3Acret")));
  ASSERT_TRUE(basic.ok()) << basic.status();
  EXPECT_EQ(basic->first, "my app");
  EXPECT_EQ(basic->second, "s:cret");
  EXPECT_FALSE(ParseBasicCredentials("Bearer abc").ok());
  EXPECT_FALSE(ParseBasicCredentials("Basic !!!").ok());
}

TEST(AppendQueryTest, EncodesAndJoins) {
  EXPECT_EQ(AppendQuery("https://a/cb", {{"code", "x y"}, {"state", "&="}}),
            "https://a/cb?code=x%20y&state=%26%3D");
  EXPECT_EQ(AppendQuery("https://a/cb?k=v", {{"iss", "https://i"}}),
            "https://a/cb?k=v&iss=https%3A%2F%2Fi");
}

// Returns query parameter `name` of URL `location`.
std::string QueryOf(const std::string& location, std::string_view name) {
  http::Request r;
  r.target = location.substr(location.find('?'));
  return r.QueryParam(name).value_or("");
}

class OidcProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(OpenSqliteStore(dir_.File("a.db")).value());
    ca_ = std::move(
        CertificateAuthority::Initialize(*store_, kek_, "example.org", clock_, {}).value());
    service_ = std::make_unique<AuthorityService>(*store_, *ca_, clock_, ServiceOptions{});
    keys_ = std::move(TokenKeys::Load(*store_, kek_, clock_, {}).value());
    OAuthOptions options;
    options.issuer = kIssuer;
    oauth_ = std::make_unique<OAuthService>(*service_, *keys_, options);
    auto app = oidc().AddClient({"app", {kRedirect}, {"https://app.example/bye"}, false, {}}, "t");
    ASSERT_TRUE(app.ok()) << app.status();
    secret_ = app->secret;
    ASSERT_TRUE(oidc().AddClient({"spa", {"http://127.0.0.1:9/cb"}, {}, true, {}}, "t").ok());
    AddUser("alice");
    session_ = Session("alice");
  }
  OidcProvider& oidc() { return oauth_->oidc(); }
  void AddUser(const std::string& name) {
    UserRecord user{name, name + "@example.org", "", false, clock_.Now(), std::nullopt};
    ASSERT_TRUE(store_->CreateUser(user, {0, clock_.Now(), "t", "user.add", name, ""}).ok());
  }
  LoginSessionRecord Session(const std::string& user) {
    return CreateLoginSession(*store_, user, {"pwd", "otp"}, clock_.Now(), core::Seconds(3600))
        .value()
        .record;
  }
  Form AuthorizeParams(Form extra = {}) {
    Form p = {{"response_type", "code"},
              {"client_id", "app"},
              {"redirect_uri", kRedirect},
              {"scope", "openid email"},
              {"state", "st-1"},
              {"nonce", "n-1"},
              {"code_challenge", kChallenge},
              {"code_challenge_method", "S256"}};
    for (auto& [k, v] : extra) {
      p[k] = v;
    }
    return p;
  }
  std::string Code(Form extra = {}) {
    AuthorizeOutcome out = oidc().Authorize(AuthorizeParams(extra), session_, "/r");
    EXPECT_EQ(out.kind, AuthorizeOutcome::Kind::kRedirect) << out.message;
    EXPECT_EQ(QueryOf(out.location, "state"), "st-1");
    EXPECT_EQ(QueryOf(out.location, "iss"), kIssuer);
    return QueryOf(out.location, "code");
  }
  absl::StatusOr<json> Redeem(const std::string& code, Form extra = {},
                              const std::string& client = "app") {
    Form form = {
        {"grant_type", "authorization_code"}, {"code", code},        {"redirect_uri", kRedirect},
        {"code_verifier", kVerifier},         {"client_id", client}, {"client_secret", secret_}};
    for (auto& [k, v] : extra) {
      form[k] = v;
    }
    return oidc().Token(form, std::nullopt);
  }
  absl::StatusOr<json> Refresh(const std::string& token) {
    return oidc().Token({{"grant_type", "refresh_token"},
                         {"refresh_token", token},
                         {"client_id", "app"},
                         {"client_secret", secret_}},
                        std::nullopt);
  }
  bool AccessActive(const json& tokens) {
    return oauth_->VerifyOwnToken(tokens["access_token"].get<std::string>()).ok();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  crypto::Bytes kek_ = crypto::RandomBytes(32);
  StorePtr store_;
  std::unique_ptr<CertificateAuthority> ca_;
  std::unique_ptr<AuthorityService> service_;
  TokenKeysPtr keys_;
  std::unique_ptr<OAuthService> oauth_;
  std::string secret_;
  LoginSessionRecord session_;
};

TEST_F(OidcProviderTest, CodeFlowIssuesIdAccessAndRefreshTokens) {
  auto tokens = Redeem(Code());
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  auto id = crypto::VerifyJwt((*tokens)["id_token"].get<std::string>(), *keys_->Published(),
                              {kIssuer, "app", "JWT"}, clock_.Now());
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->claims["sub"], "alice");
  EXPECT_EQ(id->claims["nonce"], "n-1");
  EXPECT_EQ(id->claims["azp"], "app");
  EXPECT_EQ(id->claims["amr"], json({"pwd", "otp"}));
  EXPECT_EQ(id->claims["auth_time"], core::ToUnixSeconds(session_.auth_time));
  // The access token is what a gateway's `issuer: self` accepts: at+jwt for spiffe://<td>.
  auto access = crypto::VerifyJwt((*tokens)["access_token"].get<std::string>(), *keys_->Published(),
                                  {kIssuer, "spiffe://example.org", "at+jwt"}, clock_.Now());
  ASSERT_TRUE(access.ok()) << access.status();
  EXPECT_EQ(access->claims["client_id"], "app");
  EXPECT_EQ(access->claims["scope"], "openid email");
  EXPECT_FALSE(access->claims["jti"].get<std::string>().empty());
  EXPECT_EQ((*tokens)["refresh_token"].get<std::string>().size(), 43u);
  auto info = oidc().UserInfo(access->claims);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(*info, json({{"sub", "alice"}, {"email", "alice@example.org"}}));
}

TEST_F(OidcProviderTest, AccessTokenPassesTheGatewaysSelfIssuerCheck) {
  auto tokens = Redeem(Code());
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  // What proxy::BearerAuthenticator runs for a gateway.issuers entry `issuer: self`.
  auto published =
      std::make_shared<const tokens::IssuerKeys>(tokens::IssuerKeys{kIssuer, *keys_->Published()});
  tokens::TrustedIssuer self{"local",   true,
                             "",        {"spiffe://example.org"},
                             {"ES256"}, {[published] { return published; }, nullptr}};
  auto user =
      tokens::VerifyUserToken((*tokens)["access_token"].get<std::string>(), {self}, clock_.Now());
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->subject.subject, "alice");
  EXPECT_EQ(user->subject.issuer, "local");
  EXPECT_EQ(user->subject.scope, (std::vector<std::string>{"openid", "email"}));
  // The ID token is not a bearer token there (typ JWT, aud the client).
  EXPECT_FALSE(
      tokens::VerifyUserToken((*tokens)["id_token"].get<std::string>(), {self}, clock_.Now()).ok());
}

TEST_F(OidcProviderTest, UnknownClientOrRedirectMismatchIsAnErrorPageNeverARedirect) {
  for (const char* uri : {"https://app.example/callback/extra", "https://app.example/callbac",
                          "https://app.example:444/callback", "http://app.example/callback",
                          "https://app.example/callback?x=1", "https://evil.example/callback",
                          "https://app.example@evil.example/callback", ""}) {
    auto out = oidc().Authorize(AuthorizeParams({{"redirect_uri", uri}}), session_, "/r");
    EXPECT_EQ(out.kind, AuthorizeOutcome::Kind::kErrorPage) << uri;
    EXPECT_TRUE(out.location.empty());
  }
  auto out = oidc().Authorize(AuthorizeParams({{"client_id", "nobody"}}), session_, "/r");
  EXPECT_EQ(out.kind, AuthorizeOutcome::Kind::kErrorPage);
}

TEST_F(OidcProviderTest, PkceIsRequiredAndPlainRefused) {
  Form without = AuthorizeParams();
  without.erase("code_challenge");
  without.erase("code_challenge_method");
  for (const Form& p : {without, AuthorizeParams({{"code_challenge_method", "plain"}}),
                        AuthorizeParams({{"code_challenge_method", ""}})}) {
    auto out = oidc().Authorize(p, session_, "/r");
    ASSERT_EQ(out.kind, AuthorizeOutcome::Kind::kRedirect);
    EXPECT_EQ(QueryOf(out.location, "error"), "invalid_request") << out.location;
    EXPECT_TRUE(QueryOf(out.location, "code").empty());
    EXPECT_EQ(QueryOf(out.location, "state"), "st-1");
    EXPECT_EQ(QueryOf(out.location, "iss"), kIssuer);
  }
}

TEST_F(OidcProviderTest, LoginRedirectPromptNoneAndScopes) {
  auto login = oidc().Authorize(AuthorizeParams(), std::nullopt, "/oauth2/authorize?a=b");
  EXPECT_EQ(login.kind, AuthorizeOutcome::Kind::kLogin);
  EXPECT_EQ(login.location, "/login?return_to=%2Foauth2%2Fauthorize%3Fa%3Db");
  auto none = oidc().Authorize(AuthorizeParams({{"prompt", "none"}}), std::nullopt, "/r");
  EXPECT_EQ(QueryOf(none.location, "error"), "login_required");
  auto wide = oidc().Authorize(AuthorizeParams({{"scope", "openid admin"}}), session_, "/r");
  EXPECT_EQ(QueryOf(wide.location, "error"), "invalid_scope");
  auto no_openid = oidc().Authorize(AuthorizeParams({{"scope", "email"}}), session_, "/r");
  EXPECT_EQ(QueryOf(no_openid.location, "error"), "invalid_scope");
  auto token = oidc().Authorize(AuthorizeParams({{"response_type", "token"}}), session_, "/r");
  EXPECT_EQ(QueryOf(token.location, "error"), "unsupported_response_type");
}

TEST_F(OidcProviderTest, ASecondUseOfACodeIsRefusedAndRevokesWhatTheFirstIssued) {
  std::string code = Code();
  auto first = Redeem(code);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(AccessActive(*first));
  auto second = Redeem(code);
  EXPECT_EQ(OAuthErrorCode(second.status()), "invalid_grant");
  EXPECT_FALSE(AccessActive(*first)) << "the first use's access token is revoked";
  auto refreshed = Refresh((*first)["refresh_token"].get<std::string>());
  EXPECT_EQ(OAuthErrorCode(refreshed.status()), "invalid_grant");
}

TEST_F(OidcProviderTest, CodeBindingsAreChecked) {
  EXPECT_EQ(OAuthErrorCode(Redeem(Code(), {{"code_verifier", std::string(43, 'a')}}).status()),
            "invalid_grant");
  EXPECT_EQ(
      OAuthErrorCode(Redeem(Code(), {{"redirect_uri", "https://app.example/other"}}).status()),
      "invalid_grant");
  EXPECT_EQ(OAuthErrorCode(Redeem(Code(), {{"code_verifier", ""}}).status()), "invalid_request");
  // A code of `app` presented by the public client `spa`.
  EXPECT_EQ(OAuthErrorCode(Redeem(Code(), {{"client_secret", ""}}, "spa").status()),
            "invalid_grant");
  std::string late = Code();
  clock_.Advance(seconds(61));
  EXPECT_EQ(OAuthErrorCode(Redeem(late).status()), "invalid_grant");
  EXPECT_EQ(OAuthErrorCode(Redeem("not-a-code").status()), "invalid_grant");
}

TEST_F(OidcProviderTest, ClientAuthentication) {
  std::string code = Code();
  EXPECT_EQ(OAuthErrorCode(Redeem(code, {{"client_secret", "wrong"}}).status()), "invalid_client");
  EXPECT_EQ(OAuthErrorCode(Redeem(code, {{"client_secret", ""}}).status()), "invalid_client")
      << "a confidential client must authenticate";
  Form both = {{"grant_type", "authorization_code"}, {"code", code}, {"client_secret", secret_}};
  std::string basic = "Basic " + crypto::Base64Encode(crypto::ToBytes("app:" + secret_));
  EXPECT_EQ(OAuthErrorCode(oidc().Token(both, basic).status()), "invalid_request");
  // client_secret_basic works (the code is still unused: client authentication comes first).
  Form form = {{"grant_type", "authorization_code"},
               {"code", code},
               {"redirect_uri", kRedirect},
               {"code_verifier", kVerifier}};
  auto tokens = oidc().Token(form, basic);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  // A public client may not present a secret.
  EXPECT_EQ(OAuthErrorCode(oidc()
                               .Token({{"grant_type", "refresh_token"},
                                       {"refresh_token", "x"},
                                       {"client_id", "spa"},
                                       {"client_secret", "x"}},
                                      std::nullopt)
                               .status()),
            "invalid_client");
}

TEST_F(OidcProviderTest, RefreshRotatesWithAGraceWindowAndReuseRevokesTheFamily) {
  auto first = Redeem(Code());
  ASSERT_TRUE(first.ok());
  std::string r0 = (*first)["refresh_token"].get<std::string>();
  auto a = Refresh(r0);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_NE((*a)["refresh_token"].get<std::string>(), r0);
  EXPECT_FALSE((*a)["id_token"].get<std::string>().empty());
  clock_.Advance(seconds(9));
  auto b = Refresh(r0);  // a concurrent retry inside the 10 s grace window
  ASSERT_TRUE(b.ok()) << b.status();
  auto c = Refresh((*a)["refresh_token"].get<std::string>());  // the successor works
  ASSERT_TRUE(c.ok()) << c.status();
  clock_.Advance(seconds(2));
  auto reused = Refresh(r0);  // 11 s after its rotation: a real reuse
  EXPECT_EQ(OAuthErrorCode(reused.status()), "invalid_grant");
  for (const auto* issued : {&*first, &*a, &*b, &*c}) {
    EXPECT_FALSE(AccessActive(*issued)) << "every access token of the family is revoked";
  }
  EXPECT_EQ(OAuthErrorCode(Refresh((*c)["refresh_token"].get<std::string>()).status()),
            "invalid_grant");
  EXPECT_EQ(OAuthErrorCode(Refresh((*b)["refresh_token"].get<std::string>()).status()),
            "invalid_grant");
}

TEST_F(OidcProviderTest, RefreshOfADisabledUserFails) {
  auto tokens = Redeem(Code());
  ASSERT_TRUE(tokens.ok());
  UserRecord alice = store_->FindUser("alice").value();
  alice.disabled = true;
  ASSERT_TRUE(store_->UpdateUser(alice, {0, clock_.Now(), "t", "user.disable", "alice", ""}).ok());
  EXPECT_EQ(OAuthErrorCode(Refresh((*tokens)["refresh_token"]).status()), "invalid_grant");
}

TEST_F(OidcProviderTest, RevokingARefreshTokenRevokesItsFamily) {
  auto tokens = Redeem(Code());
  ASSERT_TRUE(tokens.ok());
  std::string refresh = (*tokens)["refresh_token"].get<std::string>();
  std::string basic = "Basic " + crypto::Base64Encode(crypto::ToBytes("app:" + secret_));
  // A wrong secret is refused, and revokes nothing.
  std::string wrong = "Basic " + crypto::Base64Encode(crypto::ToBytes("app:nope"));
  EXPECT_FALSE(oidc().Revoke({{"token", refresh}}, wrong).ok());
  EXPECT_TRUE(AccessActive(*tokens));
  EXPECT_TRUE(oidc().Revoke({{"token", "unknown"}}, basic).ok());  // RFC 7009 §2.2
  ASSERT_TRUE(oidc().Revoke({{"token", refresh}}, basic).ok());
  EXPECT_FALSE(AccessActive(*tokens));
  EXPECT_EQ(OAuthErrorCode(Refresh(refresh).status()), "invalid_grant");
}

TEST_F(OidcProviderTest, RemovingAClientRevokesItsGrants) {
  auto tokens = Redeem(Code());
  ASSERT_TRUE(tokens.ok());
  ASSERT_TRUE(oidc().RemoveClient("app", "t").ok());
  EXPECT_FALSE(AccessActive(*tokens));
  EXPECT_EQ(oidc().RemoveClient("app", "t").code(), absl::StatusCode::kNotFound);
}

TEST_F(OidcProviderTest, LogoutEndsTheHintsUsersSessionAndRedirectsOnlyWhereRegistered) {
  auto tokens = Redeem(Code());
  ASSERT_TRUE(tokens.ok());
  std::string hint = (*tokens)["id_token"].get<std::string>();
  auto open = oidc().Logout(
      {{"id_token_hint", hint}, {"post_logout_redirect_uri", "https://evil.example/"}}, session_);
  EXPECT_FALSE(open.ok) << "an unregistered post-logout URI is an open redirect";
  EXPECT_FALSE(
      oidc().Logout({{"post_logout_redirect_uri", "https://app.example/bye"}}, session_).ok);
  clock_.Advance(seconds(3600));  // the hint has expired: still accepted as a hint
  auto out = oidc().Logout({{"id_token_hint", hint},
                            {"post_logout_redirect_uri", "https://app.example/bye"},
                            {"state", "s"}},
                           session_);
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.location, "https://app.example/bye?state=s");
  EXPECT_TRUE(out.clear_cookie);
  EXPECT_TRUE(store_->FindLoginSession(session_.hash).value().ended_at.has_value());
}

TEST_F(OidcProviderTest, ClientRegistrationRules) {
  EXPECT_FALSE(oidc().AddClient({"bad id", {kRedirect}, {}, false, {}}, "t").ok());
  EXPECT_FALSE(oidc().AddClient({"x", {}, {}, false, {}}, "t").ok());
  EXPECT_FALSE(oidc().AddClient({"x", {"http://app.example/cb"}, {}, false, {}}, "t").ok());
  EXPECT_FALSE(oidc().AddClient({"x", {kRedirect}, {"https://*.example/"}, false, {}}, "t").ok());
  EXPECT_FALSE(oidc().AddClient({"x", {kRedirect}, {}, false, {"profile"}}, "t").ok());
  EXPECT_EQ(oidc().AddClient({"app", {kRedirect}, {}, false, {}}, "t").status().code(),
            absl::StatusCode::kAlreadyExists);
  auto stored = store_->FindOidcClient("app").value();
  EXPECT_EQ(stored.secret_hash, crypto::Sha256(secret_)) << "only the secret's SHA-256 is stored";
  EXPECT_EQ(crypto::Base64UrlDecode(secret_).value().size(), 32u);
}

}  // namespace
}  // namespace bulwark::authority::oauth
