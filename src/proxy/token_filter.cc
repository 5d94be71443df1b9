#include "proxy/token_filter.h"

#include "core/status.h"
#include "fmt/format.h"
#include "tokens/txn_token.h"

namespace bulwark::proxy {

TokenFilter::TokenFilter(tokens::IssuerKeySource keys, std::string trust_domain,
                         const core::Clock& clock, TokenCacheOptions options)
    : keys_(std::move(keys)),
      trust_domain_(std::move(trust_domain)),
      clock_(clock),
      cache_(options) {}

absl::StatusOr<TokenFilter::Claims> TokenFilter::Verify(std::string_view token,
                                                        core::Seconds skew) {
  if (token.size() > kMaxTxnTokenBytes) {
    return absl::UnauthenticatedError(
        fmt::format("transaction token refused: {} bytes, at most {} are allowed", token.size(),
                    kMaxTxnTokenBytes));
  }
  core::TimePoint now = clock_.Now();
  std::string digest = TokenDigest(token);
  if (std::optional<Claims> hit = cache_.Find(digest, now)) {
    return *std::move(hit);
  }
  std::shared_ptr<const tokens::IssuerKeys> keys = keys_.current ? keys_.current() : nullptr;
  if (keys == nullptr) {
    return absl::UnauthenticatedError(
        "transaction token refused: the authority's keys were not fetched yet");
  }
  absl::StatusOr<tokens::TxnTokenClaims> claims =
      tokens::VerifyTransactionToken(token, keys->jwks, trust_domain_, keys->issuer, now, skew);
  if (!claims.ok()) {
    // The keys may have rotated since they were fetched.
    if (tokens::IsUnknownKid(claims.status()) && keys_.unknown_kid) {
      keys_.unknown_kid();
    }
    return absl::UnauthenticatedError(
        fmt::format("transaction token refused: {}", claims.status().message()));
  }
  auto json = std::make_shared<const nlohmann::json>(tokens::TxnTokenClaimsToJson(*claims));
  // Cached until exp: the skew only widens the verdict for a token verified now.
  cache_.Insert(std::move(digest), json, claims->expires_at, now);
  return json;
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
