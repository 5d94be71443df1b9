// Follows the authority's API key feed (GET /v1/apikeys/feed, docs/api.md#api-keys) by long-poll
// on its own thread, authenticated by the gateway's SVID, and hands each new version to an
// ApiKeyAuthenticator. While the authority is away it retries with exponential backoff and the
// last keys stay in force. Create and Stop from one thread.
#pragma once

#include <cstdint>

#include "identity/authority_client.h"
#include "proxy/api_key_auth.h"
#include "proxy/long_poll.h"
#include "proxy/tls_context_cache.h"

namespace bulwark::proxy {

class ApiKeyWatcher {
 public:
  // Starts polling `client` with the current SVID of `svid`; `keys` must outlive the watcher.
  ApiKeyWatcher(identity::AuthorityClient client, SvidSource svid, ApiKeyAuthenticator& keys,
                LongPollOptions options = {});
  ~ApiKeyWatcher();
  ApiKeyWatcher(const ApiKeyWatcher&) = delete;
  ApiKeyWatcher& operator=(const ApiKeyWatcher&) = delete;

  // Stops the thread and waits for it (up to the open long-poll's length).
  void Stop() { loop_.Stop(); }

 private:
  // Asks for a version other than version_ and applies it; false when the call failed.
  bool PollOnce();

  const identity::AuthorityClient client_;
  const SvidSource svid_;
  ApiKeyAuthenticator& keys_;
  const LongPollOptions options_;
  std::int64_t version_ = -1;  // the watcher thread's only; -1: none yet
  LongPollLoop loop_;          // last: starts after everything it uses
};

}  // namespace bulwark::proxy
