// The authority's token-signing keys (ES256, P-256), separate from the CA keys and sealed at rest
// the same way, with a rotation schedule that never leaves a verifier without the key it needs:
// a key is published in the JWKS as "next" at least publish_lead() before it signs, becomes
// current, and stays published as "retiring" until every token it signed has expired
// (docs/tokens.md#token-signing-keys). The JWKS also carries the public keys workloads registered
// to sign their own transaction tokens (the gateway's delegated keys, marked with
// crypto::JwkDelegation; docs/tokens.md#delegated-transaction-token-keys). Signing and the
// published set are lock-free snapshot reads; Rotate and RegisterDelegated serialize on a mutex.
// Thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "authority/store/store.h"
#include "core/clock.h"
#include "crypto/jwk.h"
#include "crypto/key.h"
#include "identity/spiffe_id.h"
#include "nlohmann/json.hpp"
#include "tokens/txn_token.h"

namespace bulwark::authority::oauth {

struct TokenKeyOptions {
  core::Seconds signing_period{86400};  // how long a key is current
  core::Seconds max_token_ttl{300};     // the longest lifetime of a token the keys sign
  core::Seconds jwks_max_age{300};      // Cache-Control max-age of the JWKS
  core::Seconds skew{60};               // clock skew verifiers tolerate past exp
  // Delegated transaction-token keys: how long one is published (the authority decides, not the
  // workload) and how many one workload may have at once (a new one beyond evicts the oldest),
  // so that a compromised workload cannot flood the JWKS.
  core::Seconds delegated_key_ttl{3600};
  std::size_t max_delegated_keys = 3;

  // How long a key is published before it signs: a verifier's cached JWKS is at most
  // jwks_max_age old, so every verifier has seen the key by the time a token signed with it
  // arrives; one token lifetime more is the margin for verifiers that fetched the JWKS just
  // before the key appeared and cache it for as long as the tokens they hold live.
  core::Seconds publish_lead() const { return max_token_ttl + jwks_max_age; }
  // How long a key stays published after it stopped signing.
  core::Seconds retain() const { return max_token_ttl + skew; }
  // How long a delegated key is published: delegated_key_ttl, but at least long enough that a
  // signer which registers its next key at half the lifetime can use the new key (after
  // publish_lead()) before the old one must stop (a transaction-token lifetime before it expires).
  core::Seconds delegated_ttl() const {
    return std::max(delegated_key_ttl, 2 * (publish_lead() + tokens::kMaxTxnTokenLifetime));
  }
};

// What the registration of a delegated key granted.
struct DelegatedKeyGrant {
  std::string kid;
  // From then on every verifier's cached JWKS has the key (created + publish_lead()); a signer
  // that has an older key keeps using it until then.
  core::TimePoint signs_from;
  // The key leaves the JWKS then; verifiers refuse tokens it signed that expire later.
  core::TimePoint expires_at;
};

// One published key, for listings.
struct TokenKeyInfo {
  std::string kid;
  TokenKeyState state;
  core::TimePoint activate_at;
  core::TimePoint retire_at;
  core::TimePoint remove_at;
};

// What Rotate did.
struct TokenKeyRotation {
  bool activated = false;  // a new key became current
  std::string current_kid;
  std::optional<TokenKeyInfo> next;  // the key that will sign next, if one is published
};

class TokenKeys {
 public:
  // Loads the keys from `store`, unsealing them with `kek`. Makes the first key (current at once:
  // nobody can hold a JWKS without it) when the store has none. PermissionDenied when the
  // key-encryption key does not match.
  static absl::StatusOr<std::unique_ptr<TokenKeys>> Load(Store& store, const crypto::Bytes& kek,
                                                         const core::Clock& clock,
                                                         TokenKeyOptions options);

  // Signs `claims` as a JWT with the current key; the header has `typ` and the key's kid.
  absl::StatusOr<std::string> Sign(std::string_view typ, const nlohmann::json& claims) const;
  // Signs a transaction token with the current key (tokens::SignTransactionToken).
  absl::StatusOr<std::string> SignTxn(const tokens::TxnTokenClaims& claims) const;

  // Publishes `jwk`, a public P-256 JWK, as delegated to `owner` for transaction tokens from now
  // until now + delegated_ttl(); kid = its RFC 7638 thumbprint (a kid in `jwk` must equal it).
  // Evicts `owner`'s oldest delegated key when it would have more than max_delegated_keys.
  // InvalidArgument for anything but a public P-256 JWK, a JWK that names its own delegation, or
  // a different kid; AlreadyExists for a key the JWKS holds already (delegated or the
  // authority's own).
  absl::StatusOr<DelegatedKeyGrant> RegisterDelegated(const identity::SpiffeId& owner,
                                                      const nlohmann::json& jwk);
  // Returns the published keys (next, current, retiring) as a verification set.
  std::shared_ptr<const crypto::Jwks> Published() const;
  // Returns the JWKS document of the published keys, serialized.
  std::shared_ptr<const std::string> PublishedJson() const;
  // Returns the published keys with their schedule, current first.
  std::vector<TokenKeyInfo> List() const;

  // Advances the schedule at the clock's now: publishes the next key publish_lead() before the
  // current one's planned retirement, activates it when due, removes retiring keys whose tokens
  // have all expired and delegated keys that expired. With `force`, a rotation starts now: a next
  // key is published (if none is) and activated as soon as it has been published for
  // publish_lead(), never earlier. `actor` goes to the audit trail.
  absl::StatusOr<TokenKeyRotation> Rotate(bool force, std::string_view actor = "authority");

  const TokenKeyOptions& options() const { return options_; }

 private:
  struct Entry {
    TokenKeyRecord record;
    std::shared_ptr<const crypto::PrivateKey> key;  // null once retired
  };
  struct Delegated {
    DelegatedKeyRecord record;
    crypto::Jwk jwk;
  };
  struct Snapshot {
    std::string current_kid;
    std::shared_ptr<const crypto::PrivateKey> signer;
    std::shared_ptr<const crypto::Jwks> jwks;
    std::shared_ptr<const std::string> jwks_json;
    std::vector<TokenKeyInfo> keys;
  };

  TokenKeys(Store& store, crypto::Bytes kek, const core::Clock& clock, TokenKeyOptions options)
      : store_(store), kek_(std::move(kek)), clock_(clock), options_(options) {}

  // Makes a new key whose schedule starts signing at `activate_at`.
  absl::StatusOr<Entry> MakeKey(core::TimePoint now, core::TimePoint activate_at,
                                TokenKeyState state) const;
  // Returns `record` in `state`, signing from `activate_at` for a signing period.
  TokenKeyRecord Scheduled(TokenKeyRecord record, TokenKeyState state,
                           core::TimePoint activate_at) const;
  // Publishes a next key when due (or forced), or brings a forced one's activation forward.
  absl::Status PublishNext(bool force, std::string_view actor, core::TimePoint now);
  // Stores `changed` in one transaction with an audit entry, then applies it to entries_ (a kid
  // not there yet is a new key, `new_key`) and publishes a new snapshot.
  absl::Status Commit(const std::vector<TokenKeyRecord>& changed, std::string_view action,
                      std::string_view actor, std::string detail,
                      std::shared_ptr<const crypto::PrivateKey> new_key = nullptr);
  absl::Status PublishSnapshot();
  // Loads the unexpired delegated keys of the store into delegated_.
  absl::Status LoadDelegated();
  // Drops delegated keys expired at `now` from the JWKS and the store.
  absl::Status RemoveExpiredDelegated(core::TimePoint now);
  const Entry* Find(TokenKeyState state) const;

  Store& store_;
  const crypto::Bytes kek_;
  const core::Clock& clock_;
  const TokenKeyOptions options_;
  std::mutex mutex_;                  // serializes Rotate
  std::vector<Entry> entries_;        // guarded by mutex_; published keys only
  std::vector<Delegated> delegated_;  // guarded by mutex_; unexpired, oldest first
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
};

using TokenKeysPtr = std::unique_ptr<TokenKeys>;

}  // namespace bulwark::authority::oauth
