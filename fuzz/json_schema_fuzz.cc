// Fuzzes the JSON Schema compiler and validator. The input is a schema, a NUL byte and an
// instance; the instance is also checked against a fixed schema that uses every keyword. It must
// never crash or recurse without bound, and a violation's pointer is "" or starts with '/'.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/strict_json.h"
#include "schema/json_schema.h"

namespace {

constexpr std::string_view kEveryKeyword = R"({
  "type": ["object", "array", "string", "number", "null", "boolean"],
  "required": ["a"], "additionalProperties": {"type": "integer", "minimum": -5, "maximum": 5},
  "properties": {"a": {"enum": [1, "x", [null], {"k": true}]}, "b": {"const": {"c": [1.5]}},
                 "s": {"type": "string", "minLength": 1, "maxLength": 3},
                 "l": {"type": "array", "minItems": 1, "maxItems": 4, "items": {"type": "boolean"}}}
})";

void CheckViolation(const bulwark::schema::JsonSchema& schema, const nlohmann::json& instance) {
  std::optional<bulwark::schema::Violation> violation = schema.Validate(instance);
  if (violation.has_value() && !violation->pointer.empty() && violation->pointer[0] != '/') {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) {
    return 0;
  }
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t nul = input.find('\0');
  std::string_view schema_text = input.substr(0, nul);
  std::string_view instance_text = nul == std::string_view::npos ? input : input.substr(nul + 1);
  absl::StatusOr<nlohmann::json> instance = bulwark::core::ParseStrictJson(instance_text);
  static const absl::StatusOr<bulwark::schema::JsonSchema> kFixed =
      bulwark::schema::JsonSchema::Compile(kEveryKeyword);
  if (!kFixed.ok()) {
    std::abort();
  }
  absl::StatusOr<bulwark::schema::JsonSchema> schema =
      bulwark::schema::JsonSchema::Compile(schema_text);
  if (instance.ok()) {
    CheckViolation(*kFixed, *instance);
    if (schema.ok()) {
      CheckViolation(*schema, *instance);
    }
  }
  return 0;
}
