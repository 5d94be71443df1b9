// Tests of absolute URL parsing for bulwark's clients.
#include "http/url.h"

#include "gtest/gtest.h"

namespace bulwark::http {
namespace {

TEST(UrlTest, ParsesHttpsWithPortPathAndQuery) {
  absl::StatusOr<Url> u = ParseUrl("https://Authority.Example.org:7443/v1/sign?x=1&y=2");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "authority.example.org");
  EXPECT_EQ(u->port, 7443);
  EXPECT_EQ(u->target, "/v1/sign?x=1&y=2");
}

TEST(UrlTest, DefaultsPortAndTarget) {
  absl::StatusOr<Url> u = ParseUrl("https://localhost");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/");
  u = ParseUrl("HTTP://127.0.0.1?q=1");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/?q=1");
}

TEST(UrlTest, ParsesBracketedIpv6) {
  absl::StatusOr<Url> u = ParseUrl("https://[::1]:8443/x");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8443);
  u = ParseUrl("https://[fe80::1]");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "fe80::1");
  EXPECT_EQ(u->port, 443);
}

class UrlRefusedTest : public ::testing::TestWithParam<const char*> {};

TEST_P(UrlRefusedTest, IsInvalidArgument) {
  absl::StatusOr<Url> u = ParseUrl(GetParam());
  ASSERT_FALSE(u.ok()) << GetParam();
  EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(u.status().message()).find(GetParam()), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(UrlBad, UrlRefusedTest,
                         ::testing::Values("localhost/x", "ftp://h/", "https://user:pw@h/",
                                           "https://h/#frag", "https://h:0/", "https://h:65536/",
                                           "https://h:/", "https://h:12a/", "https:///x",
                                           "https://h h/", "https://[::1/", "https://[zz::1]/",
                                           "https://[::1]x/", "https://h/a b", "https://h/\x01"));

}  // namespace
}  // namespace bulwark::http
