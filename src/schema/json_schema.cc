// The compiler turns each (sub)schema into a Node whose keywords are typed fields, so the
// validator never looks at schema JSON again; validation recursion follows the schema's nodes,
// whose depth Compile bounds, and the instance's depth is bounded by its strict parse.
#include "schema/json_schema.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/strict_json.h"
#include "fmt/format.h"

namespace bulwark::schema {

using nlohmann::json;

namespace {

constexpr std::string_view kDialect = "https://json-schema.org/draft/2020-12/schema";
constexpr std::size_t kMaxShownBytes = 64;

enum TypeBit : unsigned {
  kNull = 1,
  kBoolean = 2,
  kObject = 4,
  kArray = 8,
  kNumber = 16,
  kString = 32,
  kInteger = 64,
};

constexpr std::array<std::pair<std::string_view, unsigned>, 7> kTypeNames = {
    {{"null", kNull},
     {"boolean", kBoolean},
     {"object", kObject},
     {"array", kArray},
     {"number", kNumber},
     {"string", kString},
     {"integer", kInteger}}};

}  // namespace

struct JsonSchema::Node {
  std::optional<bool> constant;  // a boolean schema: true accepts all, false nothing
  unsigned types = 0;            // TypeBit mask; 0: any type
  // By pointer: a pair of a Node inside Node's own definition is an incomplete type to clang.
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> properties;
  std::vector<std::string> required;
  std::unique_ptr<Node> additional_properties;  // null: any
  std::unique_ptr<Node> items;                  // null: any
  std::optional<std::vector<json>> enumeration;
  std::optional<json> constant_value;
  std::optional<json> minimum;
  std::optional<json> maximum;
  std::optional<std::uint64_t> min_length;
  std::optional<std::uint64_t> max_length;
  std::optional<std::uint64_t> min_items;
  std::optional<std::uint64_t> max_items;
};

namespace {

using Node = JsonSchema::Node;

// Returns `token` escaped for a JSON pointer (RFC 6901 §3: '~' -> "~0", '/' -> "~1").
std::string EscapePointerToken(std::string_view token) {
  std::string escaped;
  for (char c : token) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
}

// Returns `value` as JSON text, cut to a length fit for a message.
std::string Shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxShownBytes) {
    text.resize(kMaxShownBytes);
    text += "...";
  }
  return text;
}

absl::Status SchemaError(std::string_view pointer, std::string_view message) {
  return absl::InvalidArgumentError(
      fmt::format("{}: {}", pointer.empty() ? "/" : pointer, message));
}

bool IsIntegral(const json& value) {
  if (value.is_number_integer()) {
    return true;
  }
  if (!value.is_number_float()) {
    return false;
  }
  double d = value.get<double>();
  return std::isfinite(d) && std::floor(d) == d;  // 2020-12: 1.0 is an integer
}

// Returns <0, 0 or >0 as a < b, a == b, a > b, for numbers; exact for any two integers.
int CompareNumbers(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    bool a_negative = a.is_number_unsigned() ? false : a.get<std::int64_t>() < 0;
    bool b_negative = b.is_number_unsigned() ? false : b.get<std::int64_t>() < 0;
    if (a_negative != b_negative) {
      return a_negative ? -1 : 1;
    }
    if (a_negative) {
      std::int64_t x = a.get<std::int64_t>();
      std::int64_t y = b.get<std::int64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    std::uint64_t x = a.get<std::uint64_t>();
    std::uint64_t y = b.get<std::uint64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  double x = a.get<double>();
  double y = b.get<double>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

// JSON equality (enum, const): numbers by value, so 1 and 1.0 are equal.
bool JsonEqual(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    return CompareNumbers(a, b) == 0;
  }
  if (a.type() != b.type()) {
    return false;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!JsonEqual(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !JsonEqual(it.value(), *other)) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

std::size_t CodePoints(const std::string& text) {
  std::size_t count = 0;
  for (char c : text) {
    count += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return count;
}

unsigned TypeOf(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return kNull;
    case json::value_t::boolean:
      return kBoolean;
    case json::value_t::object:
      return kObject;
    case json::value_t::array:
      return kArray;
    case json::value_t::string:
      return kString;
    default:
      return IsIntegral(value) ? (kNumber | kInteger) : kNumber;
  }
}

std::string TypeNames(unsigned mask) {
  std::string names;
  for (const auto& [name, bit] : kTypeNames) {
    if ((mask & bit) != 0) {
      names += names.empty() ? "" : " or ";
      names += name;
    }
  }
  return names;
}

// Compiles one (sub)schema at `pointer`, `depth` levels below the root.
class Compiler {
 public:
  absl::StatusOr<Node> Compile(const json& schema, const std::string& pointer, std::size_t depth);

 private:
  absl::Status Keyword(const std::string& key, const json& value, const std::string& pointer,
                       std::size_t depth, Node& node);
  absl::StatusOr<std::unique_ptr<Node>> Sub(const json& schema, const std::string& pointer,
                                            std::size_t depth) {
    absl::StatusOr<Node> node = Compile(schema, pointer, depth);
    if (!node.ok()) {
      return node.status();
    }
    return std::make_unique<Node>(*std::move(node));
  }
};

absl::StatusOr<unsigned> ReadTypes(const json& value, const std::string& pointer) {
  std::vector<json> names =
      value.is_array() ? value.get<std::vector<json>>() : std::vector<json>{value};
  if (names.empty()) {
    return SchemaError(pointer, "type must be a type name or a non-empty array of them");
  }
  unsigned mask = 0;
  for (const json& name : names) {
    unsigned bit = 0;
    for (const auto& [type_name, type_bit] : kTypeNames) {
      if (name.is_string() && name.get<std::string>() == type_name) {
        bit = type_bit;
      }
    }
    if (bit == 0) {
      return SchemaError(pointer, fmt::format("unknown type {}; use null, boolean, object, "
                                              "array, number, string or integer",
                                              Shown(name)));
    }
    if ((mask & bit) != 0) {
      return SchemaError(pointer, fmt::format("type {} is listed twice", Shown(name)));
    }
    mask |= bit;
  }
  return mask;
}

absl::StatusOr<std::uint64_t> ReadCount(const json& value, const std::string& pointer) {
  if (!value.is_number() || !IsIntegral(value) || value.get<double>() < 0 ||
      value.get<double>() > 1e15) {
    return SchemaError(pointer, "must be a non-negative integer");
  }
  return value.is_number_unsigned() ? value.get<std::uint64_t>()
                                    : static_cast<std::uint64_t>(value.get<double>());
}

absl::Status Compiler::Keyword(const std::string& key, const json& value,
                               const std::string& pointer, std::size_t depth, Node& node) {
  if (key == "type") {
    absl::StatusOr<unsigned> types = ReadTypes(value, pointer);
    if (!types.ok()) {
      return types.status();
    }
    node.types = *types;
  } else if (key == "properties") {
    if (!value.is_object()) {
      return SchemaError(pointer, "properties must be an object of schemas");
    }
    for (auto it = value.begin(); it != value.end(); ++it) {
      absl::StatusOr<Node> sub =
          Compile(it.value(), pointer + "/" + EscapePointerToken(it.key()), depth + 1);
      if (!sub.ok()) {
        return sub.status();
      }
      node.properties.emplace_back(it.key(), std::make_unique<Node>(*std::move(sub)));
    }
  } else if (key == "required") {
    if (!value.is_array() ||
        !std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
      return SchemaError(pointer, "required must be an array of strings");
    }
    for (const json& name : value) {
      if (std::find(node.required.begin(), node.required.end(), name.get<std::string>()) !=
          node.required.end()) {
        return SchemaError(pointer, fmt::format("required lists {} twice", Shown(name)));
      }
      node.required.push_back(name.get<std::string>());
    }
  } else if (key == "additionalProperties" || key == "items") {
    absl::StatusOr<std::unique_ptr<Node>> sub = Sub(value, pointer, depth + 1);
    if (!sub.ok()) {
      return sub.status();
    }
    (key == "items" ? node.items : node.additional_properties) = *std::move(sub);
  } else if (key == "enum") {
    if (!value.is_array() || value.empty()) {
      return SchemaError(pointer, "enum must be a non-empty array");
    }
    node.enumeration = value.get<std::vector<json>>();
  } else if (key == "const") {
    node.constant_value = value;
  } else if (key == "minimum" || key == "maximum") {
    if (!value.is_number()) {
      return SchemaError(pointer, fmt::format("{} must be a number", key));
    }
    (key == "minimum" ? node.minimum : node.maximum) = value;
  } else {
    std::optional<std::uint64_t>* count = key == "minLength"   ? &node.min_length
                                          : key == "maxLength" ? &node.max_length
                                          : key == "minItems"  ? &node.min_items
                                                               : &node.max_items;
    absl::StatusOr<std::uint64_t> n = ReadCount(value, pointer);
    if (!n.ok()) {
      return n.status();
    }
    *count = *n;
  }
  return absl::OkStatus();
}

bool IsAnnotation(const std::string& key) {
  return key == "title" || key == "description" || key == "$comment" || key == "default" ||
         key == "examples";
}

bool IsKeyword(const std::string& key) {
  static const std::array<std::string_view, 13> kKeywords = {
      "type",    "properties", "required",  "additionalProperties",
      "items",   "enum",       "const",     "minimum",
      "maximum", "minLength",  "maxLength", "minItems",
      "maxItems"};
  return std::find(kKeywords.begin(), kKeywords.end(), key) != kKeywords.end();
}

absl::StatusOr<Node> Compiler::Compile(const json& schema, const std::string& pointer,
                                       std::size_t depth) {
  if (depth > kMaxSchemaDepth) {
    return SchemaError(pointer,
                       fmt::format("subschemas nest deeper than {} levels", kMaxSchemaDepth));
  }
  Node node;
  if (schema.is_boolean()) {
    node.constant = schema.get<bool>();
    return node;
  }
  if (!schema.is_object()) {
    return SchemaError(pointer, "a schema must be an object or a boolean");
  }
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    const std::string& key = it.key();
    std::string at = pointer + "/" + EscapePointerToken(key);
    if (key == "$schema") {
      if (depth != 0 || !it->is_string() || it->get<std::string>() != kDialect) {
        return SchemaError(at,
                           fmt::format("only the root may name a dialect, and only {}", kDialect));
      }
    } else if (key == "pattern" || key == "patternProperties") {
      return SchemaError(at, fmt::format("'{}' is not supported: regular expressions are left "
                                         "out (no regex engine here has a bounded run time)",
                                         key));
    } else if (IsKeyword(key)) {
      BULWARK_RETURN_IF_ERROR(Keyword(key, *it, at, depth, node));
    } else if (!IsAnnotation(key)) {
      return SchemaError(at, fmt::format("unknown or unsupported keyword '{}' (docs/gateway.md"
                                         "#json-schema lists the supported subset)",
                                         key));
    }
  }
  return node;
}

// Checks `instance` at `pointer` against `node`.
class Validator {
 public:
  std::optional<Violation> Check(const Node& node, const json& instance, std::string& pointer);

 private:
  std::optional<Violation> CheckNumber(const Node& node, const json& instance,
                                       const std::string& pointer);
  std::optional<Violation> CheckArray(const Node& node, const json& instance, std::string& pointer);
  std::optional<Violation> CheckObject(const Node& node, const json& instance,
                                       std::string& pointer);
  std::optional<Violation> Descend(const Node& node, const json& instance, std::string& pointer,
                                   std::string_view token) {
    std::size_t size = pointer.size();
    pointer += '/';
    pointer += EscapePointerToken(token);
    std::optional<Violation> found = Check(node, instance, pointer);
    pointer.resize(size);
    return found;
  }
};

Violation At(const std::string& pointer, std::string message) {
  return Violation{pointer, std::move(message)};
}

std::optional<Violation> Validator::Check(const Node& node, const json& instance,
                                          std::string& pointer) {
  if (node.constant.has_value()) {
    return *node.constant ? std::nullopt : std::optional(At(pointer, "no value is allowed here"));
  }
  unsigned type = TypeOf(instance);
  if (node.types != 0 && (node.types & type) == 0) {
    return At(pointer, fmt::format("must be of type {}", TypeNames(node.types)));
  }
  if (node.enumeration.has_value() &&
      std::none_of(node.enumeration->begin(), node.enumeration->end(),
                   [&instance](const json& v) { return JsonEqual(v, instance); })) {
    return At(pointer, "must be one of the schema's enum values");
  }
  if (node.constant_value.has_value() && !JsonEqual(*node.constant_value, instance)) {
    return At(pointer, fmt::format("must be {}", Shown(*node.constant_value)));
  }
  if ((type & kNumber) != 0) {
    return CheckNumber(node, instance, pointer);
  }
  if (type == kString) {
    std::size_t length = CodePoints(instance.get_ref<const std::string&>());
    if (node.min_length.has_value() && length < *node.min_length) {
      return At(pointer, fmt::format("must be at least {} characters long", *node.min_length));
    }
    if (node.max_length.has_value() && length > *node.max_length) {
      return At(pointer, fmt::format("must be at most {} characters long", *node.max_length));
    }
  }
  if (type == kArray) {
    return CheckArray(node, instance, pointer);
  }
  if (type == kObject) {
    return CheckObject(node, instance, pointer);
  }
  return std::nullopt;
}

std::optional<Violation> Validator::CheckNumber(const Node& node, const json& instance,
                                                const std::string& pointer) {
  if (node.minimum.has_value() && CompareNumbers(instance, *node.minimum) < 0) {
    return At(pointer, fmt::format("must be at least {}", Shown(*node.minimum)));
  }
  if (node.maximum.has_value() && CompareNumbers(instance, *node.maximum) > 0) {
    return At(pointer, fmt::format("must be at most {}", Shown(*node.maximum)));
  }
  return std::nullopt;
}

std::optional<Violation> Validator::CheckArray(const Node& node, const json& instance,
                                               std::string& pointer) {
  if (node.min_items.has_value() && instance.size() < *node.min_items) {
    return At(pointer, fmt::format("must have at least {} items", *node.min_items));
  }
  if (node.max_items.has_value() && instance.size() > *node.max_items) {
    return At(pointer, fmt::format("must have at most {} items", *node.max_items));
  }
  if (node.items != nullptr) {
    for (std::size_t i = 0; i < instance.size(); ++i) {
      if (std::optional<Violation> found =
              Descend(*node.items, instance[i], pointer, std::to_string(i))) {
        return found;
      }
    }
  }
  return std::nullopt;
}

std::optional<Violation> Validator::CheckObject(const Node& node, const json& instance,
                                                std::string& pointer) {
  for (const std::string& name : node.required) {
    if (!instance.contains(name)) {
      return At(pointer, fmt::format("the member {} is required", Shown(json(name))));
    }
  }
  for (auto it = instance.begin(); it != instance.end(); ++it) {
    const Node* sub = node.additional_properties.get();
    for (const auto& [name, property] : node.properties) {
      if (name == it.key()) {
        sub = property.get();
        break;
      }
    }
    if (sub == nullptr) {
      continue;
    }
    if (std::optional<Violation> found = Descend(*sub, it.value(), pointer, it.key())) {
      if (sub == node.additional_properties.get() && sub->constant == false) {
        found->message = "this member is not allowed (additionalProperties)";
      }
      return found;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<JsonSchema> JsonSchema::Compile(std::string_view text) {
  if (text.size() > kMaxSchemaBytes) {
    return absl::InvalidArgumentError(fmt::format("the schema is over {} bytes", kMaxSchemaBytes));
  }
  absl::StatusOr<json> document = core::ParseStrictJson(text, 2 * kMaxSchemaDepth + 8);
  if (!document.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("the schema is not valid JSON: {}", document.status().message()));
  }
  absl::StatusOr<Node> root = Compiler().Compile(*document, "", 0);
  if (!root.ok()) {
    return root.status();
  }
  return JsonSchema(std::make_shared<const Node>(*std::move(root)));
}

std::optional<Violation> JsonSchema::Validate(const json& instance) const {
  std::string pointer;
  return Validator().Check(*root_, instance, pointer);
}

}  // namespace bulwark::schema
