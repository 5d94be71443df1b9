// Token-bucket rate limiting for the gateway (docs/gateway.md#rate-limiting). RateLimiter is the
// seam (a Redis-backed global limiter can implement it later); LocalRateLimiter keeps buckets in
// this process: sharded hash maps, each under its own mutex held for one lookup, with a bounded
// number of buckets. Sans-I/O: time comes in as an argument. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "mesh/rate.h"

namespace bulwark::proxy {

// A bucket's shape: `rate` refills it, `burst` is its size (tokens it holds when full).
struct BucketLimit {
  mesh::Rate rate;
  std::uint32_t burst = 1;
};

struct RateDecision {
  bool allowed = true;
  // When refused: how long until a token is there (the Retry-After to send, rounded up).
  std::chrono::nanoseconds retry_after{0};
};

class RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~RateLimiter() = default;
  // Takes one token from the bucket `key` shaped by `limit` at time `now`: allowed when one was
  // there, else refused with the wait until the next one. A key seen for the first time starts
  // with a full bucket. Calls for one key must use one limit.
  virtual RateDecision Acquire(std::string_view key, const BucketLimit& limit, TimePoint now) = 0;
};

struct LocalRateLimiterOptions {
  std::size_t max_buckets = 100'000;  // in all shards together
};

class LocalRateLimiter final : public RateLimiter {
 public:
  static constexpr std::size_t kShards = 16;
  explicit LocalRateLimiter(LocalRateLimiterOptions options = {});

  // As RateLimiter::Acquire. When a shard is full, a new key first evicts every bucket that has
  // refilled completely (it is indistinguishable from a new one, so nothing is lost); when none
  // has, the fullest bucket goes (the one whose owner loses the least).
  RateDecision Acquire(std::string_view key, const BucketLimit& limit, TimePoint now) override;
  // Returns how many buckets are kept.
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint last;  // when `tokens` was computed
  };
  struct Shard {
    mutable std::mutex mu;
    absl::flat_hash_map<std::string, Bucket> buckets;  // guarded by mu
  };
  static void MakeRoom(Shard& shard, const BucketLimit& limit, TimePoint now);

  const std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace bulwark::proxy
