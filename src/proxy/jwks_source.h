// The authority's token-signing keys for the sidecar's token filter: its issuer (from
// /.well-known/oauth-authorization-server) and JWKS (/oauth2/jwks), fetched over TLS by the
// AuthorityClient (the authority's SPIFFE ID pinned), kept for the Cache-Control max-age
// (bounded, tokens/jwks_refresh.h) and refetched by a background thread before they expire, or
// sooner when a token names an unknown kid, at most once per `unknown_kid_interval`. A failed
// fetch keeps the last good keys and is retried with backoff. Thread-safe; the destructor stops and
// joins the thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "identity/authority_client.h"
#include "proxy/token_filter.h"
#include "tokens/jwks_refresh.h"

namespace bulwark::proxy {

struct JwksSourceOptions {
  core::Seconds unknown_kid_interval{10};
  core::Seconds retry{5};  // after a failed fetch, doubling up to 1 min while failures last
};

class JwksSource {
 public:
  // Starts the thread, which fetches at once. `client` talks to the authority.
  static std::unique_ptr<JwksSource> Start(identity::AuthorityClient client,
                                           JwksSourceOptions options = {});
  ~JwksSource();
  JwksSource(const JwksSource&) = delete;
  JwksSource& operator=(const JwksSource&) = delete;

  // Returns the last good keys; null before the first successful fetch.
  std::shared_ptr<const TokenKeys> Current() const { return keys_.load(); }
  // Asks for a refetch because a token named an unknown kid; granted at most once per
  // unknown_kid_interval, else ignored. Never blocks on I/O.
  void RefetchForUnknownKid();
  // Returns a TokenKeySource over this object, which must outlive it.
  TokenKeySource AsKeySource();
  // Returns how many fetches were attempted.
  std::uint64_t fetches() const { return fetches_.load(); }

 private:
  JwksSource(identity::AuthorityClient client, JwksSourceOptions options);
  void Run();
  // Fetches issuer and JWKS; returns how long they may be used.
  absl::StatusOr<core::Seconds> Fetch();

  identity::AuthorityClient client_;
  JwksSourceOptions options_;
  tokens::RefetchLimiter limiter_;
  std::atomic<std::shared_ptr<const TokenKeys>> keys_;
  std::atomic<std::uint64_t> fetches_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;     // guarded by mu_
  bool refetch_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace bulwark::proxy
