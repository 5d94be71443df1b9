#include "authority/sso/login_throttle.h"

#include <algorithm>

namespace bulwark::authority {

ThrottleOptions AccountThrottleDefaults() { return ThrottleOptions{}; }

ThrottleOptions AddressThrottleDefaults() {
  ThrottleOptions options;
  options.free_failures = 10;
  options.lockout_failures = 30;
  return options;
}

std::optional<core::TimePoint> LoginThrottle::NextAllowed(const Entry& entry) const {
  if (entry.failures >= options_.lockout_failures) {
    return entry.last_failure + options_.lockout;
  }
  if (entry.failures <= options_.free_failures) {
    return std::nullopt;
  }
  int doublings = std::min(entry.failures - options_.free_failures - 1, 30);
  core::Seconds delay = std::min<core::Seconds>(
      options_.first_delay * (std::int64_t{1} << doublings), options_.max_delay);
  return entry.last_failure + delay;
}

std::optional<core::TimePoint> LoginThrottle::BlockedUntil(const std::string& key,
                                                           core::TimePoint now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  std::optional<core::TimePoint> next = NextAllowed(it->second);
  if (next && *next > now) {
    return next;
  }
  // A served lockout starts the count again; so do failures long past.
  if (it->second.failures >= options_.lockout_failures ||
      now - it->second.last_failure >= options_.forget_after) {
    entries_.erase(it);
  }
  return std::nullopt;
}

void LoginThrottle::RecordFailure(const std::string& key, core::TimePoint now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_entries) {
      Evict(now);
    }
    it = entries_.emplace(key, Entry{}).first;
  } else if (now - it->second.last_failure >= options_.forget_after) {
    it->second.failures = 0;
  }
  it->second.failures += 1;
  it->second.last_failure = now;
}

void LoginThrottle::Reset(const std::string& key) {
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

std::size_t LoginThrottle::size() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void LoginThrottle::Evict(core::TimePoint now) {
  absl::erase_if(entries_, [&](const auto& kv) {
    return now - kv.second.last_failure >= options_.forget_after;
  });
  if (entries_.size() < options_.max_entries) {
    return;
  }
  auto stalest = std::min_element(
      entries_.begin(), entries_.end(),
      [](const auto& a, const auto& b) { return a.second.last_failure < b.second.last_failure; });
  entries_.erase(stalest);
}

}  // namespace bulwark::authority
