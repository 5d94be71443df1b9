// Token buckets refilled lazily: a bucket stores its tokens and when they were counted, and each
// Acquire adds what the elapsed time earned, capped at the burst.
#include "proxy/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace bulwark::proxy {
namespace {

double PerNanosecond(const mesh::Rate& rate) { return rate.PerSecond() / 1e9; }

// Returns the tokens of `bucket` at `now` (refilled, capped at the burst).
template <typename B>
double TokensAt(const B& bucket, const BucketLimit& limit, RateLimiter::TimePoint now) {
  double elapsed = static_cast<double>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(now - bucket.last).count()));
  return std::min<double>(limit.burst, bucket.tokens + elapsed * PerNanosecond(limit.rate));
}

}  // namespace

LocalRateLimiter::LocalRateLimiter(LocalRateLimiterOptions options)
    : max_per_shard_(std::max<std::size_t>(1, options.max_buckets / kShards)) {}

void LocalRateLimiter::MakeRoom(Shard& shard, const BucketLimit& limit, TimePoint now) {
  // Buckets of other routes' limits may share the shard; they are judged by `limit` too, which
  // at worst evicts a bucket a little early or keeps it a little long.
  std::size_t before = shard.buckets.size();
  absl::erase_if(shard.buckets, [&](const auto& entry) {
    return TokensAt(entry.second, limit, now) >= limit.burst;
  });
  if (shard.buckets.size() < before) {
    return;
  }
  auto fullest = std::max_element(
      shard.buckets.begin(), shard.buckets.end(), [&](const auto& a, const auto& b) {
        return TokensAt(a.second, limit, now) < TokensAt(b.second, limit, now);
      });
  if (fullest != shard.buckets.end()) {
    shard.buckets.erase(fullest);
  }
}

RateDecision LocalRateLimiter::Acquire(std::string_view key, const BucketLimit& limit,
                                       TimePoint now) {
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.buckets.find(absl::string_view(key.data(), key.size()));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) {
      MakeRoom(shard, limit, now);
    }
    it = shard.buckets.emplace(std::string(key), Bucket{static_cast<double>(limit.burst), now})
             .first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = TokensAt(bucket, limit, now);
  bucket.last = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return {};
  }
  double wait_ns = std::ceil((1 - bucket.tokens) / PerNanosecond(limit.rate));
  return {false, std::chrono::nanoseconds(static_cast<std::int64_t>(wait_ns))};
}

std::size_t LocalRateLimiter::size() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.buckets.size();
  }
  return n;
}

}  // namespace bulwark::proxy
