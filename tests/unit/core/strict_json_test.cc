#include "core/strict_json.h"

#include <gtest/gtest.h>

namespace bulwark::core {
namespace {

TEST(StrictJsonTest, ParsesValidJson) {
  auto doc = ParseStrictJson(R"({"a":[1,{"b":"c"}],"d":null})");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ((*doc)["a"][1]["b"], "c");
  // The same key in sibling objects is not a duplicate.
  EXPECT_TRUE(ParseStrictJson(R"([{"k":1},{"k":2}])").ok());
}

TEST(StrictJsonTest, RefusesDuplicateKeysAtAnyDepth) {
  for (const char* text :
       {R"({"alg":"ES256","alg":"none"})", R"({"x":{"k":1,"k":2}})", R"([{"a":1,"b":2,"a":3}])"}) {
    auto doc = ParseStrictJson(text);
    ASSERT_FALSE(doc.ok()) << text;
    EXPECT_NE(doc.status().message().find("repeats the key"), absl::string_view::npos);
  }
}

TEST(StrictJsonTest, RefusesInvalidJsonAndDeepNesting) {
  for (const char* text : {"", "{", "{'a':1}", "[1,]", "{\"a\":1} x", "NaN"}) {
    EXPECT_FALSE(ParseStrictJson(text).ok()) << text;
  }
  std::string deep = std::string(40, '[') + std::string(40, ']');
  auto doc = ParseStrictJson(deep);
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("deeper than 32"), absl::string_view::npos);
  EXPECT_TRUE(ParseStrictJson(std::string(20, '[') + std::string(20, ']')).ok());
}

}  // namespace
}  // namespace bulwark::core
