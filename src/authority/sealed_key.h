// Private keys at rest: the authority's CA keys and token-signing keys are stored sealed under
// the key-encryption key (crypto::EnvelopeSeal), each bound by associated data to the record it
// belongs to, so that a sealed key cannot be moved to another record. Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/key.h"

namespace bulwark::authority {

// Returns `key` (as PKCS#8 PEM) sealed under `kek`, bound to `aad` (e.g. "ca-key:<serial>").
absl::StatusOr<crypto::Bytes> SealPrivateKey(const crypto::Bytes& kek,
                                             const crypto::PrivateKey& key, std::string_view aad);
// Opens a key sealed by SealPrivateKey with the same `kek` and `aad`. PermissionDenied, naming
// `what` ("CA key", "token-signing key"), when the key-encryption key does not match the store.
absl::StatusOr<crypto::PrivateKey> UnsealPrivateKey(const crypto::Bytes& kek,
                                                    const crypto::Bytes& sealed,
                                                    std::string_view aad, std::string_view what);

}  // namespace bulwark::authority
