#include "crypto/jwt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/status.h"
#include "crypto/jws.h"

namespace bulwark::crypto {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr long long kNow = 1'700'000'000;

class JwtTest : public ::testing::Test {
 protected:
  JwtTest()
      : key_(*PrivateKey::Generate(KeyType::kP256)),
        jwk_(*JwkForKey(key_.Public())),
        keys_(*Jwks::FromKeys({jwk_})) {
    expect_.issuer = "https://authority.bulwark.test";
    expect_.audience = "api://orders";
  }

  json Claims() const {
    return {{"iss", expect_.issuer}, {"aud", expect_.audience}, {"sub", "user-1"},
            {"iat", kNow - 10},      {"nbf", kNow - 10},        {"exp", kNow + 300}};
  }
  json ClaimsWith(const std::string& name, json value) const {
    json c = Claims();
    c[name] = std::move(value);
    return c;
  }
  json ClaimsWithout(const std::string& name) const {
    json c = Claims();
    c.erase(name);
    return c;
  }
  std::string Sign(const json& claims, const json& header = json::object()) const {
    return *SignJwt(header, claims, key_, jwk_.kid);
  }
  absl::StatusOr<VerifiedJwt> Verify(const std::string& token, long long now = kNow) const {
    return VerifyJwt(token, keys_, expect_, core::FromUnixSeconds(now));
  }

  PrivateKey key_;
  Jwk jwk_;
  Jwks keys_;
  JwtExpectations expect_;
};

TEST_F(JwtTest, SignsAndVerifies) {
  for (KeyType type : {KeyType::kP256, KeyType::kEd25519}) {
    PrivateKey key = *PrivateKey::Generate(type);
    Jwk jwk = *JwkForKey(key.Public());
    std::string token = *SignJwt(json{{"typ", "at+jwt"}}, Claims(), key, jwk.kid);
    expect_.typ = "at+jwt";
    absl::StatusOr<VerifiedJwt> verified =
        VerifyJwt(token, *Jwks::FromKeys({jwk}), expect_, core::FromUnixSeconds(kNow));
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->claims, Claims());
    EXPECT_EQ(verified->kid, jwk.kid);
    EXPECT_EQ(verified->header["typ"], "at+jwt");
    EXPECT_EQ(verified->header["alg"], JwsAlgorithmName(jwk.alg));
  }
}

TEST_F(JwtTest, DefaultsTypToJwt) {
  absl::StatusOr<VerifiedJwt> verified = Verify(Sign(Claims()));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->header["typ"], "JWT");
}

TEST_F(JwtTest, AcceptsTimesWithinTheSkewAndAudienceArrays) {
  EXPECT_TRUE(Verify(Sign(ClaimsWith("exp", kNow - 59))).ok());
  EXPECT_TRUE(Verify(Sign(ClaimsWith("nbf", kNow + 59))).ok());
  EXPECT_TRUE(Verify(Sign(ClaimsWith("iat", kNow + 59))).ok());
  EXPECT_TRUE(Verify(Sign(ClaimsWith("exp", kNow + 0.5))).ok());
  EXPECT_TRUE(Verify(Sign(ClaimsWith("aud", {"other", expect_.audience}))).ok());
  EXPECT_TRUE(Verify(Sign(ClaimsWithout("nbf"))).ok());
  EXPECT_TRUE(Verify(Sign(ClaimsWithout("iat"))).ok());
  expect_.skew = core::Seconds(0);
  EXPECT_FALSE(Verify(Sign(ClaimsWith("exp", kNow))).ok());
  EXPECT_TRUE(Verify(Sign(ClaimsWith("exp", kNow + 1))).ok());
}

TEST_F(JwtTest, ComparesTypLikeRfc8725) {
  EXPECT_TRUE(JoseTypeEquals("at+jwt", "application/at+jwt"));
  EXPECT_TRUE(JoseTypeEquals("Application/AT+JWT", "at+jwt"));
  EXPECT_TRUE(JoseTypeEquals("txn+jwt", "TXN+JWT"));
  EXPECT_FALSE(JoseTypeEquals("jwt", "at+jwt"));
  EXPECT_FALSE(JoseTypeEquals("application/", "at+jwt"));
  expect_.typ = "txn+jwt";
  EXPECT_TRUE(Verify(Sign(Claims(), json{{"typ", "application/TXN+JWT"}})).ok());
}

struct Refusal {
  std::string name;
  std::string token;
  std::string reason;
};

TEST_F(JwtTest, RefusesEveryBadToken) {
  const std::string kid = jwk_.kid;
  std::vector<Refusal> cases = {
      {"expired", Sign(ClaimsWith("exp", kNow - 61)), "JWT expired: exp 1699999939"},
      {"expired at skew", Sign(ClaimsWith("exp", kNow - 60)), "JWT expired"},
      {"nbf beyond skew", Sign(ClaimsWith("nbf", kNow + 61)), "JWT not yet valid: nbf 1700000061"},
      {"iat in future", Sign(ClaimsWith("iat", kNow + 3600)), "JWT issued in the future"},
      {"missing exp", Sign(ClaimsWithout("exp")), "JWT claim 'exp' is required"},
      {"exp string", Sign(ClaimsWith("exp", std::to_string(kNow + 300))),
       "claim 'exp' must be a NumericDate"},
      {"exp bool", Sign(ClaimsWith("exp", true)), "claim 'exp' must be a NumericDate"},
      {"nbf string", Sign(ClaimsWith("nbf", "0")), "claim 'nbf' must be a NumericDate"},
      {"wrong iss", Sign(ClaimsWith("iss", "https://evil.test")),
       "JWT issuer 'https://evil.test' is not the expected 'https://authority.bulwark.test'"},
      {"iss prefix", Sign(ClaimsWith("iss", expect_.issuer + "/")), "is not the expected"},
      {"missing iss", Sign(ClaimsWithout("iss")), "claim 'iss' is missing or not a string"},
      {"iss array", Sign(ClaimsWith("iss", {expect_.issuer})), "claim 'iss' is missing or not"},
      {"wrong aud", Sign(ClaimsWith("aud", "api://payments")),
       "JWT audience does not include 'api://orders'"},
      {"aud array without", Sign(ClaimsWith("aud", {"a", "b"})), "audience does not include"},
      {"aud array non-string", Sign(ClaimsWith("aud", {expect_.audience, 1})),
       "'aud' array must hold only strings"},
      {"aud number", Sign(ClaimsWith("aud", 3)), "'aud' must be a string or an array"},
      {"missing aud", Sign(ClaimsWithout("aud")), "claim 'aud' is required"},
      {"claims array", *SignJws(json::object(), "[1]", key_, kid), "claims are not a JSON object"},
      {"claims not json", *SignJws(json::object(), "exp=1", key_, kid),
       "claims are not strict JSON"},
      {"duplicate claim", *SignJws(json::object(), "{\"exp\":1,\"exp\":99999999999}", key_, kid),
       "claims are not strict JSON"},
      {"oversized", Sign(ClaimsWith("pad", std::string(20000, 'p'))), "over the limit of 16384"},
      {"alg none", "eyJhbGciOiJub25lIn0." + Base64UrlEncode(ToBytes(Claims().dump())) + ".",
       "JWS alg 'none' does not match the key's algorithm 'ES256'"},
  };
  for (const Refusal& c : cases) {
    absl::StatusOr<VerifiedJwt> verified = Verify(c.token);
    ASSERT_FALSE(verified.ok()) << c.name;
    EXPECT_EQ(verified.status().code(), absl::StatusCode::kUnauthenticated) << c.name;
    EXPECT_THAT(std::string(verified.status().message()), HasSubstr(c.reason)) << c.name;
  }
}

TEST_F(JwtTest, RefusesAMissingOrDifferentTyp) {
  expect_.typ = "at+jwt";
  EXPECT_THAT(std::string(Verify(Sign(Claims())).status().message()),
              HasSubstr("JWT header typ 'JWT' is not the expected 'at+jwt'"));
  EXPECT_THAT(std::string(Verify(Sign(Claims(), json{{"typ", "txn+jwt"}})).status().message()),
              HasSubstr("typ 'txn+jwt' is not the expected 'at+jwt'"));
  EXPECT_THAT(std::string(Verify(Sign(Claims(), json{{"typ", 1}})).status().message()),
              HasSubstr("header 'typ' is missing or not a string"));
}

TEST_F(JwtTest, RefusesIncompleteExpectationsAndBadSigningInput) {
  JwtExpectations none;
  absl::StatusOr<VerifiedJwt> v =
      VerifyJwt(Sign(Claims()), keys_, none, core::FromUnixSeconds(kNow));
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(SignJwt(json::object(), json::array(), key_, "k").ok());
  EXPECT_FALSE(SignJwt(json::array(), Claims(), key_, "k").ok());
  EXPECT_FALSE(SignJwt(json{{"alg", "none"}}, Claims(), key_, "k").ok());
  EXPECT_FALSE(SignJwt(json{{"jku", "https://x"}}, Claims(), key_, "k").ok());
  EXPECT_FALSE(SignJwt(json::object(), json{{"sub", "\xc3"}}, key_, "k").ok());
}

}  // namespace
}  // namespace bulwark::crypto
