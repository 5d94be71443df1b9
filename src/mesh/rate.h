// Request rates as written in mesh.yaml ("20/s", "600/m", "1000/h"), used by the gateway's
// rate limits. Pure values and functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/clock.h"

namespace bulwark::mesh {

// `count` events per `period`; both positive.
struct Rate {
  std::uint64_t count = 0;
  core::Seconds period{1};

  // Returns the rate in events per second (count / period).
  double PerSecond() const {
    return static_cast<double>(count) / static_cast<double>(period.count());
  }
  friend bool operator==(const Rate&, const Rate&) = default;
};

// Parses "<count>/<unit>" with a positive integer count (at most 10^9) and unit s, m or h.
// Errors name the text and say what is wrong (missing '/', bad count, unknown unit).
absl::StatusOr<Rate> ParseRate(std::string_view text);
// Formats a rate back into the mesh.yaml form ("20/s").
std::string FormatRate(const Rate& rate);

}  // namespace bulwark::mesh
