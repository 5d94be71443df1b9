#include "tokens/api_key.h"

#include <gtest/gtest.h>

#include <set>

namespace bulwark::tokens {
namespace {

TEST(ApiKeyTest, MadeKeysParseToTheirIdAndMatchTheirHash) {
  NewApiKey key = MakeApiKey();
  EXPECT_TRUE(key.key.starts_with("bwk_" + key.id + "_"));
  EXPECT_EQ(key.id.size(), 11u);
  EXPECT_EQ(key.key.size(), 4u + 11u + 1u + 43u);
  absl::StatusOr<std::string> id = ApiKeyId(key.key);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, key.id);
  EXPECT_EQ(key.hash.size(), 32u);
  EXPECT_TRUE(ApiKeyMatches(key.key, key.hash));
}

TEST(ApiKeyTest, KeysAreFresh) {
  std::set<std::string> ids, keys;
  for (int i = 0; i < 100; ++i) {
    NewApiKey key = MakeApiKey();
    ids.insert(key.id);
    keys.insert(key.key);
  }
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(keys.size(), 100u);
}

TEST(ApiKeyTest, AnotherSecretWithTheSameIdDoesNotMatch) {
  NewApiKey key = MakeApiKey();
  std::string forged = key.key;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  ASSERT_TRUE(ApiKeyId(forged).ok());
  EXPECT_FALSE(ApiKeyMatches(forged, key.hash));
  EXPECT_FALSE(ApiKeyMatches("", key.hash));
  EXPECT_FALSE(ApiKeyMatches(key.key, crypto::Bytes{}));
}

TEST(ApiKeyTest, MalformedKeysAreRefusedWithoutEchoingThem) {
  NewApiKey key = MakeApiKey();
  std::string secret = key.key.substr(16);
  for (std::string bad :
       {std::string(""), std::string("bwk_"), "xyz_" + key.key.substr(4), key.key + "A",
        key.key.substr(0, key.key.size() - 1), "bwk_" + key.id + "-" + secret,
        "bwk_" + key.id + "_" + secret + "=", "bwk_" + std::string(11, '!') + "_" + secret}) {
    absl::StatusOr<std::string> id = ApiKeyId(bad);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(std::string(id.status().message()).find(secret), std::string::npos);
  }
}

TEST(ApiKeyTest, IdsNeverStartWithADashSoTheCliDoesNotTakeThemForAnOption) {
  // Without the redraw, 1000 ids miss a leading '-' with probability (63/64)^1000 < 1e-6.
  for (int i = 0; i < 1000; ++i) {
    NewApiKey made = MakeApiKey();
    ASSERT_NE(made.id.front(), '-') << made.id;
    ASSERT_EQ(ApiKeyId(made.key).value(), made.id);
  }
}

TEST(ApiKeyTest, IdsMayContainUnderscore) {
  // base64url has '_': the separator is found by position, not by search.
  std::string key = "bwk_ab_defghijk_" + std::string(43, 'x');
  absl::StatusOr<std::string> id = ApiKeyId(key);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "ab_defghijk");
}

}  // namespace
}  // namespace bulwark::tokens
