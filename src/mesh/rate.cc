#include "mesh/rate.h"

#include <charconv>

#include "fmt/format.h"

namespace bulwark::mesh {
namespace {

constexpr std::uint64_t kMaxCount = 1'000'000'000;

}  // namespace

absl::StatusOr<Rate> ParseRate(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(
        fmt::format("rate '{}' must be <count>/<unit> (as in 20/s or 600/m)", text));
  }
  const std::string_view count_text = text.substr(0, slash);
  const std::string_view unit = text.substr(slash + 1);
  std::uint64_t count = 0;
  auto [ptr, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (count_text.empty() || ec != std::errc() || ptr != count_text.data() + count_text.size()) {
    return absl::InvalidArgumentError(
        fmt::format("rate '{}' must start with a whole number of requests", text));
  }
  if (count == 0 || count > kMaxCount) {
    return absl::InvalidArgumentError(
        fmt::format("rate '{}' must count between 1 and {} requests", text, kMaxCount));
  }
  Rate rate;
  rate.count = count;
  if (unit == "s") {
    rate.period = core::Seconds(1);
  } else if (unit == "m") {
    rate.period = core::Seconds(60);
  } else if (unit == "h") {
    rate.period = core::Seconds(3600);
  } else {
    return absl::InvalidArgumentError(
        fmt::format("rate '{}' needs a unit after '/': s, m or h (as in 20/s)", text));
  }
  return rate;
}

std::string FormatRate(const Rate& rate) {
  const long long p = rate.period.count();
  if (p == 3600) {
    return fmt::format("{}/h", rate.count);
  }
  if (p == 60) {
    return fmt::format("{}/m", rate.count);
  }
  if (p == 1) {
    return fmt::format("{}/s", rate.count);
  }
  return fmt::format("{}/{}s", rate.count, p);
}

}  // namespace bulwark::mesh
