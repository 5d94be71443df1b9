// An issuer's token-signing keys kept fresh in the background: fetched by a KeysFetcher (the
// authority's issuer and JWKS for the sidecar's token filter, over TLS with the authority's
// SPIFFE ID pinned; an external OIDC issuer's, proxy/issuer_keys_source.h), kept for the
// Cache-Control max-age (bounded, tokens/jwks_refresh.h) and refetched by a background thread
// before they expire, or sooner when a token names an unknown kid, at most once per
// `unknown_kid_interval`. A failed fetch keeps the last good keys and is retried with backoff.
// Thread-safe; the destructor stops and joins the thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "identity/authority_client.h"
#include "tokens/issuer_keys.h"
#include "tokens/jwks_refresh.h"

namespace bulwark::proxy {

struct JwksSourceOptions {
  core::Seconds unknown_kid_interval{10};
  core::Seconds retry{5};  // after a failed fetch, doubling up to 1 min while failures last
};

// What one fetch got: the keys and how long they may be used (tokens::JwksLifetime).
struct FetchedKeys {
  tokens::IssuerKeys keys;
  core::Seconds lifetime;
};
// Fetches an issuer's keys once, blocking (on the source's own thread); an error says why.
using KeysFetcher = std::function<absl::StatusOr<FetchedKeys>()>;

// Returns a fetcher of the authority's issuer (/.well-known/oauth-authorization-server) and
// JWKS (/oauth2/jwks) through `client`.
KeysFetcher AuthorityKeysFetcher(identity::AuthorityClient client);

class JwksSource {
 public:
  // Starts the thread, which fetches with `fetch` at once. `what` names the keys in logs
  // ("the authority's token keys").
  static std::unique_ptr<JwksSource> Start(std::string what, KeysFetcher fetch,
                                           JwksSourceOptions options = {});
  // Starts a source of the authority's keys (AuthorityKeysFetcher over `client`).
  static std::unique_ptr<JwksSource> Start(identity::AuthorityClient client,
                                           JwksSourceOptions options = {});
  ~JwksSource();
  JwksSource(const JwksSource&) = delete;
  JwksSource& operator=(const JwksSource&) = delete;

  // Returns the last good keys; null before the first successful fetch.
  std::shared_ptr<const tokens::IssuerKeys> Current() const { return keys_.load(); }
  // Asks for a refetch because a token named an unknown kid; granted at most once per
  // unknown_kid_interval, else ignored. Never blocks on I/O.
  void RefetchForUnknownKid();
  // Returns a key source over this object, which must outlive it.
  tokens::IssuerKeySource AsKeySource();
  // Returns how many fetches were attempted.
  std::uint64_t fetches() const { return fetches_.load(); }

 private:
  JwksSource(std::string what, KeysFetcher fetch, JwksSourceOptions options);
  void Run();
  // Fetches the keys and stores them; returns how long they may be used.
  absl::StatusOr<core::Seconds> Fetch();

  std::string what_;
  KeysFetcher fetch_;
  JwksSourceOptions options_;
  tokens::RefetchLimiter limiter_;
  std::atomic<std::shared_ptr<const tokens::IssuerKeys>> keys_;
  std::atomic<std::uint64_t> fetches_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;     // guarded by mu_
  bool refetch_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace bulwark::proxy
