#include "proxy/token_filter.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "core/status.h"
#include "crypto/digest.h"
#include "fmt/format.h"
#include "tokens/txn_token.h"

namespace bulwark::proxy {
namespace {

std::string Digest(std::string_view token) {
  crypto::Bytes d = crypto::Sha256(token);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

TokenFilter::TokenFilter(TokenKeySource keys, std::string trust_domain, const core::Clock& clock,
                         TokenCacheOptions options)
    : keys_(std::move(keys)),
      trust_domain_(std::move(trust_domain)),
      clock_(clock),
      max_per_shard_(std::max<std::size_t>(1, options.max_entries / kShards)) {}

absl::StatusOr<TokenFilter::Claims> TokenFilter::Verify(std::string_view token,
                                                        core::Seconds skew) {
  if (token.size() > kMaxTxnTokenBytes) {
    return absl::UnauthenticatedError(
        fmt::format("transaction token refused: {} bytes, at most {} are allowed", token.size(),
                    kMaxTxnTokenBytes));
  }
  core::TimePoint now = clock_.Now();
  std::string digest = Digest(token);
  Shard& shard = ShardFor(digest);
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.entries.find(digest);
    if (it != shard.entries.end() && now < it->second.expires_at) {
      return it->second.claims;
    }
  }
  std::shared_ptr<const TokenKeys> keys = keys_.current ? keys_.current() : nullptr;
  if (keys == nullptr) {
    return absl::UnauthenticatedError(
        "transaction token refused: the authority's keys were not fetched yet");
  }
  absl::StatusOr<tokens::TxnTokenClaims> claims =
      tokens::VerifyTransactionToken(token, keys->jwks, trust_domain_, keys->issuer, now, skew);
  if (!claims.ok()) {
    // The JWS layer's wording for a kid missing from the set: the keys may have rotated.
    if (absl::StrContains(claims.status().message(), "is not in the key set") &&
        keys_.unknown_kid) {
      keys_.unknown_kid();
    }
    return absl::UnauthenticatedError(
        fmt::format("transaction token refused: {}", claims.status().message()));
  }
  auto json = std::make_shared<const nlohmann::json>(tokens::TxnTokenClaimsToJson(*claims));
  // Cached until exp: the skew only widens the verdict for a token verified now.
  Insert(std::move(digest), Entry{claims->expires_at, json}, now);
  return json;
}

void TokenFilter::Insert(std::string digest, Entry entry, core::TimePoint now) {
  if (entry.expires_at <= now) {
    return;  // accepted within the skew, but not worth keeping
  }
  Shard& shard = ShardFor(digest);
  std::lock_guard lock(shard.mu);
  if (shard.entries.size() >= max_per_shard_) {
    std::erase_if(shard.entries, [now](const auto& kv) { return kv.second.expires_at <= now; });
  }
  if (shard.entries.size() >= max_per_shard_) {
    // Full of live tokens: drop one; the bound matters more than which.
    shard.entries.erase(shard.entries.begin());
  }
  shard.entries.insert_or_assign(std::move(digest), std::move(entry));
}

std::size_t TokenFilter::cached() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.entries.size();
  }
  return n;
}

absl::StatusOr<TokenFilter::Claims> VerifyRequestToken(TokenFilter* filter,
                                                       const http::Headers& headers,
                                                       core::Seconds skew) {
  std::size_t count = headers.Count(kTxnTokenHeader);
  if (count == 0) {
    return nullptr;
  }
  if (count > 1) {
    return absl::UnauthenticatedError(fmt::format(
        "transaction token refused: {} Txn-Token headers, at most one is allowed", count));
  }
  if (filter == nullptr) {
    return absl::UnauthenticatedError(
        "transaction token refused: this sidecar has no token filter to verify it");
  }
  return filter->Verify(*headers.Get(kTxnTokenHeader), skew);
}

}  // namespace bulwark::proxy
