#include "authority/sso/login_throttle.h"

#include <gtest/gtest.h>

namespace bulwark::authority {
namespace {

using core::FromUnixSeconds;
using core::Seconds;

TEST(LoginThrottleTest, GrowingDelaysThenALockoutThatEnds) {
  LoginThrottle throttle(AccountThrottleDefaults());
  core::TimePoint t = FromUnixSeconds(1'800'000'000);
  EXPECT_EQ(throttle.BlockedUntil("alice", t), std::nullopt);
  throttle.RecordFailure("alice", t);
  throttle.RecordFailure("alice", t);
  EXPECT_EQ(throttle.BlockedUntil("alice", t), std::nullopt) << "two free failures";
  throttle.RecordFailure("alice", t);
  EXPECT_EQ(throttle.BlockedUntil("alice", t), t + Seconds(1));
  t += Seconds(1);
  EXPECT_EQ(throttle.BlockedUntil("alice", t), std::nullopt);
  throttle.RecordFailure("alice", t);
  EXPECT_EQ(throttle.BlockedUntil("alice", t), t + Seconds(2)) << "the delay doubles";
  t += Seconds(2);
  throttle.RecordFailure("alice", t);
  EXPECT_EQ(throttle.BlockedUntil("alice", t), t + Seconds(15 * 60)) << "locked after 5";
  EXPECT_EQ(throttle.BlockedUntil("alice", t + Seconds(899)), t + Seconds(15 * 60));
  EXPECT_EQ(throttle.BlockedUntil("bob", t), std::nullopt) << "per key";
  EXPECT_EQ(throttle.BlockedUntil("alice", t + Seconds(900)), std::nullopt);
  throttle.RecordFailure("alice", t + Seconds(900));
  EXPECT_EQ(throttle.BlockedUntil("alice", t + Seconds(900)), std::nullopt)
      << "a served lockout starts the count again";
}

TEST(LoginThrottleTest, ResetAndForgettingOldFailures) {
  LoginThrottle throttle(AccountThrottleDefaults());
  core::TimePoint t = FromUnixSeconds(1'800'000'000);
  for (int i = 0; i < 4; ++i) throttle.RecordFailure("alice", t);
  EXPECT_TRUE(throttle.BlockedUntil("alice", t).has_value());
  throttle.Reset("alice");
  EXPECT_EQ(throttle.BlockedUntil("alice", t), std::nullopt);
  for (int i = 0; i < 4; ++i) throttle.RecordFailure("bob", t);
  throttle.RecordFailure("bob", t + Seconds(15 * 60));
  EXPECT_EQ(throttle.BlockedUntil("bob", t + Seconds(15 * 60)), std::nullopt)
      << "failures older than forget_after no longer count";
}

TEST(LoginThrottleTest, TheAddressThrottleAllowsMoreAndCapsTheDelay) {
  LoginThrottle throttle(AddressThrottleDefaults());
  core::TimePoint t = FromUnixSeconds(1'800'000'000);
  for (int i = 0; i < 10; ++i) throttle.RecordFailure("192.0.2.1", t);
  EXPECT_EQ(throttle.BlockedUntil("192.0.2.1", t), std::nullopt);
  for (int i = 0; i < 19; ++i) throttle.RecordFailure("192.0.2.1", t);
  EXPECT_EQ(throttle.BlockedUntil("192.0.2.1", t), t + Seconds(60)) << "capped at max_delay";
  throttle.RecordFailure("192.0.2.1", t);
  EXPECT_EQ(throttle.BlockedUntil("192.0.2.1", t), t + Seconds(15 * 60));
}

TEST(LoginThrottleTest, MemoryIsBoundedAndTheStalestEntryGoesFirst) {
  ThrottleOptions options = AccountThrottleDefaults();
  options.max_entries = 100;
  LoginThrottle throttle(options);
  core::TimePoint t = FromUnixSeconds(1'800'000'000);
  for (int i = 0; i < 5; ++i) throttle.RecordFailure("victim", t + Seconds(10));
  for (int i = 0; i < 110; ++i) {
    throttle.RecordFailure("name" + std::to_string(i), t + Seconds(i < 50 ? 0 : 20));
  }
  EXPECT_LE(throttle.size(), 100u);
  EXPECT_TRUE(throttle.BlockedUntil("victim", t + Seconds(20)).has_value())
      << "the entries older than the locked one were evicted before it";
}

}  // namespace
}  // namespace bulwark::authority
