// The gateway's API key authenticator (docs/gateway.md#api-keys): the live keys' hashes, as the
// authority's feed (GET /v1/apikeys/feed) last listed them, in an immutable snapshot swapped
// whole; a request presents its key in `Authorization: ApiKey <key>` or `X-Api-Key: <key>`.
// Thread-safe: Authenticate is a lock-free load on any thread; Replace from the watcher's.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "http/message.h"
#include "nlohmann/json.hpp"
#include "tokens/subject.h"

namespace bulwark::proxy {

struct ApiKeyEntry {
  crypto::Bytes hash;  // SHA-256 of the whole key
  std::string client;
  std::vector<std::string> scopes;
};

struct ApiKeySnapshot {
  std::int64_t version = 0;
  std::unordered_map<std::string, ApiKeyEntry> keys;  // by key id
};

// Parses the feed's answer {version, keys: [{id, hash, client, scopes}]}. InvalidArgument naming
// the member that is missing or malformed.
absl::StatusOr<ApiKeySnapshot> ParseApiKeyFeed(const nlohmann::json& answer);

// Removes every API key header (X-Api-Key, an `Authorization: ApiKey ...`) so that a key never
// travels past the gateway.
void RemoveApiKeyHeaders(http::Headers& headers);

class ApiKeyAuthenticator {
 public:
  // Makes `keys` the keys that admit requests from now on.
  void Replace(std::shared_ptr<const ApiKeySnapshot> keys) { keys_.store(std::move(keys)); }
  // Returns whether a feed answer has arrived (until then every key is refused).
  bool ready() const { return keys_.load() != nullptr; }

  // Returns Subject{"api_key", client, scopes} for a request presenting exactly one well-formed,
  // live key whose hash matches (compared in constant time). Unauthenticated otherwise, with the
  // reason to log: it names the key's id at most, never the key.
  absl::StatusOr<tokens::Subject> Authenticate(const http::Request& request) const;

 private:
  std::atomic<std::shared_ptr<const ApiKeySnapshot>> keys_;
};

}  // namespace bulwark::proxy
