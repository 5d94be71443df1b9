// The sidecar's transaction-token filter: verifies the Txn-Token header of inbound requests
// against the authority's keys (tokens::VerifyTransactionToken) and keeps verified tokens in a
// VerifiedTokenCache, so that a token seen before costs a hash and a lookup. Failures are never
// cached. Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "http/message.h"
#include "nlohmann/json.hpp"
#include "proxy/verified_token_cache.h"
#include "tokens/issuer_keys.h"

namespace bulwark::proxy {

// The request header that carries a transaction token, relayed unchanged by the sidecar.
inline constexpr std::string_view kTxnTokenHeader = "Txn-Token";
// The largest transaction token the filter looks at; bulwark's are about 600 bytes, and a
// request head holds at most 16 KiB anyway.
inline constexpr std::size_t kMaxTxnTokenBytes = 8 * 1024;

class TokenFilter {
 public:
  using Claims = std::shared_ptr<const nlohmann::json>;

  // Verifies tokens for `trust_domain` (aud spiffe://<td>) with the keys of `keys`; `clock`
  // must outlive the filter.
  TokenFilter(tokens::IssuerKeySource keys, std::string trust_domain,
              const core::Clock& clock = core::SystemClock(), TokenCacheOptions options = {});

  // Returns the claims of transaction token `token` (TxnTokenClaimsToJson: iss, aud, iat, exp,
  // txn, sub, sub_iss, [scope], req_wl, [rctx]) from the cache, or verified now with `skew` and
  // then cached until its exp. Unauthenticated saying what was wrong otherwise (more than
  // kMaxTxnTokenBytes, no keys yet, an unknown kid, any refusal of VerifyTransactionToken).
  absl::StatusOr<Claims> Verify(std::string_view token, core::Seconds skew);

  // Returns how many verified tokens are cached (expired ones not yet evicted included).
  std::size_t cached() const { return cache_.size(); }

 private:
  tokens::IssuerKeySource keys_;
  std::string trust_domain_;
  const core::Clock& clock_;
  VerifiedTokenCache<Claims> cache_;
};

// Returns the verified claims of the request's Txn-Token header (see TokenFilter::Verify); null
// when there is no such header (the policy decides whether one is needed). Unauthenticated when
// the header appears more than once, when `filter` is null (no way to verify it: refused rather
// than passed on), or when the token is refused.
absl::StatusOr<TokenFilter::Claims> VerifyRequestToken(TokenFilter* filter,
                                                       const http::Headers& headers,
                                                       core::Seconds skew);

}  // namespace bulwark::proxy
