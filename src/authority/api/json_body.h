// Strict parsing of JSON request bodies: one object, no duplicate keys, only the fields the
// endpoint knows, strings within size limits. Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace bulwark::authority::api {

struct FieldSpec {
  std::string name;
  bool required = false;
  std::size_t max_bytes = 256;
};

// Parses `body` as a JSON object whose members are all strings named in `fields`. Returns the
// string fields present. InvalidArgument, naming the field, for anything else: invalid JSON,
// duplicate or unknown keys, non-string values, a missing required field, an oversize value.
absl::StatusOr<std::map<std::string, std::string>> ParseStringFields(
    std::string_view body, const std::vector<FieldSpec>& fields);

}  // namespace bulwark::authority::api
