// Tests of the authority's policy feed: the first load, a change that bumps the version and
// wakes waiters, a rewrite with the same rules that does not, and a bad file that keeps the last
// good version.
#include "authority/api/policy_feed.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace bulwark::authority::api {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

std::string Mesh(const std::string& user_allow, const std::string& extra = "") {
  return "trust_domain: td.example\nservices:\n  contract:\n    port: 9001\n" + extra +
         "  user:\n    port: 9002\n    allow:\n" + user_allow;
}

TEST(PolicyFeedTest, VersionsEachChangeAndKeepsTheLastGoodOne) {
  testing::TempDir dir;
  std::string path = dir.File("mesh.yaml");
  Write(path, Mesh("      - { from: contract, paths: [/a] }\n"));
  absl::StatusOr<std::unique_ptr<PolicyFeed>> feed = PolicyFeed::Load(path, 1000);
  ASSERT_TRUE(feed.ok()) << feed.status();
  std::shared_ptr<const PolicySnapshot> first = (*feed)->Current();
  EXPECT_EQ(first->version, 1000);
  EXPECT_EQ((*feed)->feed().version(), 1000);
  ASSERT_TRUE(first->rules.contains("contract"));
  EXPECT_TRUE(first->rules.at("contract").empty());
  ASSERT_EQ(first->rules.at("user").size(), 1u);
  EXPECT_EQ(first->rules.at("user")[0]["paths"], nlohmann::json::array({"/a"}));

  (*feed)->ReloadIfChanged();  // unchanged file: nothing happens
  EXPECT_EQ((*feed)->Current(), first);

  // Same rules, other bytes (a comment): no new version.
  Write(path, Mesh("      - { from: contract, paths: [/a] }  # same\n"));
  EXPECT_FALSE((*feed)->Reload());
  EXPECT_EQ((*feed)->Current()->version, 1000);

  Write(path, Mesh("      - { from: contract, paths: [/a, /b] }\n"));
  (*feed)->ReloadIfChanged();  // the size changed
  EXPECT_EQ((*feed)->Current()->version, 1001);
  EXPECT_EQ((*feed)->feed().version(), 1001);
  EXPECT_EQ(first->rules.at("user")[0]["paths"].size(), 1u);  // old snapshots stay intact

  // A rule that does not compile, then a file that does not parse: version 1001 stays.
  Write(path, Mesh("      - { from: contract, when: 'path.nope == 1' }\n"));
  EXPECT_FALSE((*feed)->Reload());
  Write(path, "trust_domain: [\n");
  EXPECT_FALSE((*feed)->Reload());
  std::remove(path.c_str());
  EXPECT_FALSE((*feed)->Reload());
  EXPECT_EQ((*feed)->Current()->version, 1001);
  EXPECT_EQ((*feed)->Current()->rules.at("user")[0]["paths"].size(), 2u);
}

TEST(PolicyFeedTest, LoadRefusesABadPolicyWithItsPosition) {
  testing::TempDir dir;
  std::string path = dir.File("mesh.yaml");
  Write(path, Mesh("      - { from: contract, when: 'path.nope == 1' }\n"));
  absl::StatusOr<std::unique_ptr<PolicyFeed>> feed = PolicyFeed::Load(path, 1);
  ASSERT_FALSE(feed.ok());
  EXPECT_NE(feed.status().message().find("mesh.yaml:8:"), std::string::npos) << feed.status();
}

}  // namespace
}  // namespace bulwark::authority::api
