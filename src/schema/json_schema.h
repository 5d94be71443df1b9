// JSON Schema validation of request bodies (docs/gateway.md#json-schema): a documented subset of
// draft 2020-12 compiled from its JSON text, and a validator that reports the JSON pointer
// (RFC 6901) of the first failure. Keywords outside the subset are refused when the schema is
// compiled, never ignored. Sans-I/O; a compiled JsonSchema is immutable and thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace bulwark::schema {

// Bounds on what Compile accepts: the schema text, and how deep subschemas nest.
inline constexpr std::size_t kMaxSchemaBytes = 1 << 20;
inline constexpr std::size_t kMaxSchemaDepth = 32;

// Where and why an instance does not match its schema.
struct Violation {
  std::string pointer;  // RFC 6901, into the instance; "" is the whole document
  std::string message;  // what is wrong there, for the client
};

class JsonSchema {
 public:
  // Compiles the schema document `text` (strict JSON: duplicate keys refused). Supported: the
  // boolean schemas and the keywords type, properties, required, additionalProperties, items,
  // enum, const, minimum, maximum, minLength, maxLength, minItems, maxItems; the annotations
  // $schema (only the 2020-12 URI), title, description, $comment, default and examples are read
  // and ignored. Errors (InvalidArgument "<pointer in the schema>: <message>"): text over
  // kMaxSchemaBytes, not JSON, an unknown or unsupported keyword (named, e.g. pattern or $ref),
  // a keyword value of the wrong form, subschemas nested deeper than kMaxSchemaDepth.
  static absl::StatusOr<JsonSchema> Compile(std::string_view text);

  // Returns the first place where `instance` does not match, or nullopt when it matches. The
  // keywords of a schema are checked in the order listed above; object members in key order.
  std::optional<Violation> Validate(const nlohmann::json& instance) const;

  struct Node;

 private:
  explicit JsonSchema(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
  std::shared_ptr<const Node> root_;
};

}  // namespace bulwark::schema
