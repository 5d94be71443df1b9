// Tests of the Content-Type parser: case, parameters, quoted strings and what is refused.
#include "http/media_type.h"

#include "gtest/gtest.h"

namespace bulwark::http {
namespace {

TEST(MediaTypeTest, ParsesTypeSubtypeAndParametersCaseInsensitively) {
  absl::StatusOr<MediaType> media = ParseMediaType("Application/JSON ; Charset=\"UTF-8\";;");
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ(media->Essence(), "application/json");
  EXPECT_EQ(media->Parameter("charset"), "UTF-8");
  EXPECT_TRUE(media->IsJson());
  EXPECT_FALSE(media->Parameter("boundary").has_value());
}

TEST(MediaTypeTest, QuotedPairsAndStructuredSuffixes) {
  absl::StatusOr<MediaType> media =
      ParseMediaType(R"(application/problem+json; profile="a \"b\"; c")");
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ(media->Parameter("profile"), "a \"b\"; c");
  EXPECT_TRUE(media->IsJson());
  EXPECT_FALSE(ParseMediaType("text/json")->IsJson());
  EXPECT_FALSE(ParseMediaType("application/jsonx")->IsJson());
}

TEST(MediaTypeTest, RefusesWhatIsNotOneUnambiguousMediaType) {
  for (const char* text :
       {"", "application", "application/", "/json", "application/json x", "application /json",
        "application/json, text/plain", "application/json; charset", "application/json; =x",
        "application/json; charset=", "application/json; charset=\"utf-8",
        "application/json; charset=utf-8; charset=latin1", "application/json; a=\"\x01\"",
        "appli\xc3\xa7"
        "ation/json"}) {
    EXPECT_FALSE(ParseMediaType(text).ok()) << text;
  }
}

}  // namespace
}  // namespace bulwark::http
