#include "tokens/jwks_refresh.h"

#include <algorithm>
#include <charconv>

#include "core/ascii.h"

namespace bulwark::tokens {
namespace {

// Returns the delta-seconds of a max-age value; nullopt unless all digits (quotes allowed).
std::optional<std::int64_t> DeltaSeconds(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    v = v.substr(1, v.size() - 2);
  }
  if (v.empty() || v.size() > 10 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::int64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

}  // namespace

std::optional<core::Seconds> CacheControlMaxAge(std::string_view value) {
  std::optional<std::int64_t> max_age;
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view directive = core::TrimOws(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    std::size_t eq = directive.find('=');
    std::string_view name = core::TrimOws(directive.substr(0, eq));
    if (core::AsciiEqualsIgnoreCase(name, "no-store") ||
        core::AsciiEqualsIgnoreCase(name, "no-cache")) {
      return std::nullopt;
    }
    if (!core::AsciiEqualsIgnoreCase(name, "max-age")) {
      continue;
    }
    if (eq == std::string_view::npos) {
      return std::nullopt;
    }
    std::optional<std::int64_t> n = DeltaSeconds(core::TrimOws(directive.substr(eq + 1)));
    if (!n.has_value() || (max_age.has_value() && *max_age != *n)) {
      return std::nullopt;
    }
    max_age = n;
  }
  if (!max_age.has_value()) {
    return std::nullopt;
  }
  return core::Seconds(*max_age);
}

core::Seconds JwksLifetime(std::optional<std::string_view> cache_control) {
  std::optional<core::Seconds> max_age =
      cache_control.has_value() ? CacheControlMaxAge(*cache_control) : std::nullopt;
  if (!max_age.has_value()) {
    return kDefaultJwksLifetime;
  }
  return std::clamp(*max_age, kMinJwksLifetime, kMaxJwksLifetime);
}

core::TimePoint JwksRefreshTime(core::TimePoint fetched, core::Seconds lifetime) {
  return fetched + lifetime * 4 / 5;
}

bool RefetchLimiter::TryAcquire(core::TimePoint now) {
  std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::int64_t interval_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(interval_).count();
  std::int64_t last = last_ms_.load(std::memory_order_relaxed);
  // Only one of several racing callers wins the exchange; the others see the new grant.
  while (last == INT64_MIN || now_ms - last >= interval_ms) {
    if (last_ms_.compare_exchange_weak(last, now_ms, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

}  // namespace bulwark::tokens
