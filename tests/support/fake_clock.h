// A clock that tests set and advance by hand. Not thread-safe: use from the test thread.
#pragma once

#include "core/clock.h"

namespace bulwark::testing {

class FakeClock final : public core::Clock {
 public:
  explicit FakeClock(core::TimePoint start = core::FromUnixSeconds(1'800'000'000)) : now_(start) {}
  core::TimePoint Now() const override { return now_; }
  void Advance(core::Seconds d) { now_ += d; }
  void Set(core::TimePoint t) { now_ = t; }

 private:
  core::TimePoint now_;
};

}  // namespace bulwark::testing
