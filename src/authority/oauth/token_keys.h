// The authority's token-signing keys (ES256, P-256), separate from the CA keys and sealed at rest
// the same way, with a rotation schedule that never leaves a verifier without the key it needs:
// a key is published in the JWKS as "next" at least publish_lead() before it signs, becomes
// current, and stays published as "retiring" until every token it signed has expired
// (docs/tokens.md#token-signing-keys). Signing and the published set are lock-free snapshot
// reads; Rotate serializes on a mutex. Thread-safe.
#pragma once

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
#include "nlohmann/json.hpp"

namespace bulwark::authority::oauth {

struct TokenKeyOptions {
  core::Seconds signing_period{86400};  // how long a key is current
  core::Seconds max_token_ttl{300};     // the longest lifetime of a token the keys sign
  core::Seconds jwks_max_age{300};      // Cache-Control max-age of the JWKS
  core::Seconds skew{60};               // clock skew verifiers tolerate past exp

  // How long a key is published before it signs: a verifier's cached JWKS is at most
  // jwks_max_age old, so every verifier has seen the key by the time a token signed with it
  // arrives; one token lifetime more is the margin for verifiers that fetched the JWKS just
  // before the key appeared and cache it for as long as the tokens they hold live.
  core::Seconds publish_lead() const { return max_token_ttl + jwks_max_age; }
  // How long a key stays published after it stopped signing.
  core::Seconds retain() const { return max_token_ttl + skew; }
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
  // Returns the published keys (next, current, retiring) as a verification set.
  std::shared_ptr<const crypto::Jwks> Published() const;
  // Returns the JWKS document of the published keys, serialized.
  std::shared_ptr<const std::string> PublishedJson() const;
  // Returns the published keys with their schedule, current first.
  std::vector<TokenKeyInfo> List() const;

  // Advances the schedule at the clock's now: publishes the next key publish_lead() before the
  // current one's planned retirement, activates it when due, removes retiring keys whose tokens
  // have all expired. With `force`, a rotation starts now: a next key is published (if none is)
  // and activated as soon as it has been published for publish_lead(), never earlier. `actor`
  // goes to the audit trail.
  absl::StatusOr<TokenKeyRotation> Rotate(bool force, std::string_view actor = "authority");

  const TokenKeyOptions& options() const { return options_; }

 private:
  struct Entry {
    TokenKeyRecord record;
    std::shared_ptr<const crypto::PrivateKey> key;  // null once retired
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
  const Entry* Find(TokenKeyState state) const;

  Store& store_;
  const crypto::Bytes kek_;
  const core::Clock& clock_;
  const TokenKeyOptions options_;
  std::mutex mutex_;            // serializes Rotate
  std::vector<Entry> entries_;  // guarded by mutex_; published keys only
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
};

using TokenKeysPtr = std::unique_ptr<TokenKeys>;

}  // namespace bulwark::authority::oauth
