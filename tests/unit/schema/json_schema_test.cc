// Tests of the JSON Schema subset: each keyword accepts and refuses, the pointer of the first
// failure, and what Compile refuses (unknown keywords, bad values, depth).
#include "schema/json_schema.h"

#include <string>

#include "gtest/gtest.h"

namespace bulwark::schema {
namespace {

using nlohmann::json;

JsonSchema Compiled(std::string_view text) {
  absl::StatusOr<JsonSchema> schema = JsonSchema::Compile(text);
  EXPECT_TRUE(schema.ok()) << schema.status();
  return *std::move(schema);
}

// Returns "" when `instance` is valid, else "<pointer>|<message>".
std::string Check(const JsonSchema& schema, std::string_view instance) {
  std::optional<Violation> v = schema.Validate(json::parse(instance));
  return v.has_value() ? v->pointer + "|" + v->message : "";
}

std::string CompileError(std::string_view text) {
  absl::StatusOr<JsonSchema> schema = JsonSchema::Compile(text);
  return schema.ok() ? "" : std::string(schema.status().message());
}

constexpr std::string_view kRental = R"({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "a rental",
  "type": "object",
  "required": ["film_id", "customer"],
  "additionalProperties": false,
  "properties": {
    "film_id": {"type": "integer", "minimum": 1, "maximum": 1000000},
    "customer": {"type": "string", "minLength": 2, "maxLength": 4},
    "days": {"type": ["integer", "null"], "enum": [1, 3, 7, null]},
    "kind": {"const": "rental"},
    "extras": {"type": "array", "minItems": 1, "maxItems": 2,
               "items": {"type": "object", "properties": {"a/b~c": {"type": "boolean"}}}}
  }
})";

TEST(JsonSchemaTest, AValidDocumentPasses) {
  JsonSchema schema = Compiled(kRental);
  EXPECT_EQ(Check(schema, R"({"film_id": 7, "customer": "ann"})"), "");
  EXPECT_EQ(Check(schema, R"({"film_id": 7.0, "customer": "élan", "days": null, "kind": "rental",
                              "extras": [{"a/b~c": true}]})"),
            "");
}

TEST(JsonSchemaTest, EachKeywordRefusesWithThePointerOfTheFailure) {
  JsonSchema schema = Compiled(kRental);
  EXPECT_EQ(Check(schema, "[]"), "|must be of type object");
  EXPECT_EQ(Check(schema, R"({"film_id": 7})"), "|the member \"customer\" is required");
  EXPECT_EQ(Check(schema, R"({"film_id": 7.5, "customer": "ann"})"),
            "/film_id|must be of type integer");
  EXPECT_EQ(Check(schema, R"({"film_id": 0, "customer": "ann"})"), "/film_id|must be at least 1");
  EXPECT_EQ(Check(schema, R"({"film_id": 1000001, "customer": "ann"})"),
            "/film_id|must be at most 1000000");
  EXPECT_EQ(Check(schema, R"({"film_id": 1, "customer": "a"})"),
            "/customer|must be at least 2 characters long");
  EXPECT_EQ(Check(schema, R"({"film_id": 1, "customer": "abcde"})"),
            "/customer|must be at most 4 characters long");
  EXPECT_EQ(Check(schema, R"({"film_id": 1, "customer": "ab", "days": 2})"),
            "/days|must be one of the schema's enum values");
  EXPECT_EQ(Check(schema, R"({"film_id": 1, "customer": "ab", "kind": "sale"})"),
            "/kind|must be \"rental\"");
  EXPECT_EQ(Check(schema, R"({"film_id": 1, "customer": "ab", "extras": []})"),
            "/extras|must have at least 1 items");
  EXPECT_EQ(Check(schema, R"({"film_id": 1, "customer": "ab", "extras": [{}, {}, {}]})"),
            "/extras|must have at most 2 items");
  EXPECT_EQ(Check(schema, R"({"film_id": 1, "customer": "ab", "extras": [{}, {"a/b~c": 1}]})"),
            "/extras/1/a~1b~0c|must be of type boolean");
  EXPECT_EQ(Check(schema, R"({"film_id": 1, "customer": "ab", "admin": true})"),
            "/admin|this member is not allowed (additionalProperties)");
}

TEST(JsonSchemaTest, NumbersCompareExactlyAcrossRepresentations) {
  JsonSchema schema = Compiled(R"({"minimum": -1, "maximum": 18446744073709551614})");
  EXPECT_EQ(Check(schema, "18446744073709551614"), "");
  EXPECT_EQ(Check(schema, "18446744073709551615"), "|must be at most 18446744073709551614");
  EXPECT_EQ(Check(schema, "-1.0"), "");
  EXPECT_EQ(Check(schema, "-2"), "|must be at least -1");
  EXPECT_EQ(Check(schema, "\"-5\""), "");  // minimum applies to numbers only
  JsonSchema one = Compiled(R"({"enum": [1, [2.0, {"a": 3}]]})");
  EXPECT_EQ(Check(one, "1.0"), "");
  EXPECT_EQ(Check(one, R"([2, {"a": 3.0}])"), "");
  EXPECT_EQ(Check(one, R"([2, {"a": 3, "b": 1}])"), "|must be one of the schema's enum values");
  EXPECT_EQ(Check(one, "true"), "|must be one of the schema's enum values");
}

TEST(JsonSchemaTest, BooleanSchemasAndAdditionalPropertiesAsASchema) {
  EXPECT_EQ(Check(Compiled("true"), R"({"x": [1]})"), "");
  EXPECT_EQ(Check(Compiled("false"), "1"), "|no value is allowed here");
  JsonSchema schema = Compiled(R"({"properties": {"a": true},
                                   "additionalProperties": {"type": "string"}})");
  EXPECT_EQ(Check(schema, R"({"a": 1, "b": "x"})"), "");
  EXPECT_EQ(Check(schema, R"({"a": 1, "b": 2})"), "/b|must be of type string");
}

TEST(JsonSchemaTest, CompileRefusesUnknownAndUnsupportedKeywordsByName) {
  EXPECT_EQ(CompileError(R"({"type": "object", "propertees": {}})"),
            "/propertees: unknown or unsupported keyword 'propertees' (docs/gateway.md#json-schema "
            "lists the supported subset)");
  EXPECT_EQ(CompileError(R"({"properties": {"a": {"$ref": "#/$defs/x"}}})"),
            "/properties/a/$ref: unknown or unsupported keyword '$ref' (docs/gateway.md"
            "#json-schema lists the supported subset)");
  EXPECT_EQ(CompileError(R"({"items": {"pattern": "^(a+)+$"}})"),
            "/items/pattern: 'pattern' is not supported: regular expressions are left out (no "
            "regex engine here has a bounded run time)");
  EXPECT_EQ(CompileError(R"({"$schema": "http://json-schema.org/draft-07/schema#"})"),
            "/$schema: only the root may name a dialect, and only "
            "https://json-schema.org/draft/2020-12/schema");
}

TEST(JsonSchemaTest, CompileRefusesKeywordValuesOfTheWrongForm) {
  EXPECT_EQ(CompileError(R"({"type": "int"})"),
            "/type: unknown type \"int\"; use null, boolean, object, array, number, string or "
            "integer");
  EXPECT_EQ(CompileError(R"({"type": ["string", "string"]})"),
            "/type: type \"string\" is listed twice");
  EXPECT_EQ(CompileError(R"({"required": ["a", 1]})"),
            "/required: required must be an array "
            "of strings");
  EXPECT_EQ(CompileError(R"({"minLength": -1})"), "/minLength: must be a non-negative integer");
  EXPECT_EQ(CompileError(R"({"maxItems": 1.5})"), "/maxItems: must be a non-negative integer");
  EXPECT_EQ(CompileError(R"({"minimum": "1"})"), "/minimum: minimum must be a number");
  EXPECT_EQ(CompileError(R"({"enum": []})"), "/enum: enum must be a non-empty array");
  EXPECT_EQ(CompileError(R"({"items": 3})"), "/items: a schema must be an object or a boolean");
  EXPECT_EQ(CompileError(R"({"type": "object", "type": "array"})").substr(0, 29),
            "the schema is not valid JSON:");
  EXPECT_NE(CompileError("{"), "");
}

TEST(JsonSchemaTest, CompileBoundsNesting) {
  std::string deep;
  for (std::size_t i = 0; i <= kMaxSchemaDepth; ++i) {
    deep += R"({"items": )";
  }
  deep += "true";
  deep += std::string(kMaxSchemaDepth + 1, '}');
  EXPECT_NE(CompileError(deep).find("subschemas nest deeper than 32 levels"), std::string::npos)
      << CompileError(deep);
  EXPECT_EQ(CompileError(std::string(kMaxSchemaBytes + 1, ' ')),
            "the schema is over 1048576 bytes");
}

}  // namespace
}  // namespace bulwark::schema
