// Parsing and printing of the human units used in mesh.yaml and on the command line:
// durations ("30s", "10m", "1h", "7d") and sizes ("64KiB", "128MiB"). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/clock.h"

namespace bulwark::core {

// Parses a duration: a positive integer followed by one of s, m, h, d. Errors say what is wrong.
absl::StatusOr<Seconds> ParseDuration(std::string_view text);
// Formats a duration in the largest unit that divides it exactly ("90s", "10m", "2h").
std::string FormatDuration(Seconds d);
// Parses a size: a non-negative integer followed by B, KiB, MiB or GiB.
absl::StatusOr<std::uint64_t> ParseSize(std::string_view text);

}  // namespace bulwark::core
