// Follows the authority's policy for this sidecar's service (GET /v1/policy, docs/api.md) by
// long-poll on its own thread and hands each new version to a callback (Sidecar::ApplyPolicy).
// While the authority is away it retries with exponential backoff; the callback is simply not
// called, so the last good policy stays in force. Create and Stop from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "identity/authority_client.h"
#include "mesh/config.h"
#include "proxy/long_poll.h"
#include "proxy/tls_context_cache.h"

namespace bulwark::proxy {

class PolicyWatcher {
 public:
  // Applies the rules of policy version `version`; an error is logged and the version skipped.
  using Apply = std::function<absl::Status(std::int64_t version, std::vector<mesh::AllowRule>)>;

  // Starts polling `client` with the current SVID of `svid` (its TLS client certificate names
  // the service) for versions other than `version`, calling `apply` on the watcher's thread.
  PolicyWatcher(identity::AuthorityClient client, SvidSource svid, std::int64_t version,
                Apply apply, LongPollOptions options = {});
  ~PolicyWatcher();
  PolicyWatcher(const PolicyWatcher&) = delete;
  PolicyWatcher& operator=(const PolicyWatcher&) = delete;

  // Stops the thread and waits for it (up to the open long-poll's length).
  void Stop() { loop_.Stop(); }

 private:
  // Asks for a version other than `version_` and applies it; false when the call failed.
  bool PollOnce();

  const identity::AuthorityClient client_;
  const SvidSource svid_;
  const Apply apply_;
  const LongPollOptions options_;
  std::int64_t version_;            // the watcher thread's only
  bool told_unconfigured_ = false;  // the watcher thread's only
  LongPollLoop loop_;               // last: starts after everything it uses
};

}  // namespace bulwark::proxy
