// Tests of the token-bucket rate limiter: burst, refill, Retry-After, per-key isolation, the
// bound on buckets and concurrent use.
#include "proxy/rate_limiter.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace bulwark::proxy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const BucketLimit kTenPerSecondBurstThree{{10, seconds(1)}, 3};
const RateLimiter::TimePoint kStart{seconds(1000)};

TEST(LocalRateLimiterTest, AllowsTheBurstThenRefuses) {
  LocalRateLimiter limiter;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Acquire("k", kTenPerSecondBurstThree, kStart).allowed) << i;
  }
  RateDecision refused = limiter.Acquire("k", kTenPerSecondBurstThree, kStart);
  EXPECT_FALSE(refused.allowed);
  // One token every 100 ms.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(refused.retry_after), milliseconds(100));
}

TEST(LocalRateLimiterTest, RefillsAtTheRateAndNeverPastTheBurst) {
  LocalRateLimiter limiter;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.Acquire("k", kTenPerSecondBurstThree, kStart).allowed);
  }
  EXPECT_FALSE(limiter.Acquire("k", kTenPerSecondBurstThree, kStart + milliseconds(50)).allowed);
  EXPECT_TRUE(limiter.Acquire("k", kTenPerSecondBurstThree, kStart + milliseconds(100)).allowed);
  EXPECT_FALSE(limiter.Acquire("k", kTenPerSecondBurstThree, kStart + milliseconds(120)).allowed);
  // An hour idle refills to the burst (3), not to 36000.
  RateLimiter::TimePoint later = kStart + seconds(3600);
  int allowed = 0;
  for (int i = 0; i < 10; ++i) {
    allowed += limiter.Acquire("k", kTenPerSecondBurstThree, later).allowed ? 1 : 0;
  }
  EXPECT_EQ(allowed, 3);
}

TEST(LocalRateLimiterTest, RetryAfterOfASlowRateIsTheTimeToTheNextToken) {
  LocalRateLimiter limiter;
  BucketLimit one_per_minute{{1, seconds(60)}, 1};
  ASSERT_TRUE(limiter.Acquire("k", one_per_minute, kStart).allowed);
  RateDecision refused = limiter.Acquire("k", one_per_minute, kStart + seconds(15));
  ASSERT_FALSE(refused.allowed);
  EXPECT_NEAR(std::chrono::duration<double>(refused.retry_after).count(), 45.0, 0.01);
}

TEST(LocalRateLimiterTest, KeysAreIsolated) {
  LocalRateLimiter limiter;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.Acquire("alice", kTenPerSecondBurstThree, kStart).allowed);
  }
  EXPECT_FALSE(limiter.Acquire("alice", kTenPerSecondBurstThree, kStart).allowed);
  EXPECT_TRUE(limiter.Acquire("bob", kTenPerSecondBurstThree, kStart).allowed);
  EXPECT_TRUE(limiter.Acquire("alice2", kTenPerSecondBurstThree, kStart).allowed);
  EXPECT_FALSE(limiter.Acquire("alice", kTenPerSecondBurstThree, kStart).allowed);
}

TEST(LocalRateLimiterTest, BucketCountStaysBoundedUnderManyKeys) {
  LocalRateLimiter limiter({.max_buckets = 160});
  for (int i = 0; i < 10'000; ++i) {
    limiter.Acquire("client-" + std::to_string(i), kTenPerSecondBurstThree,
                    kStart + milliseconds(i));
  }
  EXPECT_LE(limiter.size(), 160u);
  EXPECT_GT(limiter.size(), 0u);
}

TEST(LocalRateLimiterTest, EvictionKeepsAnEmptiedBucketWhileFullOnesCanGo) {
  // One bucket per shard at most: a new key must evict; an attacker's emptied bucket is kept
  // when the only other candidate is full, so flooding new keys does not refill it.
  LocalRateLimiter limiter({.max_buckets = LocalRateLimiter::kShards * 2});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.Acquire("attacker", kTenPerSecondBurstThree, kStart).allowed);
  }
  for (int i = 0; i < 1000; ++i) {
    limiter.Acquire("fresh-" + std::to_string(i), kTenPerSecondBurstThree, kStart);
  }
  EXPECT_FALSE(limiter.Acquire("attacker", kTenPerSecondBurstThree, kStart).allowed);
}

TEST(LocalRateLimiterTest, ConcurrentAcquiresNeverGrantMoreThanTheBurst) {
  LocalRateLimiter limiter;
  BucketLimit limit{{1, seconds(3600)}, 100};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        allowed += limiter.Acquire("shared", limit, kStart).allowed ? 1 : 0;
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(allowed.load(), 100);
}

}  // namespace
}  // namespace bulwark::proxy
