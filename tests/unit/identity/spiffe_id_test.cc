#include "identity/spiffe_id.h"

#include <gtest/gtest.h>

namespace bulwark::identity {
namespace {

TEST(SpiffeIdTest, ParsesValidIds) {
  auto id = SpiffeId::Parse("spiffe://dvd.example/svc/contract");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->trust_domain(), "dvd.example");
  EXPECT_EQ(id->path(), "/svc/contract");
  EXPECT_FALSE(id->IsAdmin());
  EXPECT_TRUE(SpiffeId::Parse("spiffe://td/admin/alice")->IsAdmin());
  EXPECT_TRUE(SpiffeId::Parse("spiffe://a-b_c.d/A.b-c_d/1").ok());
}

TEST(SpiffeIdTest, RefusesInvalidIds) {
  const char* bad[] = {
      "http://td/svc",         // scheme
      "spiffe://td",           // no path
      "spiffe://td/",          // empty path segment
      "spiffe://td/svc/",      // trailing slash
      "spiffe://td//svc",      // empty segment
      "spiffe://td/svc/../x",  // dot segment
      "spiffe://td/./x",       // dot segment
      "spiffe://TD/svc",       // uppercase trust domain
      "spiffe://td:8080/svc",  // port
      "spiffe://user@td/svc",  // userinfo
      "spiffe://td/svc%2Fx",   // percent-encoding
      "spiffe://td/svc?x=1",   // query
      "spiffe:///svc",         // empty trust domain
      "spiffe://td/sv c",      // space
  };
  for (const char* text : bad) {
    EXPECT_FALSE(SpiffeId::Parse(text).ok()) << text;
  }
  EXPECT_FALSE(SpiffeId::Parse("spiffe://td/" + std::string(2100, 'a')).ok());
}

TEST(SpiffeIdTest, BuildsFromParts) {
  auto id = SpiffeId::FromParts("td", "/svc/x");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->str(), "spiffe://td/svc/x");
  EXPECT_FALSE(SpiffeId::FromParts("td", "svc").ok());
  EXPECT_EQ(TrustDomainId("td"), "spiffe://td");
}

TEST(SpiffeIdTest, ValidatesTrustDomains) {
  EXPECT_TRUE(ValidateTrustDomain("dvd.example").ok());
  EXPECT_FALSE(ValidateTrustDomain("").ok());
  EXPECT_FALSE(ValidateTrustDomain("Dvd.example").ok());
  EXPECT_FALSE(ValidateTrustDomain("dvd example").ok());
  EXPECT_FALSE(ValidateTrustDomain(std::string(256, 'a')).ok());
}

}  // namespace
}  // namespace bulwark::identity
