// Wall-clock time behind a seam so that tests can control it. SystemClock() is thread-safe;
// a test clock (tests/support/fake_clock.h) is set by the test thread only.
#pragma once

#include <chrono>

namespace bulwark::core {

using TimePoint = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Returns the current wall-clock time.
  virtual TimePoint Now() const = 0;
};

// Returns the process-wide real clock.
const Clock& SystemClock();

// Returns seconds since the Unix epoch of `t`.
inline long long ToUnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<Seconds>(t.time_since_epoch()).count();
}
// Returns the time point `s` seconds after the Unix epoch.
inline TimePoint FromUnixSeconds(long long s) { return TimePoint(Seconds(s)); }

}  // namespace bulwark::core
