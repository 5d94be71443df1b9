// The gateway's delegated transaction-token key (docs/tokens.md#delegated-transaction-token-keys):
// a P-256 key generated here, whose public half the authority publishes in its JWKS as delegated
// to spiffe://<td>/gateway for transaction tokens only, so that the gateway mints each request's
// transaction token locally instead of a token-exchange round trip. The private key never leaves
// this object. Maintain() registers the next key at half the current one's lifetime; Mint()
// switches to it once every verifier's cached JWKS has it. Mint is a lock-free snapshot read;
// Maintain serializes on a mutex. Thread-safe; the destructor stops the maintenance thread.
//
// The gateway's mint seam is one line:
//   [&signer](const tokens::Subject& s, std::string_view txn, std::string_view ip) {
//     return signer.Mint(s, txn, ip); }
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "crypto/key.h"
#include "identity/authority_client.h"
#include "identity/svid.h"
#include "nlohmann/json.hpp"
#include "tokens/subject.h"

namespace bulwark::proxy {

// What the authority granted a registered key (its answer to POST /v1/txn-keys).
struct TxnKeyGrant {
  std::string kid;
  core::TimePoint signs_from;  // every verifier's cached JWKS has the key from then on
  core::TimePoint expires_at;  // it leaves the JWKS; tokens must expire by then
};

// Registers a public JWK with the authority (a seam: the authority over mTLS in the gateway, a
// fake in tests).
using TxnKeyRegistrar = std::function<absl::StatusOr<TxnKeyGrant>(const nlohmann::json& jwk)>;

// Returns a registrar that POSTs {"jwk": ...} to the authority's /v1/txn-keys with the SVID
// `svid` returns at each call (the gateway's, kept fresh by its rotator). Errors: the call failed,
// the authority refused (its error_description), or its answer is malformed.
TxnKeyRegistrar AuthorityTxnKeyRegistrar(
    identity::AuthorityClient client, std::function<std::shared_ptr<const identity::Svid>()> svid);

struct TxnSignerOptions {
  std::string issuer;         // iss: the authority's issuer identifier
  std::string trust_domain;   // aud spiffe://<td>; req_wl spiffe://<td>/gateway
  core::Seconds txn_ttl{60};  // exp - iat of every token; 1 s to tokens::kMaxTxnTokenLifetime
  core::Seconds retry{5};     // after a failed registration
  // Makes each new key (a seam for tests that must sign with the same key; default: a fresh
  // P-256 key from crypto/).
  std::function<absl::StatusOr<crypto::PrivateKey>()> generate_key;
};

class TxnSigner {
 public:
  // Registers the first key through `registrar` and returns a signer that uses it at once (there
  // is no older key; verifiers refetch their JWKS on the unknown kid). `clock` must outlive the
  // signer. InvalidArgument for bad options; the registration's error otherwise.
  static absl::StatusOr<std::unique_ptr<TxnSigner>> Create(TxnSignerOptions options,
                                                           TxnKeyRegistrar registrar,
                                                           const core::Clock& clock);
  ~TxnSigner();
  TxnSigner(const TxnSigner&) = delete;
  TxnSigner& operator=(const TxnSigner&) = delete;

  // Returns a transaction token for `subject` in transaction `txn_id`: iss the authority, aud
  // spiffe://<td>, req_wl spiffe://<td>/gateway, sub and scope from `subject`, rctx.req_ip
  // `client_ip` unless empty, exp = iat + txn_ttl, signed with the newest key every verifier
  // has. FailedPrecondition when no key is usable (registrations kept failing until the last key
  // expired); InvalidArgument for an empty txn_id or subject.
  absl::StatusOr<std::string> Mint(const tokens::Subject& subject, std::string_view txn_id,
                                   std::string_view client_ip) const;

  // Advances the schedule at the clock's now: drops keys that may no longer sign (within
  // txn_ttl of their expiry) and registers a new key once the newest has lived half its
  // lifetime (at most once per `retry` while registrations fail). Returns the registration's
  // error; the keys in use stay.
  absl::Status Maintain();
  // Starts a thread that calls Maintain every `interval` (errors are logged) until destruction.
  void StartMaintenance(std::chrono::milliseconds interval = std::chrono::seconds(1));

  // Returns the kid Mint signs with now ("" when none is usable).
  std::string CurrentKid() const;
  // Returns how many keys were registered.
  int registrations() const { return registrations_.load(); }

 private:
  struct Key {
    std::string kid;
    std::shared_ptr<const crypto::PrivateKey> key;
    core::TimePoint registered_at;
    core::TimePoint signs_from;
    core::TimePoint stop_at;  // expires_at - txn_ttl: the last moment a token may be minted
    core::TimePoint expires_at;
  };
  using Keys = std::vector<Key>;  // oldest first

  TxnSigner(TxnSignerOptions options, TxnKeyRegistrar registrar, const core::Clock& clock);
  // Generates and registers a key; appends it to keys_ and publishes the snapshot.
  absl::Status RegisterKey(core::TimePoint now);
  // Returns the key to sign with at `now`, or null.
  static const Key* Choose(const Keys& keys, core::TimePoint now);

  const TxnSignerOptions options_;
  const TxnKeyRegistrar registrar_;
  const core::Clock& clock_;
  std::string gateway_id_;
  std::string audience_;
  std::mutex mu_;                 // serializes Maintain
  core::TimePoint next_attempt_;  // guarded by mu_
  std::atomic<std::shared_ptr<const Keys>> keys_;
  std::atomic<int> registrations_{0};
  std::mutex stop_mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

using TxnSignerPtr = std::unique_ptr<TxnSigner>;

}  // namespace bulwark::proxy
