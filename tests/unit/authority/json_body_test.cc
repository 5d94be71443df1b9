#include "authority/api/json_body.h"

#include <gtest/gtest.h>

namespace bulwark::authority::api {
namespace {

const std::vector<FieldSpec> kFields = {{"csr", true, 16}, {"spiffe_id", false, 64}};

TEST(JsonBodyTest, AcceptsKnownStringFields) {
  auto fields = ParseStringFields(R"({"csr":"abc","spiffe_id":"spiffe://td/x"})", kFields);
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ((*fields)["csr"], "abc");
  EXPECT_EQ((*fields)["spiffe_id"], "spiffe://td/x");
  EXPECT_TRUE(ParseStringFields(R"({"csr":""})", kFields).ok());
}

TEST(JsonBodyTest, RefusesEverythingElseWithTheReason) {
  struct Case {
    const char* body;
    const char* reason;
  } cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[]", "JSON object"},
      {R"("csr")", "JSON object"},
      {R"({"csr":"a","csr":"b"})", "repeats the key 'csr'"},
      {R"({"csr":"a","extra":"b"})", "unknown field 'extra'"},
      {R"({"csr":1})", "field 'csr' must be a string"},
      {R"({"csr":null})", "must be a string"},
      {R"({"spiffe_id":"x"})", "missing field 'csr'"},
      {R"({"csr":"01234567890123456"})", "longer than 16 bytes"},
      {R"({"csr":"a"} trailing)", "not valid JSON"},
      {R"({"csr":"a","nested":{"csr":"b","csr":"c"}})", "repeats the key 'csr'"},
  };
  for (const Case& c : cases) {
    auto fields = ParseStringFields(c.body, kFields);
    ASSERT_FALSE(fields.ok()) << c.body;
    EXPECT_TRUE(absl::IsInvalidArgument(fields.status()));
    EXPECT_NE(fields.status().message().find(c.reason), absl::string_view::npos)
        << c.body << " -> " << fields.status();
  }
}

}  // namespace
}  // namespace bulwark::authority::api
