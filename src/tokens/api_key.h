// API keys for the gateway (docs/gateway.md#api-keys): `bwk_<id>_<secret>`, where the id (8
// random bytes, base64url) names the key in logs and the secret (32 random bytes, base64url)
// proves it. Only the SHA-256 of the whole key is stored: a random 256-bit secret cannot be
// guessed, so it needs no slow password hash. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"

namespace bulwark::tokens {

inline constexpr std::string_view kApiKeyPrefix = "bwk_";

struct NewApiKey {
  std::string id;   // loggable
  std::string key;  // the whole key: shown once, never stored or logged
  crypto::Bytes hash;
};

// Returns a fresh key with its id and hash (randomness from crypto::RandomBytes); the id never
// starts with '-' (it is a command-line argument).
NewApiKey MakeApiKey();
// Returns the id of a well-formed key (prefix, an 11-character id, '_', a 43-character secret,
// base64url only); InvalidArgument naming what is wrong (never echoing the key) otherwise.
absl::StatusOr<std::string> ApiKeyId(std::string_view key);
// Returns the SHA-256 of the whole key, as stored.
crypto::Bytes ApiKeyHash(std::string_view key);
// Returns whether `key` hashes to `hash`, comparing in constant time.
bool ApiKeyMatches(std::string_view key, const crypto::Bytes& hash);

}  // namespace bulwark::tokens
