// Tests of the gateway's route table: prefix boundaries, templates, specificity order, errors.
#include "proxy/gateway_routes.h"

#include "gtest/gtest.h"

namespace bulwark::proxy {
namespace {

mesh::RouteConfig Prefix(std::string pattern) {
  mesh::RouteConfig route;
  route.match = mesh::RouteMatch::kPrefix;
  route.pattern = std::move(pattern);
  route.service = "s";
  return route;
}

mesh::RouteConfig Path(std::string pattern) {
  mesh::RouteConfig route = Prefix(std::move(pattern));
  route.match = mesh::RouteMatch::kPath;
  return route;
}

TEST(RouteTableTest, PrefixMatchesAtSegmentBoundariesOnly) {
  absl::StatusOr<RouteTable> table = RouteTable::Compile({Prefix("/api")});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Match("/api"), 0);
  EXPECT_EQ(table->Match("/api/"), 0);
  EXPECT_EQ(table->Match("/api/rentals/7"), 0);
  EXPECT_EQ(table->Match("/apix"), -1);
  EXPECT_EQ(table->Match("/ap"), -1);
  EXPECT_EQ(table->Match("/"), -1);
  EXPECT_EQ(table->Match("/API"), -1);
}

TEST(RouteTableTest, PrefixWithTrailingSlashAndRootPrefix) {
  absl::StatusOr<RouteTable> table = RouteTable::Compile({Prefix("/static/"), Prefix("/")});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Match("/static/a.css"), 0);
  EXPECT_EQ(table->Match("/static"), 1);  // not under /static/
  EXPECT_EQ(table->Match("/anything/else"), 1);
}

TEST(RouteTableTest, LongestPrefixWinsWhateverTheOrder) {
  absl::StatusOr<RouteTable> table =
      RouteTable::Compile({Prefix("/api"), Prefix("/api/admin"), Prefix("/api/admin/x")});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Match("/api/users"), 0);
  EXPECT_EQ(table->Match("/api/admin"), 1);
  EXPECT_EQ(table->Match("/api/admin/y"), 1);
  EXPECT_EQ(table->Match("/api/admin/x/1"), 2);
  EXPECT_EQ(table->Match("/api/adminx"), 0);
}

TEST(RouteTableTest, TemplatesMatchWholePathsAndBeatPrefixes) {
  absl::StatusOr<RouteTable> table = RouteTable::Compile(
      {Prefix("/api/rentals"), Path("/api/rentals/{id}"), Path("/api/rentals/{id}/return")});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Match("/api/rentals/7"), 1);
  EXPECT_EQ(table->Match("/api/rentals/7/return"), 2);
  EXPECT_EQ(table->Match("/api/rentals/7/other"), 0);  // no template: the prefix
  EXPECT_EQ(table->Match("/api/rentals/"), 0);         // {id} is never empty
  EXPECT_EQ(table->Match("/api/rentals"), 0);
}

TEST(RouteTableTest, MoreLiteralSegmentsWinThenExactBeforeRest) {
  absl::StatusOr<RouteTable> table = RouteTable::Compile(
      {Path("/users/{id}"), Path("/users/me"), Path("/files/**"), Path("/files/{name}")});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Match("/users/me"), 1);
  EXPECT_EQ(table->Match("/users/42"), 0);
  EXPECT_EQ(table->Match("/files/a"), 3);
  EXPECT_EQ(table->Match("/files/a/b"), 2);
  EXPECT_EQ(table->Match("/files"), 2);  // /** matches no rest too
}

TEST(RouteTableTest, EqualSpecificityKeepsTheOrderWritten) {
  absl::StatusOr<RouteTable> table = RouteTable::Compile({Path("/a/{x}"), Path("/a/{y}")});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Match("/a/1"), 0);
}

TEST(RouteTableTest, RefusesTemplatesAndPrefixesThatCouldNeverMatch) {
  absl::StatusOr<RouteTable> bad_template = RouteTable::Compile({Prefix("/ok"), Path("/a/{x")});
  ASSERT_FALSE(bad_template.ok());
  EXPECT_NE(bad_template.status().message().find("gateway.routes[1].path"), std::string::npos)
      << bad_template.status();
  for (std::string prefix : {"/a/../b", "/a//b", "/a/%7e", "/a/./b"}) {
    absl::StatusOr<RouteTable> table = RouteTable::Compile({Prefix(prefix)});
    ASSERT_FALSE(table.ok()) << prefix;
    EXPECT_NE(table.status().message().find("not a normalized path"), std::string::npos)
        << table.status();
  }
}

}  // namespace
}  // namespace bulwark::proxy
