// A bounded cache of tokens that verified, keyed by the SHA-256 of the token and kept until the
// token's exp, so that a token seen before costs a hash and a lookup instead of a signature
// verification. Used by the sidecar's transaction-token filter and the gateway's bearer
// authenticator. Failures are never cached. Thread-safe: sharded, one short lock per lookup.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace bulwark::proxy {

struct TokenCacheOptions {
  std::size_t max_entries = 16384;  // across all shards
};

// Returns the raw SHA-256 of `token`, the cache key.
std::string TokenDigest(std::string_view token);

// `Value` is what verification proved (cheap to copy: a shared_ptr to immutable claims).
template <typename Value>
class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(TokenCacheOptions options = {})
      : max_per_shard_(std::max<std::size_t>(1, options.max_entries / kShards)) {}

  // Returns the value cached for `digest` if it has not expired at `now`.
  std::optional<Value> Find(const std::string& digest, core::TimePoint now) const {
    const Shard& shard = ShardFor(digest);
    std::lock_guard lock(shard.mu);
    auto it = shard.entries.find(digest);
    if (it != shard.entries.end() && now < it->second.expires_at) {
      return it->second.value;
    }
    return std::nullopt;
  }

  // Keeps `value` for `digest` until `expires_at` (nothing when that is not after `now`). A full
  // shard first drops its expired entries, then, if still full, one live entry: the bound
  // matters more than which.
  void Insert(std::string digest, Value value, core::TimePoint expires_at, core::TimePoint now) {
    if (expires_at <= now) {
      return;  // accepted within the skew, but not worth keeping
    }
    Shard& shard = ShardFor(digest);
    std::lock_guard lock(shard.mu);
    if (shard.entries.size() >= max_per_shard_) {
      std::erase_if(shard.entries, [now](const auto& kv) { return kv.second.expires_at <= now; });
    }
    if (shard.entries.size() >= max_per_shard_) {
      shard.entries.erase(shard.entries.begin());
    }
    shard.entries.insert_or_assign(std::move(digest), Entry{expires_at, std::move(value)});
  }

  // Returns how many entries are cached (expired ones not yet evicted included).
  std::size_t size() const {
    std::size_t n = 0;
    for (const Shard& shard : shards_) {
      std::lock_guard lock(shard.mu);
      n += shard.entries.size();
    }
    return n;
  }

 private:
  static constexpr std::size_t kShards = 16;
  struct Entry {
    core::TimePoint expires_at;
    Value value;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;  // by raw SHA-256 of the token
  };
  Shard& ShardFor(std::string_view digest) {
    return shards_[static_cast<unsigned char>(digest[0]) % kShards];
  }
  const Shard& ShardFor(std::string_view digest) const {
    return shards_[static_cast<unsigned char>(digest[0]) % kShards];
  }

  std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace bulwark::proxy
