#include "tokens/user_token.h"

#include <gtest/gtest.h>

#include "crypto/jws.h"
#include "crypto/jwt.h"

namespace bulwark::tokens {
namespace {

using nlohmann::json;

constexpr const char* kPartner = "https://partner.example";
constexpr const char* kAuthority = "https://authority.example.org:7443";

// Two issuers: the authority ("local", self) and a partner IdP, each with its own key.
// Public: the attack table's lambdas take the fixture.
class UserTokenTest : public ::testing::Test {
 public:
  UserTokenTest() {
    mesh::IssuerConfig local;
    local.name = "local";
    local.issuer = "self";
    mesh::IssuerConfig partner;
    partner.name = "partner";
    partner.issuer = kPartner;
    partner.audiences = {"api://dvd", "api://other"};
    partner.algorithms = {"ES256", "EdDSA"};
    issuers_ = {TrustedIssuerFromConfig(local, "example.org", Fixed(kAuthority, local_key_)),
                TrustedIssuerFromConfig(partner, "example.org", Fixed(kPartner, partner_key_))};
    issuers_[1].keys.unknown_kid = [this] { ++unknown_kids_; };
  }
  IssuerKeySource Fixed(const char* issuer, const crypto::PrivateKey& key) {
    auto keys = std::make_shared<const IssuerKeys>(IssuerKeys{
        issuer, crypto::Jwks::FromKeys({crypto::JwkForKey(key.Public()).value()}).value()});
    return {[keys] { return keys; }, {}};
  }
  json PartnerClaims(json extra = json::object()) {
    json c = {{"iss", kPartner},
              {"aud", "api://dvd"},
              {"sub", "alice"},
              {"exp", core::ToUnixSeconds(now_) + 300},
              {"scope", "rentals:read rentals:charge"}};
    c.update(extra);
    return c;
  }
  json LocalClaims() {
    return {{"iss", kAuthority},
            {"aud", "spiffe://example.org"},
            {"sub", "alice"},
            {"exp", core::ToUnixSeconds(now_) + 300}};
  }
  std::string Sign(const json& claims, const crypto::PrivateKey& key, json header = json::object(),
                   std::string kid = "") {
    if (kid.empty()) {
      kid = crypto::JwkThumbprint(key.Public()).value();
    }
    return crypto::SignJwt(header, claims, key, kid).value();
  }
  absl::StatusOr<VerifiedUserToken> Verify(const std::string& token) {
    return VerifyUserToken(token, issuers_, now_);
  }

  core::TimePoint now_ = core::FromUnixSeconds(1'800'000'000);
  crypto::PrivateKey local_key_ = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  crypto::PrivateKey partner_key_ = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  std::vector<TrustedIssuer> issuers_;
  int unknown_kids_ = 0;
};

TEST_F(UserTokenTest, AForeignUserNeverPassesForALocalOneOfTheSameName) {
  auto partner = Verify(Sign(PartnerClaims(), partner_key_));
  ASSERT_TRUE(partner.ok()) << partner.status();
  EXPECT_EQ(partner->subject.issuer, "partner");
  EXPECT_EQ(partner->subject.subject, "partner:alice");
  EXPECT_EQ(partner->subject.scope, (std::vector<std::string>{"rentals:read", "rentals:charge"}));
  EXPECT_FALSE(partner->self);
  EXPECT_EQ(partner->expires_at, now_ + core::Seconds(300));

  auto local = Verify(Sign(LocalClaims(), local_key_, {{"typ", "at+jwt"}}));
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(local->subject.issuer, "local");
  EXPECT_EQ(local->subject.subject, "alice");
  EXPECT_TRUE(local->self);
  EXPECT_NE(local->subject.subject, partner->subject.subject);
}

TEST_F(UserTokenTest, AcceptsAnyConfiguredAudienceAndScpArrays) {
  auto token =
      Verify(Sign(PartnerClaims({{"aud", json::array({"api://x", "api://other"})}}), partner_key_));
  ASSERT_TRUE(token.ok()) << token.status();
  json claims = PartnerClaims();
  claims.erase("scope");
  claims["scp"] = json::array({"a", "b"});
  token = Verify(Sign(claims, partner_key_));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->subject.scope, (std::vector<std::string>{"a", "b"}));
  claims.erase("scp");
  token = Verify(Sign(claims, partner_key_));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_TRUE(token->subject.scope.empty());
}

TEST_F(UserTokenTest, ExternalTypesMayBeAbsentJwtOrAccessToken) {
  for (const char* typ : {"JWT", "at+jwt", "application/at+jwt"}) {
    EXPECT_TRUE(Verify(Sign(PartnerClaims(), partner_key_, {{"typ", typ}})).ok()) << typ;
  }
  // SignJwt writes typ JWT by default; without one at all:
  std::string no_typ = crypto::SignJws(json::object(), PartnerClaims().dump(), partner_key_,
                                       crypto::JwkThumbprint(partner_key_.Public()).value())
                           .value();
  EXPECT_TRUE(Verify(no_typ).ok());
}

struct Attack {
  const char* name;
  std::function<std::string(UserTokenTest&)> token;
  const char* reason;
};

class UserTokenRefuses : public UserTokenTest, public ::testing::WithParamInterface<Attack> {};

TEST_P(UserTokenRefuses, AnAttack) {
  auto verified = Verify(GetParam().token(*this));
  ASSERT_FALSE(verified.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(verified.status()));
  EXPECT_NE(verified.status().message().find(GetParam().reason), std::string::npos)
      << verified.status();
}

INSTANTIATE_TEST_SUITE_P(
    All, UserTokenRefuses,
    ::testing::Values(
        Attack{"UnknownIssuer",
               [](UserTokenTest& t) {
                 return t.Sign(t.PartnerClaims({{"iss", "https://evil.example"}}), t.partner_key_);
               },
               "is not one of gateway.issuers"},
        Attack{
            "IssuerWithTrailingSlash",
            [](UserTokenTest& t) {
              return t.Sign(t.PartnerClaims({{"iss", "https://partner.example/"}}), t.partner_key_);
            },
            "is not one of gateway.issuers"},
        // The partner signs a token that claims to come from the authority.
        Attack{"PartnerKeyForSelf",
               [](UserTokenTest& t) {
                 return t.Sign(t.LocalClaims(), t.partner_key_, {{"typ", "at+jwt"}});
               },
               "is not in the key set"},
        Attack{"WrongAudience",
               [](UserTokenTest& t) {
                 return t.Sign(t.PartnerClaims({{"aud", "api://x"}}), t.partner_key_);
               },
               "aud"},
        Attack{"SelfWithTheTrustDomainOfAnother",
               [](UserTokenTest& t) {
                 json c = t.LocalClaims();
                 c["aud"] = "spiffe://other.org";
                 return t.Sign(c, t.local_key_, {{"typ", "at+jwt"}});
               },
               "aud"},
        Attack{"SelfWithoutAtJwt",
               [](UserTokenTest& t) { return t.Sign(t.LocalClaims(), t.local_key_); }, "typ"},
        Attack{"SelfTransactionToken",
               [](UserTokenTest& t) {
                 return t.Sign(t.LocalClaims(), t.local_key_, {{"typ", "txntoken+jwt"}});
               },
               "typ"},
        Attack{"ExternalTransactionTokenType",
               [](UserTokenTest& t) {
                 return t.Sign(t.PartnerClaims(), t.partner_key_, {{"typ", "txntoken+jwt"}});
               },
               "is not an access token's"},
        Attack{"ExternalIdTokenType",
               [](UserTokenTest& t) {
                 return t.Sign(t.PartnerClaims(), t.partner_key_, {{"typ", "id_token+jwt"}});
               },
               "is not an access token's"},
        Attack{"AlgorithmNotAllowed",
               [](UserTokenTest& t) {
                 // The self issuer allows ES256 only: an Ed25519 key in its set still fails.
                 auto ed = crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value();
                 auto keys = std::make_shared<const IssuerKeys>(IssuerKeys{
                     kAuthority,
                     crypto::Jwks::FromKeys({crypto::JwkForKey(ed.Public()).value()}).value()});
                 t.issuers_[0].keys.current = [keys] { return keys; };
                 return t.Sign(t.LocalClaims(), ed, {{"typ", "at+jwt"}});
               },
               "algorithm EdDSA is not allowed for issuer 'local'"},
        Attack{"Expired",
               [](UserTokenTest& t) {
                 return t.Sign(t.PartnerClaims({{"exp", core::ToUnixSeconds(t.now_) - 120}}),
                               t.partner_key_);
               },
               "expired"},
        Attack{"NoSub",
               [](UserTokenTest& t) {
                 json c = t.PartnerClaims();
                 c.erase("sub");
                 return t.Sign(c, t.partner_key_);
               },
               "'sub'"},
        Attack{"BadScope",
               [](UserTokenTest& t) {
                 return t.Sign(t.PartnerClaims({{"scope", "a  b"}}), t.partner_key_);
               },
               "claim 'scope'"},
        Attack{"ScpWithASpace",
               [](UserTokenTest& t) {
                 json c = t.PartnerClaims();
                 c.erase("scope");
                 c["scp"] = json::array({"a b"});
                 return t.Sign(c, t.partner_key_);
               },
               "claim 'scp'"},
        Attack{"ScpNotAnArray",
               [](UserTokenTest& t) {
                 json c = t.PartnerClaims();
                 c.erase("scope");
                 c["scp"] = "a";
                 return t.Sign(c, t.partner_key_);
               },
               "claim 'scp'"},
        Attack{"AlgNone",
               [](UserTokenTest& t) {
                 std::string signed_token = t.Sign(t.PartnerClaims(), t.partner_key_);
                 std::string payload = signed_token.substr(signed_token.find('.') + 1);
                 payload = payload.substr(0, payload.find('.'));
                 return crypto::Base64UrlEncode(crypto::ToBytes(R"({"alg":"none"})")) + "." +
                        payload + ".";
               },
               "none"},
        Attack{"Garbage", [](UserTokenTest&) { return std::string("not-a-jwt"); },
               "not a compact JWS"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(UserTokenTest, AnUnknownKidAsksTheIssuerForARefetch) {
  crypto::PrivateKey next = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  auto verified = Verify(Sign(PartnerClaims(), next));
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(unknown_kids_, 1);
  EXPECT_FALSE(Verify(Sign(PartnerClaims({{"aud", "api://x"}}), partner_key_)).ok());
  EXPECT_EQ(unknown_kids_, 1) << "only an unknown kid asks for a refetch";
}

TEST_F(UserTokenTest, KeysNotFetchedYetAreAClearRefusal) {
  issuers_[1].keys.current = [] { return std::shared_ptr<const IssuerKeys>(); };
  auto verified = Verify(Sign(PartnerClaims(), partner_key_));
  ASSERT_FALSE(verified.ok());
  EXPECT_NE(verified.status().message().find("keys of issuer 'partner' were not fetched yet"),
            std::string::npos)
      << verified.status();
  // Without keys the self issuer has no issuer identifier: nothing matches.
  issuers_[0].keys.current = nullptr;
  EXPECT_FALSE(Verify(Sign(LocalClaims(), local_key_, {{"typ", "at+jwt"}})).ok());
}

}  // namespace
}  // namespace bulwark::tokens
