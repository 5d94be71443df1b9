#include "mesh/gateway_names.h"

#include <gtest/gtest.h>

namespace bulwark::mesh {
namespace {

GatewayConfig Gateway(std::string host, std::string public_url = "") {
  GatewayConfig gateway;
  gateway.listen = HostPort{std::move(host), 8443};
  gateway.public_url = std::move(public_url);
  return gateway;
}

GatewayCertificateNames Derive(const GatewayConfig& gateway) {
  absl::StatusOr<GatewayCertificateNames> names = DeriveGatewayCertificateNames(gateway);
  EXPECT_TRUE(names.ok()) << names.status();
  return names.value_or(GatewayCertificateNames{});
}

TEST(GatewayNamesTest, ListenHostAndPublicUrlHostEachOnce) {
  EXPECT_EQ(Derive(Gateway("127.0.0.1")), (GatewayCertificateNames{{}, {"127.0.0.1"}}));
  EXPECT_EQ(Derive(Gateway("::1")), (GatewayCertificateNames{{}, {"::1"}}));
  EXPECT_EQ(Derive(Gateway("Edge.Example.ORG")),
            (GatewayCertificateNames{{"edge.example.org"}, {}}));
  EXPECT_EQ(Derive(Gateway("127.0.0.1", "https://shop.example.com:8443")),
            (GatewayCertificateNames{{"shop.example.com"}, {"127.0.0.1"}}));
  EXPECT_EQ(Derive(Gateway("127.0.0.1", "https://127.0.0.1:8443")),
            (GatewayCertificateNames{{}, {"127.0.0.1"}}));
  EXPECT_EQ(Derive(Gateway("10.0.0.5", "https://[2001:db8::1]")),
            (GatewayCertificateNames{{}, {"10.0.0.5", "2001:db8::1"}}));
}

TEST(GatewayNamesTest, WildcardListenStandsForTheLoopbackNames) {
  GatewayCertificateNames want{{"localhost"}, {"127.0.0.1", "::1"}};
  EXPECT_EQ(Derive(Gateway("0.0.0.0")), want);
  EXPECT_EQ(Derive(Gateway("::")), want);
  want.dns.push_back("gw.example.org");
  EXPECT_EQ(Derive(Gateway("0.0.0.0", "https://gw.example.org")), want);
}

TEST(GatewayNamesTest, DerivationRefusesABadPublicUrl) {
  absl::StatusOr<GatewayCertificateNames> names =
      DeriveGatewayCertificateNames(Gateway("127.0.0.1", "https://*.example.org"));
  ASSERT_FALSE(names.ok());
  EXPECT_NE(names.status().message().find("*.example.org"), std::string::npos) << names.status();
}

TEST(GatewayNamesTest, CheckAcceptsPlainNamesAndAddresses) {
  EXPECT_TRUE(CheckGatewayCertificateNames({{"localhost", "a-b.example.org", "x1"}, {}}).ok());
  EXPECT_TRUE(CheckGatewayCertificateNames({{}, {"127.0.0.1", "::1", "2001:db8::2"}}).ok());
  EXPECT_TRUE(CheckGatewayCertificateNames({{std::string(63, 'a') + ".org"}, {}}).ok());
}

TEST(GatewayNamesTest, CheckRefusesWildcardsAndMalformedNames) {
  const std::vector<std::string> bad_dns = {"*.example.org",
                                            "*",
                                            "a.*.org",
                                            "exa*mple.org",
                                            "Example.org",
                                            "a..b",
                                            ".a",
                                            "a.",
                                            "-a.org",
                                            "a-.org",
                                            "a_b.org",
                                            "a b",
                                            "1.2.3.4",
                                            "300.1.1.1",
                                            "",
                                            "a/b",
                                            "a@b",
                                            std::string(64, 'a'),
                                            std::string(254, 'a'),
                                            "xn--\xc3\xa9.org",
                                            "localhost\n"};
  for (const std::string& name : bad_dns) {
    absl::Status s = CheckGatewayCertificateNames({{name}, {}});
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << "'" << name << "' accepted";
  }
  const std::vector<std::string> bad_ips = {"0.0.0.0",     "::",          "::ffff:0.0.0.0",
                                            "127.0.0.1/8", "[::1]",       "localhost",
                                            "1.2.3",       "fe80::1%eth0"};
  for (const std::string& ip : bad_ips) {
    absl::Status s = CheckGatewayCertificateNames({{}, {ip}});
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << "'" << ip << "' accepted";
  }
}

TEST(GatewayNamesTest, CheckBoundsTheCountAndRefusesDuplicates) {
  EXPECT_FALSE(CheckGatewayCertificateNames({}).ok());
  GatewayCertificateNames many;
  for (std::size_t i = 0; i <= kMaxGatewayCertificateNames; ++i) {
    many.dns.push_back("n" + std::to_string(i));
  }
  EXPECT_FALSE(CheckGatewayCertificateNames(many).ok());
  many.dns.pop_back();
  EXPECT_TRUE(CheckGatewayCertificateNames(many).ok());
  EXPECT_FALSE(CheckGatewayCertificateNames({{"a.org", "a.org"}, {}}).ok());
  EXPECT_FALSE(CheckGatewayCertificateNames({{}, {"::1", "0:0::1"}}).ok());
}

}  // namespace
}  // namespace bulwark::mesh
