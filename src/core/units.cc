#include "core/units.h"

#include <charconv>
#include <limits>

#include "fmt/format.h"

namespace bulwark::core {
namespace {

// Splits "123abc" into its leading number and the rest; fails when there is no number.
absl::StatusOr<std::pair<std::uint64_t, std::string_view>> SplitNumber(std::string_view text,
                                                                       std::string_view what) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range) {
    return absl::InvalidArgumentError(fmt::format("{} '{}' is too large", what, text));
  }
  if (ec != std::errc() || ptr == text.data()) {
    return absl::InvalidArgumentError(fmt::format("{} '{}' must start with a number", what, text));
  }
  return std::make_pair(value, std::string_view(ptr, end - ptr));
}

}  // namespace

absl::StatusOr<Seconds> ParseDuration(std::string_view text) {
  auto split = SplitNumber(text, "duration");
  if (!split.ok()) {
    return split.status();
  }
  auto [value, unit] = *split;
  std::uint64_t factor = 0;
  if (unit == "s") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60;
  } else if (unit == "h") {
    factor = 3600;
  } else if (unit == "d") {
    factor = 86400;
  } else {
    return absl::InvalidArgumentError(
        fmt::format("duration '{}' needs a unit: s, m, h or d (as in 30s, 10m, 1h)", text));
  }
  if (value == 0) {
    return absl::InvalidArgumentError(fmt::format("duration '{}' must be positive", text));
  }
  // Bounded to about 1000 years so that adding it to a time point cannot overflow.
  if (value > 366ULL * 1000 * 86400 / factor) {
    return absl::InvalidArgumentError(fmt::format("duration '{}' is too large", text));
  }
  return Seconds(static_cast<long long>(value * factor));
}

std::string FormatDuration(Seconds d) {
  long long s = d.count();
  if (s != 0 && s % 86400 == 0) {
    return fmt::format("{}d", s / 86400);
  }
  if (s != 0 && s % 3600 == 0) {
    return fmt::format("{}h", s / 3600);
  }
  if (s != 0 && s % 60 == 0) {
    return fmt::format("{}m", s / 60);
  }
  return fmt::format("{}s", s);
}

absl::StatusOr<std::uint64_t> ParseSize(std::string_view text) {
  auto split = SplitNumber(text, "size");
  if (!split.ok()) {
    return split.status();
  }
  auto [value, unit] = *split;
  std::uint64_t factor = 0;
  if (unit == "B") {
    factor = 1;
  } else if (unit == "KiB") {
    factor = 1024;
  } else if (unit == "MiB") {
    factor = 1024 * 1024;
  } else if (unit == "GiB") {
    factor = 1024ULL * 1024 * 1024;
  } else {
    return absl::InvalidArgumentError(
        fmt::format("size '{}' needs a unit: B, KiB, MiB or GiB (as in 64KiB)", text));
  }
  if (value > std::numeric_limits<std::uint64_t>::max() / factor) {
    return absl::InvalidArgumentError(fmt::format("size '{}' is too large", text));
  }
  return value * factor;
}

}  // namespace bulwark::core
