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

TEST(SpiffeIdTest, NamesMeshWorkloads) {
  EXPECT_EQ(ServiceId("example.org", "b"), "spiffe://example.org/svc/b");
  EXPECT_EQ(GatewayId("example.org"), "spiffe://example.org/gateway");
}

TEST(SpiffeIdPatternTest, MatchesExactOneSegmentAndAnySegments) {
  struct Case {
    const char* pattern;
    const char* id;
    bool matches;
  };
  const Case cases[] = {
      {"spiffe://td/svc/a", "spiffe://td/svc/a", true},
      {"spiffe://td/svc/a", "spiffe://td/svc/ab", false},
      {"spiffe://td/svc/a", "spiffe://td/svc/a/b", false},
      {"spiffe://td/svc/*", "spiffe://td/svc/a", true},
      {"spiffe://td/svc/*", "spiffe://td/svc/a/b", false},
      {"spiffe://td/svc/*", "spiffe://td/svc", false},
      {"spiffe://td/svc/*", "spiffe://td/svcx/a", false},
      {"spiffe://td/svc/*", "spiffe://other/svc/a", false},
      {"spiffe://td/svc/**", "spiffe://td/svc/a", true},
      {"spiffe://td/svc/**", "spiffe://td/svc/a/b/c", true},
      {"spiffe://td/svc/**", "spiffe://td/svc", false},
      {"spiffe://td/svc/**", "spiffe://td/svcx/a", false},
      {"spiffe://td/**", "spiffe://td/gateway", true},
      {"spiffe://td/**", "spiffe://tdx/gateway", false},
      {"spiffe://td/*", "spiffe://td/gateway", true},
      {"spiffe://td/*", "spiffe://td/svc/a", false},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SpiffeIdPattern> pattern = SpiffeIdPattern::Parse(c.pattern);
    ASSERT_TRUE(pattern.ok()) << c.pattern << ": " << pattern.status();
    EXPECT_EQ(pattern->Matches(c.id), c.matches) << c.pattern << " vs " << c.id;
  }
  EXPECT_EQ(SpiffeIdPattern::Parse("spiffe://td/svc/*")->prefix(), "spiffe://td/svc");
  EXPECT_EQ(SpiffeIdPattern::Parse("spiffe://td/svc/a")->kind(), SpiffeIdPattern::Kind::kExact);
}

TEST(SpiffeIdPatternTest, RefusesMalformedPatterns) {
  const char* bad[] = {
      "spiffe://td/svc/a*",    // '*' inside a segment
      "spiffe://td/*/a",       // '*' not last
      "spiffe://td/svc/***",   // three stars
      "spiffe://*/svc",        // wildcard trust domain
      "spiffe://TD/*",         // invalid trust domain
      "spiffe://td/svc/../*",  // dot segment in the prefix
      "spiffe://td",           // no path and no wildcard
      "svc/*",                 // not a SPIFFE ID
      "spiffe://td//*",        // empty segment in the prefix
  };
  for (const char* text : bad) {
    EXPECT_FALSE(SpiffeIdPattern::Parse(text).ok()) << text;
  }
}

}  // namespace
}  // namespace bulwark::identity
