// Tests of the gateway's route table: prefix boundaries, templates, specificity order, errors.
#include "proxy/gateway_routes.h"

#include "gtest/gtest.h"
#include "policy/path.h"

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

TEST(ForwardedPathTest, StripsWholeLeadingSegmentsAndKeepsALeadingSlash) {
  mesh::RouteConfig route = Prefix("/api/rentals");
  EXPECT_EQ(ForwardedPath(route, "/api/rentals/7"), "/api/rentals/7");  // no strip_prefix
  route.strip_prefix = "/api";
  EXPECT_EQ(ForwardedPath(route, "/api/rentals/7"), "/rentals/7");
  EXPECT_EQ(ForwardedPath(route, "/api/rentals"), "/rentals");
  EXPECT_EQ(ForwardedPath(route, "/api/rentals/"), "/rentals/");
  route.strip_prefix = "/api/rentals";
  EXPECT_EQ(ForwardedPath(route, "/api/rentals"), "/");
  EXPECT_EQ(ForwardedPath(route, "/api/rentals/"), "/");
  EXPECT_EQ(ForwardedPath(route, "/api/rentals/7/return"), "/7/return");
}

TEST(ForwardedPathTest, NeverCutsInsideASegment) {
  mesh::RouteConfig route = Prefix("/api");
  route.strip_prefix = "/api";
  EXPECT_EQ(ForwardedPath(route, "/apix/y"), "/apix/y");
}

// The rewrite runs on the normalized path of the matched route, so a spelling that normalizes
// around the prefix either leaves the route (404) or stays under it.
TEST(ForwardedPathTest, SpellingsThatNormalizeAroundThePrefixStayInsideTheRoute) {
  absl::StatusOr<RouteTable> table = RouteTable::Compile({Prefix("/api/rentals")});
  ASSERT_TRUE(table.ok()) << table.status();
  mesh::RouteConfig route = Prefix("/api/rentals");
  route.strip_prefix = "/api";
  struct Case {
    const char* raw;
    const char* forwarded;  // nullptr: no route
  };
  for (const Case& c : std::vector<Case>{{"/api/rentals/../admin", nullptr},
                                         {"/api/rentals/%2e%2e/admin", nullptr},
                                         {"/api/rentals/%2E%2e", nullptr},
                                         {"/api/../rentals/7", nullptr},
                                         {"//api//rentals//7", "/rentals/7"},
                                         {"/api/rentals/./7/../8", "/rentals/8"},
                                         {"/api/./rentals/%37", "/rentals/7"}}) {
    absl::StatusOr<std::string> normal = policy::NormalizePath(c.raw);
    ASSERT_TRUE(normal.ok()) << c.raw << ": " << normal.status();
    int match = table->Match(*normal);
    if (c.forwarded == nullptr) {
      EXPECT_EQ(match, -1) << c.raw << " normalized to " << *normal;
      continue;
    }
    ASSERT_EQ(match, 0) << c.raw;
    EXPECT_EQ(ForwardedPath(route, *normal), c.forwarded) << c.raw;
  }
}

}  // namespace
}  // namespace bulwark::proxy
