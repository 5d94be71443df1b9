#include "tokens/jwks_refresh.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace bulwark::tokens {
namespace {

using core::Seconds;

TEST(CacheControlMaxAgeTest, ReadsTheDirective) {
  EXPECT_EQ(CacheControlMaxAge("public, max-age=300"), Seconds(300));
  EXPECT_EQ(CacheControlMaxAge("Max-Age=42"), Seconds(42));
  EXPECT_EQ(CacheControlMaxAge("max-age=\"60\", must-revalidate"), Seconds(60));
  EXPECT_EQ(CacheControlMaxAge(" max-age = 7 "), Seconds(7));
  EXPECT_EQ(CacheControlMaxAge("max-age=5, max-age=5"), Seconds(5));
  EXPECT_EQ(CacheControlMaxAge("s-maxage=10, max-age=0"), Seconds(0));
}

TEST(CacheControlMaxAgeTest, RefusesWhatIsNotAMaxAge) {
  for (const char* value :
       {"", "public", "max-age", "max-age=", "max-age=-1", "max-age=1e3", "max-age=0x10",
        "max-age=12345678901", "max-age=10, max-age=20", "no-store, max-age=60",
        "max-age=60, no-cache", "max-age=\"60", "max-age=6 0"}) {
    EXPECT_EQ(CacheControlMaxAge(value), std::nullopt) << value;
  }
}

TEST(JwksLifetimeTest, ClampsTheMaxAge) {
  EXPECT_EQ(JwksLifetime("public, max-age=300"), Seconds(300));
  EXPECT_EQ(JwksLifetime("max-age=0"), kMinJwksLifetime);
  EXPECT_EQ(JwksLifetime("max-age=9999999999"), kMaxJwksLifetime);
  EXPECT_EQ(JwksLifetime("no-store"), kDefaultJwksLifetime);
  EXPECT_EQ(JwksLifetime(std::nullopt), kDefaultJwksLifetime);
}

TEST(JwksLifetimeTest, RefreshesBeforeExpiry) {
  core::TimePoint t = core::FromUnixSeconds(1'800'000'000);
  EXPECT_EQ(JwksRefreshTime(t, Seconds(300)), t + Seconds(240));
}

TEST(RefetchLimiterTest, GrantsOncePerInterval) {
  RefetchLimiter limiter(Seconds(10));
  core::TimePoint t = core::FromUnixSeconds(1'800'000'000);
  EXPECT_TRUE(limiter.TryAcquire(t));
  EXPECT_FALSE(limiter.TryAcquire(t));
  EXPECT_FALSE(limiter.TryAcquire(t + Seconds(9)));
  EXPECT_TRUE(limiter.TryAcquire(t + Seconds(10)));
  EXPECT_FALSE(limiter.TryAcquire(t + Seconds(19)));
  // A clock that steps back does not open the gate either.
  EXPECT_FALSE(limiter.TryAcquire(t));
}

TEST(RefetchLimiterTest, RacingCallersGetOneGrant) {
  RefetchLimiter limiter(Seconds(10));
  core::TimePoint t = core::FromUnixSeconds(1'800'000'000);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 1000; ++j) {
        granted += limiter.TryAcquire(t) ? 1 : 0;
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(granted.load(), 1);
}

}  // namespace
}  // namespace bulwark::tokens
