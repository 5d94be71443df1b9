#include "proxy/bearer_auth.h"

#include <gtest/gtest.h>

#include "crypto/jwt.h"

namespace bulwark::proxy {
namespace {

using nlohmann::json;

constexpr const char* kPartner = "https://partner.example";

class BearerAuthTest : public ::testing::Test {
 protected:
  BearerAuthTest() {
    mesh_.trust_domain = "example.org";
    mesh::IssuerConfig partner;
    partner.name = "partner";
    partner.issuer = kPartner;
    partner.jwks = "file:unused.json";
    partner.audiences = {"api://dvd"};
    mesh_.gateway.emplace().issuers = {partner};
    keys_ = std::make_shared<const tokens::IssuerKeys>(tokens::IssuerKeys{
        kPartner, crypto::Jwks::FromKeys({crypto::JwkForKey(key_.Public()).value()}).value()});
    tokens::IssuerKeySource source{[this] {
                                     ++key_lookups_;
                                     return keys_;
                                   },
                                   {}};
    auth_ = std::move(BearerAuthenticator::Create(
                          mesh_, {tokens::TrustedIssuerFromConfig(partner, "example.org", source)})
                          .value());
  }
  std::string Token(json extra = json::object()) {
    json claims = {{"iss", kPartner},
                   {"aud", "api://dvd"},
                   {"sub", "alice"},
                   {"exp", core::ToUnixSeconds(now_) + 60}};
    claims.update(extra);
    return crypto::SignJwt(json::object(), claims, key_,
                           crypto::JwkThumbprint(key_.Public()).value())
        .value();
  }
  http::Request With(std::vector<std::string> authorization) {
    http::Request request;
    request.method = "GET";
    request.target = "/users/alice";
    for (const std::string& value : authorization) {
      request.headers.Add("Authorization", value);
    }
    return request;
  }
  void ExpectRefused(const http::Request& request, const std::string& reason) {
    auto subject = auth_->Authenticate(request, now_);
    ASSERT_FALSE(subject.ok()) << subject->subject;
    EXPECT_TRUE(absl::IsUnauthenticated(subject.status()));
    EXPECT_NE(subject.status().message().find(reason), std::string::npos) << subject.status();
  }

  mesh::MeshConfig mesh_;
  core::TimePoint now_ = core::FromUnixSeconds(1'800'000'000);
  crypto::PrivateKey key_ = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  std::shared_ptr<const tokens::IssuerKeys> keys_;
  int key_lookups_ = 0;
  std::unique_ptr<BearerAuthenticator> auth_;
};

TEST_F(BearerAuthTest, AuthenticatesAndCachesUntilExp) {
  std::string token = Token({{"scp", json::array({"rentals:read"})}});
  for (const char* scheme : {"Bearer ", "bearer ", "BEARER   "}) {
    auto subject = auth_->Authenticate(With({scheme + token}), now_);
    ASSERT_TRUE(subject.ok()) << scheme << subject.status();
    EXPECT_EQ(subject->issuer, "partner");
    EXPECT_EQ(subject->subject, "partner:alice");
    EXPECT_EQ(subject->scope, std::vector<std::string>{"rentals:read"});
  }
  EXPECT_EQ(key_lookups_, 1) << "the second and third were cache hits";
  EXPECT_EQ(auth_->cached(), 1u);
  // Past exp the cached entry is no use: verified again, and refused as expired.
  auto later = auth_->Authenticate(With({"Bearer " + token}), now_ + core::Seconds(120));
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.status().message().find("expired"), std::string::npos) << later.status();
}

TEST_F(BearerAuthTest, RefusesBadAuthorizationHeaders) {
  std::string token = Token();
  ExpectRefused(With({}), "no Authorization header");
  ExpectRefused(With({"Bearer " + token, "Bearer " + token}), "2 Authorization headers");
  ExpectRefused(With({"Basic YWxpY2U6c2VjcmV0"}), "is not 'Bearer <token>'");
  ExpectRefused(With({"Bearer"}), "is not 'Bearer <token>'");
  ExpectRefused(With({"Bearer    "}), "no token after 'Bearer'");
  ExpectRefused(With({"Bearertoken"}), "is not 'Bearer <token>'");
  ExpectRefused(With({"Bearer " + token + " extra"}), "characters a bearer token cannot have");
  ExpectRefused(With({"Bearer " + std::string(kMaxBearerTokenBytes + 1, 'a')}),
                "at most 8192 are allowed");
}

TEST_F(BearerAuthTest, RefusesTokensTheIssuerDidNotVouchFor) {
  ExpectRefused(With({"Bearer " + Token({{"iss", "https://evil.example"}})}),
                "is not one of gateway.issuers");
  ExpectRefused(With({"Bearer " + Token({{"aud", "api://other"}})}), "aud");
  crypto::PrivateKey stranger = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  std::string forged = crypto::SignJwt(json::object(),
                                       {{"iss", kPartner},
                                        {"aud", "api://dvd"},
                                        {"sub", "admin"},
                                        {"exp", core::ToUnixSeconds(now_) + 60}},
                                       stranger, crypto::JwkThumbprint(key_.Public()).value())
                           .value();
  ExpectRefused(With({"Bearer " + forged}), "signature");
  EXPECT_EQ(auth_->cached(), 0u) << "failures are never cached";
}

TEST_F(BearerAuthTest, CreateNeedsAKeySourcePerIssuer) {
  EXPECT_TRUE(absl::IsInvalidArgument(BearerAuthenticator::Create(mesh_, {}).status()));
  mesh::MeshConfig no_gateway;
  EXPECT_TRUE(absl::IsFailedPrecondition(BearerAuthenticator::Create(no_gateway, {}).status()));
}

}  // namespace
}  // namespace bulwark::proxy
