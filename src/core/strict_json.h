// Strict JSON parsing for untrusted input (API bodies, JOSE headers and claims): RFC 8259 JSON
// with duplicate object keys refused and nesting bounded. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace bulwark::core {

// Parses `text` as one JSON value. InvalidArgument, saying why, when it is not valid JSON, when
// an object repeats a key (at any depth) or when arrays and objects nest deeper than `max_depth`.
absl::StatusOr<nlohmann::json> ParseStrictJson(std::string_view text, std::size_t max_depth = 32);

}  // namespace bulwark::core
