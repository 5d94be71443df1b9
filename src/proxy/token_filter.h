// The sidecar's transaction-token filter: verifies the Txn-Token header of inbound requests
// against the authority's keys (tokens::VerifyTransactionToken) and keeps verified tokens in a
// bounded cache keyed by their SHA-256, so that a token seen before costs a hash and a lookup.
// Failures are never cached. Thread-safe: the cache is sharded, one short lock per lookup.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "crypto/jwk.h"
#include "http/message.h"
#include "nlohmann/json.hpp"

namespace bulwark::proxy {

// The request header that carries a transaction token, relayed unchanged by the sidecar.
inline constexpr std::string_view kTxnTokenHeader = "Txn-Token";
// The largest transaction token the filter looks at; bulwark's are about 600 bytes, and a
// request head holds at most 16 KiB anyway.
inline constexpr std::size_t kMaxTxnTokenBytes = 8 * 1024;

// The authority's issuer identifier and token-signing keys, as fetched together.
struct TokenKeys {
  std::string issuer;
  crypto::Jwks jwks;
};

// Where the filter gets its keys (a seam: JwksSource in the sidecar, fixed keys in tests).
struct TokenKeySource {
  // Returns the current keys; null while none were fetched yet.
  std::function<std::shared_ptr<const TokenKeys>()> current;
  // Called when a token names a kid the keys lack; the source refetches at a bounded rate.
  // May be empty.
  std::function<void()> unknown_kid;
};

struct TokenCacheOptions {
  std::size_t max_entries = 16384;  // across all shards
};

class TokenFilter {
 public:
  using Claims = std::shared_ptr<const nlohmann::json>;

  // Verifies tokens for `trust_domain` (aud spiffe://<td>) with the keys of `keys`; `clock`
  // must outlive the filter.
  TokenFilter(TokenKeySource keys, std::string trust_domain,
              const core::Clock& clock = core::SystemClock(), TokenCacheOptions options = {});

  // Returns the claims of transaction token `token` (TxnTokenClaimsToJson: iss, aud, iat, exp,
  // txn, sub, [scope], req_wl, [rctx]) from the cache, or verified now with `skew` and then
  // cached until its exp. Unauthenticated saying what was wrong otherwise (more than
  // kMaxTxnTokenBytes, no keys yet, an unknown kid, any refusal of VerifyTransactionToken).
  absl::StatusOr<Claims> Verify(std::string_view token, core::Seconds skew);

  // Returns how many verified tokens are cached (expired ones not yet evicted included).
  std::size_t cached() const;

 private:
  static constexpr std::size_t kShards = 16;
  struct Entry {
    core::TimePoint expires_at;
    Claims claims;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;  // by raw SHA-256 of the token
  };
  Shard& ShardFor(std::string_view digest) {
    return shards_[static_cast<unsigned char>(digest[0]) % kShards];
  }
  void Insert(std::string digest, Entry entry, core::TimePoint now);

  TokenKeySource keys_;
  std::string trust_domain_;
  const core::Clock& clock_;
  std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

// Returns the verified claims of the request's Txn-Token header (see TokenFilter::Verify); null
// when there is no such header (the policy decides whether one is needed). Unauthenticated when
// the header appears more than once, when `filter` is null (no way to verify it: refused rather
// than passed on), or when the token is refused.
absl::StatusOr<TokenFilter::Claims> VerifyRequestToken(TokenFilter* filter,
                                                       const http::Headers& headers,
                                                       core::Seconds skew);

}  // namespace bulwark::proxy
