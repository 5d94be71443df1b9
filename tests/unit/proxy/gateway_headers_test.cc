// Tests of the gateway's header rules: cookie attributes, response hardening, traceparent, the
// identity headers a client may not send and the client address behind trusted proxies.
#include "proxy/gateway_headers.h"

#include "gtest/gtest.h"
#include "proxy/gateway.h"

namespace bulwark::proxy {
namespace {

TEST(SecureCookieTest, AddsMissingAttributes) {
  EXPECT_EQ(*SecureCookie("sid=abc"), "sid=abc; Secure; HttpOnly; SameSite=Lax");
  EXPECT_EQ(*SecureCookie("sid=abc; Path=/; Max-Age=60"),
            "sid=abc; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax");
}

TEST(SecureCookieTest, KeepsAttributesAlreadyThereInAnyCase) {
  EXPECT_EQ(*SecureCookie("sid=abc; secure; httponly; samesite=Strict"),
            "sid=abc; secure; httponly; samesite=Strict");
  EXPECT_EQ(*SecureCookie("sid=abc; SameSite=None"), "sid=abc; SameSite=None; Secure; HttpOnly");
}

TEST(SecureCookieTest, HostPrefixNeedsPathSlashAndNoDomain) {
  EXPECT_EQ(*SecureCookie("__Host-sid=1; Path=/"),
            "__Host-sid=1; Path=/; Secure; HttpOnly; "
            "SameSite=Lax");
  for (std::string bad :
       {"__Host-sid=1", "__Host-sid=1; Path=/app", "__Host-sid=1; Path=/; Domain=example.com"}) {
    absl::StatusOr<std::string> cookie = SecureCookie(bad);
    ASSERT_FALSE(cookie.ok()) << bad;
    EXPECT_NE(cookie.status().message().find("__Host-"), std::string::npos);
  }
}

TEST(SecureCookieTest, RefusesACookieWithoutAName) {
  EXPECT_FALSE(SecureCookie("novalue").ok());
  EXPECT_FALSE(SecureCookie("=x; Path=/").ok());
}

TEST(HardenResponseTest, RemovesServerHeadersAddsSecurityHeadersAndFixesCookies) {
  http::Headers headers;
  headers.Add("Server", "nginx/1.22");
  headers.Add("x-powered-by", "PHP/8");
  headers.Add("Set-Cookie", "a=1");
  headers.Add("Set-Cookie", "__Host-b=2; Domain=evil.example; Path=/");
  headers.Add("X-Frame-Options", "ALLOWALL");
  headers.Add("Content-Type", "text/html");
  std::vector<std::string> dropped = HardenResponse(headers);
  EXPECT_EQ(dropped.size(), 1u);
  EXPECT_FALSE(headers.Get("Server").has_value());
  EXPECT_FALSE(headers.Get("X-Powered-By").has_value());
  EXPECT_EQ(headers.Get("Strict-Transport-Security"), "max-age=31536000; includeSubDomains");
  EXPECT_EQ(headers.Get("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(headers.Get("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(headers.Get("X-Frame-Options"), "DENY");
  EXPECT_EQ(headers.Count("X-Frame-Options"), 1u);
  EXPECT_EQ(headers.Count("Set-Cookie"), 1u);
  EXPECT_EQ(headers.Get("Set-Cookie"), "a=1; Secure; HttpOnly; SameSite=Lax");
  EXPECT_EQ(headers.Get("Content-Type"), "text/html");
}

TEST(TraceparentTest, AcceptsValidValues) {
  EXPECT_TRUE(IsValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(IsValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
  // A future version may append fields.
  EXPECT_TRUE(IsValidTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz"));
}

TEST(TraceparentTest, RefusesInvalidValues) {
  for (std::string bad :
       {"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // uppercase
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // v00 is exact
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"}) {
    EXPECT_FALSE(IsValidTraceparent(bad)) << bad;
  }
}

TEST(TraceparentTest, NewValuesAreValidAndDistinct) {
  std::string a = NewTraceparent();
  std::string b = NewTraceparent();
  EXPECT_TRUE(IsValidTraceparent(a)) << a;
  EXPECT_TRUE(IsValidTraceparent(b)) << b;
  EXPECT_NE(a.substr(3, 32), b.substr(3, 32));
  EXPECT_TRUE(a.starts_with("00-"));
}

TEST(RemoveClientIdentityHeadersTest, RemovesEverySpellingOfIdentityAndHopByHop) {
  http::Headers headers;
  headers.Add("Txn-Token", "forged");
  headers.Add("txn_token", "forged");
  headers.Add("X-Bulwark-Peer-Id", "spiffe://x/svc/admin");
  headers.Add("X_Bulwark_Peer_Id", "spiffe://x/svc/admin");
  headers.Add("x-bulwark-peer_id", "spiffe://x/svc/admin");
  headers.Add("Connection", "X-Hop");
  headers.Add("X-Hop", "1");
  headers.Add("Authorization", "Bearer t");
  RemoveClientIdentityHeaders(headers);
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers.Get("Authorization"), "Bearer t");
}

TEST(ClientAddressTest, IgnoresForwardedForWithoutTrustedProxies) {
  http::Headers headers;
  headers.Add("X-Forwarded-For", "1.2.3.4");
  EXPECT_EQ(ClientAddress("127.0.0.1", headers, {}), "127.0.0.1");
}

TEST(ClientAddressTest, TakesTheLastUntrustedHopFromATrustedPeer) {
  std::vector<mesh::Cidr> trusted = {*mesh::ParseCidr("10.0.0.0/8"), *mesh::ParseCidr("127.0.0.1")};
  http::Headers headers;
  headers.Add("X-Forwarded-For", "6.6.6.6, 203.0.113.7");  // the client may forge the left part
  headers.Add("x-forwarded-for", "10.1.2.3");
  EXPECT_EQ(ClientAddress("127.0.0.1", headers, trusted), "203.0.113.7");
  // From an untrusted peer the header counts for nothing.
  EXPECT_EQ(ClientAddress("192.0.2.1", headers, trusted), "192.0.2.1");
  // Garbage ends the walk at the last hop a trusted proxy vouched for.
  http::Headers garbage;
  garbage.Add("X-Forwarded-For", "1.1.1.1, not-an-ip, 10.0.0.9");
  EXPECT_EQ(ClientAddress("127.0.0.1", garbage, trusted), "10.0.0.9");
  // Only trusted hops: the left-most.
  http::Headers all_trusted;
  all_trusted.Add("X-Forwarded-For", "10.0.0.1, 10.0.0.2");
  EXPECT_EQ(ClientAddress("127.0.0.1", all_trusted, trusted), "10.0.0.1");
}

TEST(CidrTest, ParsesAndMatches) {
  mesh::Cidr ten = *mesh::ParseCidr("10.0.0.0/8");
  EXPECT_TRUE(ten.Contains(*mesh::ParseIp("10.255.1.2")));
  EXPECT_FALSE(ten.Contains(*mesh::ParseIp("11.0.0.1")));
  EXPECT_FALSE(ten.Contains(*mesh::ParseIp("::1")));
  mesh::Cidr v6 = *mesh::ParseCidr("2001:db8::/32");
  EXPECT_TRUE(v6.Contains(*mesh::ParseIp("2001:db8::1")));
  EXPECT_FALSE(v6.Contains(*mesh::ParseIp("2001:db9::1")));
  EXPECT_TRUE(mesh::ParseCidr("0.0.0.0/0")->Contains(*mesh::ParseIp("8.8.8.8")));
  for (std::string bad : {"10.0.0.1/8", "10.0.0.0/33", "x", "10.0.0.0/", "::1/129", "1.2.3/8"}) {
    EXPECT_FALSE(mesh::ParseCidr(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace bulwark::proxy
