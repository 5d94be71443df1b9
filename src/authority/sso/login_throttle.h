// Brute-force protection of the login pages (docs/sso.md#login-pages-and-mfa): failed attempts
// counted per key (one throttle keyed by account name, one by source address), growing delays
// before the next attempt, then a temporary lockout. Sans-I/O: the caller passes the time.
// Memory is bounded by max_entries. Thread-safe (one mutex; sign-ins are rare, not a hot path).
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "core/clock.h"

namespace bulwark::authority {

struct ThrottleOptions {
  int free_failures = 2;         // failures answered without any delay
  int lockout_failures = 5;      // this many failures in a row lock the key for `lockout`
  core::Seconds first_delay{1};  // the delay after failure free_failures+1, doubling after
  core::Seconds max_delay{60};
  core::Seconds lockout{15 * 60};
  core::Seconds forget_after{15 * 60};  // failures this old are forgotten
  std::size_t max_entries = 10000;
};

// The defaults per account: no delay for 2 failures, then 1 s and 2 s, locked 15 min after 5.
ThrottleOptions AccountThrottleDefaults();
// The defaults per source address: no delay for 10 failures, then 1 s doubling up to 60 s,
// locked 15 min after 30 (a shared NAT address holds several honest users).
ThrottleOptions AddressThrottleDefaults();

class LoginThrottle {
 public:
  explicit LoginThrottle(ThrottleOptions options) : options_(options) {}

  // Returns the time before which `key` may not try again, or nothing when it may try now.
  std::optional<core::TimePoint> BlockedUntil(const std::string& key, core::TimePoint now);
  // Counts a failed attempt of `key` at `now`.
  void RecordFailure(const std::string& key, core::TimePoint now);
  // Forgets the failures of `key` (after a complete sign-in).
  void Reset(const std::string& key);
  // Returns how many keys are tracked (for tests of the memory bound).
  std::size_t size();

  const ThrottleOptions& options() const { return options_; }

 private:
  struct Entry {
    int failures = 0;
    core::TimePoint last_failure;
  };
  std::optional<core::TimePoint> NextAllowed(const Entry& entry) const;
  // Makes room for one more entry: drops forgotten entries, else the stalest one.
  void Evict(core::TimePoint now);

  const ThrottleOptions options_;
  std::mutex mutex_;
  absl::flat_hash_map<std::string, Entry> entries_;
};

}  // namespace bulwark::authority
