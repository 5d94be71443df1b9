#include "core/strict_json.h"

#include <gtest/gtest.h>

#include "fmt/format.h"

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
  // max_depth containers are fine, one more is refused, objects and arrays alike.
  EXPECT_TRUE(ParseStrictJson("[[[1]]]", 3).ok());
  EXPECT_FALSE(ParseStrictJson("[[[[1]]]]", 3).ok());
  EXPECT_TRUE(ParseStrictJson(R"({"a":{"b":{"c":1}}})", 3).ok());
  EXPECT_FALSE(ParseStrictJson(R"({"a":{"b":{"c":{}}}})", 3).ok());
}

TEST(StrictJsonTest, LargeObjectsKeepEveryKeyAndRefuseARepeatedOne) {
  // Past the linear scan's bound the keys move to a hash set: both must find a repeat.
  std::string text = "{";
  for (int i = 0; i < 1000; ++i) {
    text += fmt::format("{}\"k{}\":{}", i == 0 ? "" : ",", i, i);
  }
  auto doc = ParseStrictJson(text + "}");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->size(), 1000u);
  EXPECT_EQ((*doc)["k999"], 999);
  for (const char* repeated : {"k3", "k500", "k999"}) {
    auto refused = ParseStrictJson(fmt::format("{},\"{}\":0}}", text, repeated));
    ASSERT_FALSE(refused.ok()) << repeated;
    EXPECT_NE(refused.status().message().find(repeated), absl::string_view::npos);
  }
  // A nested object's keys do not leak into its parent's, nor a sibling's.
  EXPECT_TRUE(
      ParseStrictJson(R"({"a":{"b":1,"c":2},"b":{"a":1,"c":2},"c":[{"a":1},{"a":2}]})").ok());
}

}  // namespace
}  // namespace bulwark::core
