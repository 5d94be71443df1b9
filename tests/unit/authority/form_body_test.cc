#include "authority/api/form_body.h"

#include <gtest/gtest.h>

namespace bulwark::authority::api {
namespace {

const std::vector<FieldSpec> kToken = {
    {"grant_type", true, 128}, {"scope", false, 16}, {"client_id", false, 2048}};

absl::StatusOr<std::map<std::string, std::string>> Parse(std::string_view body,
                                                         FormLimits limits = {}) {
  return ParseFormFields(body, kToken, limits);
}

TEST(FormBody, DecodesPercentEscapesAndPlus) {
  auto fields = Parse("grant_type=client_credentials&scope=a+b%2Fc&client_id=spiffe%3A%2F%2Ftd");
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ((*fields)["grant_type"], "client_credentials");
  EXPECT_EQ((*fields)["scope"], "a b/c");
  EXPECT_EQ((*fields)["client_id"], "spiffe://td");
}

TEST(FormBody, IgnoresUnknownAndTreatsEmptyValuesAsOmitted) {
  auto fields = Parse("grant_type=x&colour=blue&scope=&client_id&&");
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ(fields->size(), 1u);
  EXPECT_FALSE(fields->contains("colour"));
  EXPECT_FALSE(fields->contains("scope"));
  EXPECT_FALSE(fields->contains("client_id"));
}

TEST(FormBody, UnknownParametersRepeatFreely) {
  EXPECT_TRUE(Parse("grant_type=x&resource=a&resource=b").ok());
}

struct Refusal {
  const char* name;
  std::string body;
  const char* message;
};

class FormBodyRefuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(FormBodyRefuses, WithAMessage) {
  auto fields = Parse(GetParam().body, FormLimits{256, 4, 16});
  ASSERT_FALSE(fields.ok()) << GetParam().body;
  EXPECT_TRUE(absl::IsInvalidArgument(fields.status()));
  EXPECT_NE(fields.status().message().find(GetParam().message), std::string::npos)
      << fields.status();
}

INSTANTIATE_TEST_SUITE_P(
    All, FormBodyRefuses,
    ::testing::Values(
        Refusal{"Repeated", "grant_type=a&grant_type=b", "parameter 'grant_type' is repeated"},
        Refusal{"RepeatedEvenWhenEmpty", "grant_type=a&scope=&scope=b", "'scope' is repeated"},
        Refusal{"Missing", "scope=x", "missing parameter 'grant_type'"},
        Refusal{"MissingWhenEmpty", "grant_type=", "missing parameter 'grant_type'"},
        Refusal{"TruncatedEscape", "grant_type=a%4", "truncated %-escape"},
        Refusal{"TruncatedEscapeAtEnd", "grant_type=a%", "truncated %-escape"},
        Refusal{"BadEscape", "grant_type=a%zz", "malformed %-escape"},
        Refusal{"BadEscapeInName", "gr%G0nt=a", "parameter name: malformed"},
        Refusal{"EncodedNul", "grant_type=a%00b", "control character"},
        Refusal{"RawNewline", "grant_type=a\nb", "control character"},
        Refusal{"EncodedDel", "grant_type=%7F", "control character"},
        Refusal{"NotUtf8", "grant_type=%C3%28", "not UTF-8"},
        Refusal{"Overlong", "grant_type=%C0%AF", "not UTF-8"},
        Refusal{"Surrogate", "grant_type=%ED%A0%80", "not UTF-8"},
        Refusal{"TruncatedUtf8", "grant_type=%E2%82", "not UTF-8"},
        Refusal{"ValueTooLong", "grant_type=a&scope=01234567890123456",
                "'scope' is longer than 16"},
        Refusal{"NameTooLong", "grant_type=a&abcdefghijklmnopq=1", "name is longer than 16"},
        Refusal{"TooManyPairs", "grant_type=a&b=1&c=2&d=3&e=4", "more than 4 parameters"},
        Refusal{"BodyTooLarge", "grant_type=" + std::string(300, 'a'), "over the limit of 256"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(FormBody, AcceptsUtf8) {
  auto fields = Parse("grant_type=%C3%A9%E2%82%AC%F0%9F%98%80");
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ((*fields)["grant_type"], "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

}  // namespace
}  // namespace bulwark::authority::api
