#include "authority/oauth/oauth_service.h"

#include <gtest/gtest.h>

#include "authority/store/sqlite_store.h"
#include "crypto/digest.h"
#include "crypto/jwt.h"
#include "crypto/random.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tokens/txn_token.h"

namespace bulwark::authority::oauth {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kIssuer = "https://authority.test:7443";
constexpr const char* kIdp = "https://idp.test";

// An authority with a CA, token keys and the OAuth service over a SQLite store and a fake clock.
class OAuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(OpenSqliteStore(dir_.File("a.db")).value());
    ca_ = std::move(
        CertificateAuthority::Initialize(*store_, kek_, "example.org", clock_, {}).value());
    service_ = std::make_unique<AuthorityService>(*store_, *ca_, clock_, ServiceOptions{});
    keys_ = std::move(TokenKeys::Load(*store_, kek_, clock_, {}).value());
    OAuthOptions options;
    options.issuer = kIssuer;
    auto idp_keys = std::make_shared<const tokens::IssuerKeys>(tokens::IssuerKeys{
        kIdp, crypto::Jwks::FromKeys({crypto::JwkForKey(idp_key_.Public()).value()}).value()});
    tokens::TrustedIssuer idp{"idp",         false,     kIdp,
                              {"api://dvd"}, {"ES256"}, {[idp_keys] { return idp_keys; }, {}}};
    // The self issuer's keys are bound by OAuthService.
    tokens::TrustedIssuer local{"local", true, "", {"spiffe://example.org"}, {"ES256"}, {}};
    options.subject_issuers = {idp, local};
    options.workload_scopes = {{"spiffe://example.org/svc/a", {"orders:read", "orders:list"}}};
    oauth_ = std::make_unique<OAuthService>(*service_, *keys_, options);
  }
  crypto::Certificate Svid(const char* path) {
    auto key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
    auto id = identity::SpiffeId::FromParts("example.org", path).value();
    return service_->IssueDirect(key.Public(), id, std::chrono::hours(1), "test")
        .value()
        .svid.chain.front();
  }
  std::string AccessToken(const crypto::Certificate& cert) {
    auto answer = oauth_->Token({{"grant_type", "client_credentials"}}, cert);
    EXPECT_TRUE(answer.ok()) << answer.status();
    return answer.ok() ? (*answer)["access_token"].get<std::string>() : "";
  }
  std::string UserToken(json extra = json::object()) {
    long long now = core::ToUnixSeconds(clock_.Now());
    json claims = {{"iss", kIdp},
                   {"aud", "api://dvd"},
                   {"sub", "u1"},
                   {"exp", now + 300},
                   {"scope", "read write"}};
    claims.update(extra);
    auto kid = crypto::JwkThumbprint(idp_key_.Public()).value();
    return crypto::SignJwt(json::object(), claims, idp_key_, kid).value();
  }
  absl::StatusOr<json> Exchange(const std::string& subject, const crypto::Certificate& cert,
                                Form extra = {}) {
    Form form = {{"grant_type", std::string(kGrantTokenExchange)},
                 {"requested_token_type", std::string(tokens::kTxnTokenTypeUri)},
                 {"subject_token", subject},
                 {"subject_token_type", std::string(kTokenTypeAccessToken)}};
    form.merge(extra);
    return oauth_->Token(form, cert);
  }
  absl::StatusOr<json> ClientCredentials(const crypto::Certificate& cert, Form extra = {}) {
    Form form = {{"grant_type", "client_credentials"}};
    form.merge(extra);
    return oauth_->Token(form, cert);
  }
  bool Active(const std::string& token, const crypto::Certificate& cert) {
    return oauth_->Introspect({{"token", token}}, cert).value()["active"].get<bool>();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  crypto::Bytes kek_ = crypto::RandomBytes(32);
  StorePtr store_;
  std::unique_ptr<CertificateAuthority> ca_;
  std::unique_ptr<AuthorityService> service_;
  TokenKeysPtr keys_;
  std::unique_ptr<OAuthService> oauth_;
  crypto::PrivateKey idp_key_ = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
};

TEST_F(OAuthServiceTest, AccessTokenIsBoundToTheCertificateAndExpires) {
  crypto::Certificate cert = Svid("/svc/a");
  std::string token = AccessToken(cert);
  auto jwt = crypto::VerifyJwt(token, *keys_->Published(),
                               {kIssuer, "spiffe://example.org", "at+jwt"}, clock_.Now());
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->claims["cnf"]["x5t#S256"], crypto::Base64UrlEncode(crypto::Sha256(cert.ToDer())));
  EXPECT_EQ(jwt->claims["exp"].get<long long>() - jwt->claims["iat"].get<long long>(), 300);
  EXPECT_TRUE(Active(token, cert));
  clock_.Advance(seconds(300 + 59));
  EXPECT_TRUE(Active(token, cert)) << "inside the 60 s skew every verifier allows";
  clock_.Advance(seconds(1));
  EXPECT_FALSE(Active(token, Svid("/svc/a")));
}

TEST_F(OAuthServiceTest, AnAdminMayRevokeAnyAccessTokenAnotherWorkloadMayNot) {
  crypto::Certificate owner = Svid("/svc/owner");
  std::string token = AccessToken(owner);
  absl::Status other = oauth_->Revoke({{"token", token}}, Svid("/svc/other"));
  EXPECT_EQ(OAuthErrorCode(other), "unauthorized_client");
  EXPECT_TRUE(Active(token, owner));
  ASSERT_TRUE(oauth_->Revoke({{"token", token}}, Svid("/admin/root")).ok());
  EXPECT_FALSE(Active(token, owner));
  EXPECT_TRUE(
      store_
          ->IsTokenRevoked(crypto::VerifyJwt(token, *keys_->Published(),
                                             {kIssuer, "spiffe://example.org"}, clock_.Now())
                               ->claims["jti"])
          .value());
}

TEST_F(OAuthServiceTest, RevokedSvidCannotGetTokens) {
  crypto::Certificate cert = Svid("/svc/a");
  ASSERT_TRUE(service_->Revoke("test", cert.SerialHex(), "").ok());
  auto answer = oauth_->Token({{"grant_type", "client_credentials"}}, cert);
  EXPECT_EQ(OAuthErrorCode(answer.status()), "invalid_client");
  EXPECT_EQ(
      OAuthErrorCode(oauth_->Token({{"grant_type", "client_credentials"}}, std::nullopt).status()),
      "invalid_client");
}

TEST_F(OAuthServiceTest, ExchangeMintsAVerifiableTransactionTokenForTheGatewayOnly) {
  crypto::Certificate gateway = Svid("/gateway");
  auto answer = Exchange(UserToken(), gateway, {{"scope", "write"}});
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ((*answer)["expires_in"], 60);
  auto txn =
      tokens::VerifyTransactionToken((*answer)["access_token"].get<std::string>(),
                                     *keys_->Published(), "example.org", kIssuer, clock_.Now());
  ASSERT_TRUE(txn.ok()) << txn.status();
  // A user of an external issuer is qualified by the issuer's name.
  EXPECT_EQ(txn->subject, "idp:u1");
  EXPECT_EQ(txn->subject_issuer, "idp");
  EXPECT_EQ(txn->scope, std::vector<std::string>{"write"});
  EXPECT_EQ(txn->requesting_workload, "spiffe://example.org/gateway");
  EXPECT_EQ(OAuthErrorCode(Exchange(UserToken(), Svid("/svc/a")).status()), "unauthorized_client");
  EXPECT_EQ(OAuthErrorCode(Exchange(UserToken(), gateway, {{"scope", "admin"}}).status()),
            "invalid_scope");
  EXPECT_EQ(OAuthErrorCode(Exchange(UserToken({{"aud", "api://x"}}), gateway).status()),
            "invalid_grant");
}

TEST_F(OAuthServiceTest, AnExternalIssuersSubjectsAreQualifiedByItsName) {
  // The HIGH finding: a partner's "u1" must never become the local "u1" in a transaction token.
  // (The self issuer's subjects stay unqualified; its only tokens so far are workloads', which
  // are never exchanged: WorkloadAccessTokensAreNotExchangedAsUserTokens.)
  crypto::Certificate gateway = Svid("/gateway");
  auto foreign = Exchange(UserToken({{"sub", "u1"}}), gateway);
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  auto txn =
      tokens::VerifyTransactionToken((*foreign)["access_token"].get<std::string>(),
                                     *keys_->Published(), "example.org", kIssuer, clock_.Now());
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(txn->subject, "idp:u1");
  EXPECT_EQ(txn->subject_issuer, "idp");
}

TEST_F(OAuthServiceTest, ATransactionTokenNeverOutlivesTheUsersToken) {
  crypto::Certificate gateway = Svid("/gateway");
  long long now = core::ToUnixSeconds(clock_.Now());
  auto answer = Exchange(UserToken({{"exp", now + 10}}), gateway);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ((*answer)["expires_in"], 10);
  auto txn =
      tokens::VerifyTransactionToken((*answer)["access_token"].get<std::string>(),
                                     *keys_->Published(), "example.org", kIssuer, clock_.Now());
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(core::ToUnixSeconds(txn->expires_at), now + 10);
  // Expired but still within the verifier's skew: refused rather than minted already expired.
  EXPECT_EQ(OAuthErrorCode(Exchange(UserToken({{"exp", now - 5}}), gateway).status()),
            "invalid_grant");
}

TEST_F(OAuthServiceTest, TransactionTokensCannotBeExchangedAgainOrRevoked) {
  crypto::Certificate gateway = Svid("/gateway");
  std::string txn = Exchange(UserToken(), gateway).value()["access_token"].get<std::string>();
  // A transaction token under the self issuer: refused by its typ.
  auto again = Exchange(txn, gateway);
  EXPECT_EQ(OAuthErrorCode(again.status()), "invalid_grant") << again.status();
  EXPECT_EQ(OAuthErrorCode(oauth_->Revoke({{"token", txn}}, gateway)), "unsupported_token_type");
  EXPECT_TRUE(Active(txn, gateway));
  clock_.Advance(seconds(121));
  EXPECT_FALSE(Active(txn, gateway));
}

TEST_F(OAuthServiceTest, SubjectTokenSignedByTheRightKidButAnotherKeyIsRefused) {
  crypto::PrivateKey stranger = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  long long now = core::ToUnixSeconds(clock_.Now());
  std::string forged =
      crypto::SignJwt(json::object(),
                      {{"iss", kIdp}, {"aud", "api://dvd"}, {"sub", "root"}, {"exp", now + 60}},
                      stranger, crypto::JwkThumbprint(idp_key_.Public()).value())
          .value();
  auto answer = Exchange(forged, Svid("/gateway"));
  EXPECT_EQ(OAuthErrorCode(answer.status()), "invalid_grant");
  EXPECT_NE(answer.status().message().find("signature"), std::string::npos) << answer.status();
}

TEST_F(OAuthServiceTest, ClientCredentialsGrantsOnlyTheScopesListedForTheWorkload) {
  crypto::Certificate a = Svid("/svc/a");
  auto granted = ClientCredentials(a, {{"scope", "orders:list orders:read"}});
  ASSERT_TRUE(granted.ok()) << granted.status();
  EXPECT_EQ((*granted)["scope"], "orders:list orders:read");
  // The attack: a workload asks for a scope mesh.yaml does not list for it.
  auto wider = ClientCredentials(a, {{"scope", "orders:read orders:write"}});
  EXPECT_EQ(OAuthErrorCode(wider.status()), "invalid_scope");
  EXPECT_NE(wider.status().message().find("'orders:write'"), std::string::npos) << wider.status();
  // Another workload, listed nowhere, gets no scope at all, not even a's.
  crypto::Certificate b = Svid("/svc/b");
  EXPECT_EQ(OAuthErrorCode(ClientCredentials(b, {{"scope", "orders:read"}}).status()),
            "invalid_scope");
  auto plain = ClientCredentials(b);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->contains("scope"));
}

TEST_F(OAuthServiceTest, WorkloadAccessTokensAreNotExchangedAsUserTokens) {
  crypto::Certificate gateway = Svid("/gateway");
  // The attack: the gateway presents a workload's own access token (issuer self, at+jwt, a
  // SPIFFE ID as sub, cnf) as the user's subject token.
  auto workload = Exchange(AccessToken(Svid("/svc/a")), gateway);
  EXPECT_EQ(OAuthErrorCode(workload.status()), "invalid_grant");
  EXPECT_NE(workload.status().message().find("names a workload"), std::string::npos)
      << workload.status();
  // The same marks on an external issuer's tokens are refused too.
  const std::pair<json, const char*> cases[] = {
      {{{"sub", "spiffe://example.org/svc/a"}}, "names a workload"},
      {{{"sub", "SPIFFE://example.org/svc/a"}}, "names a workload"},
      {{{"cnf", {{"jkt", "abc"}}}}, "cnf"},
      {{{"sub", "svc-robot"}, {"client_id", "svc-robot"}}, "client_id == sub"},
  };
  for (const auto& [claims, text] : cases) {
    auto answer = Exchange(UserToken(claims), gateway);
    EXPECT_EQ(OAuthErrorCode(answer.status()), "invalid_grant") << claims.dump();
    EXPECT_NE(answer.status().message().find(text), std::string::npos) << answer.status();
  }
  // A user's token from a client (RFC 9068 client_id of the app the user signed in to) passes.
  auto user = Exchange(UserToken({{"client_id", "rental-web"}}), gateway);
  ASSERT_TRUE(user.ok()) << user.status();
}

TEST_F(OAuthServiceTest, IntrospectionAnswersOnlyThoseEntitledToTheToken) {
  crypto::Certificate owner = Svid("/svc/a");
  crypto::Certificate payments = Svid("/svc/payments");
  crypto::Certificate stranger = Svid("/svc/stranger");
  std::string token = ClientCredentials(owner, {{"audience", "spiffe://example.org/svc/payments"}})
                          .value()["access_token"]
                          .get<std::string>();
  EXPECT_TRUE(Active(token, owner)) << "a token for another audience is still this authority's";
  EXPECT_TRUE(Active(token, payments));
  EXPECT_TRUE(Active(token, Svid("/admin/root")));
  // The attack: a workload that is neither the client nor the audience probes the token.
  EXPECT_EQ(oauth_->Introspect({{"token", token}}, stranger).value(), json({{"active", false}}));
  // A token for the whole trust domain is meant for every workload in it.
  EXPECT_TRUE(Active(AccessToken(owner), stranger));
}

TEST_F(OAuthServiceTest, ATokenForAnotherAudienceCanBeRevoked) {
  crypto::Certificate owner = Svid("/svc/a");
  crypto::Certificate payments = Svid("/svc/payments");
  std::string token = ClientCredentials(owner, {{"audience", "spiffe://example.org/svc/payments"}})
                          .value()["access_token"]
                          .get<std::string>();
  EXPECT_EQ(OAuthErrorCode(oauth_->Revoke({{"token", token}}, payments)), "unauthorized_client");
  EXPECT_TRUE(Active(token, payments));
  ASSERT_TRUE(oauth_->Revoke({{"token", token}}, owner).ok());
  EXPECT_FALSE(Active(token, payments));
  EXPECT_FALSE(Active(token, owner));
}

// Attacks: the delegated key signs a user access token to exchange (the authority's own issuer
// is a subject issuer here) and a transaction token to introspect; both are refused.
TEST_F(OAuthServiceTest, ADelegatedKeyIsRefusedForSubjectTokensAndIntrospection) {
  auto key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  auto grant =
      keys_->RegisterDelegated(identity::SpiffeId::Parse("spiffe://example.org/gateway").value(),
                               crypto::JwkToJson(crypto::JwkForKey(key.Public()).value()).value());
  ASSERT_TRUE(grant.ok());
  long long now = core::ToUnixSeconds(clock_.Now());
  std::string access = crypto::SignJwt({{"typ", "at+jwt"}},
                                       {{"iss", kIssuer},
                                        {"aud", "spiffe://example.org"},
                                        {"sub", "spiffe://example.org/gateway"},
                                        {"client_id", "spiffe://example.org/gateway"},
                                        {"iat", now},
                                        {"exp", now + 300}},
                                       key, grant->kid)
                           .value();
  crypto::Certificate gateway = Svid("/gateway");
  auto exchanged = oauth_->Token({{"grant_type", std::string(kGrantTokenExchange)},
                                  {"requested_token_type", std::string(tokens::kTxnTokenTypeUri)},
                                  {"subject_token", access},
                                  {"subject_token_type", std::string(kTokenTypeAccessToken)}},
                                 gateway);
  EXPECT_EQ(OAuthErrorCode(exchanged.status()), "invalid_grant");
  EXPECT_NE(exchanged.status().message().find("delegated"), std::string::npos)
      << exchanged.status();
  EXPECT_FALSE(oauth_->Introspect({{"token", access}}, gateway).value()["active"].get<bool>());

  tokens::TxnTokenClaims txn;
  txn.issuer = kIssuer;
  txn.audience = "spiffe://example.org";
  txn.txn = "dHhu";
  txn.subject = "user-1";
  txn.subject_issuer = "local";
  txn.requesting_workload = "spiffe://example.org/gateway";
  txn.issued_at = clock_.Now();
  txn.expires_at = clock_.Now() + seconds(60);
  std::string minted = tokens::SignTransactionToken(txn, key, grant->kid).value();
  EXPECT_TRUE(tokens::VerifyTransactionToken(minted, *keys_->Published(), "example.org", kIssuer,
                                             clock_.Now())
                  .ok())
      << "the one use the key has";
  EXPECT_FALSE(oauth_->Introspect({{"token", minted}}, gateway).value()["active"].get<bool>());
}

}  // namespace
}  // namespace bulwark::authority::oauth
