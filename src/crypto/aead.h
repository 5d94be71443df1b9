// AES-256-GCM and envelope encryption for secrets at rest: each record gets a fresh data key,
// which is itself sealed by the key-encryption key (KEK). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"

namespace bulwark::crypto {

inline constexpr std::size_t kAes256KeyBytes = 32;
inline constexpr std::size_t kGcmNonceBytes = 12;
inline constexpr std::size_t kGcmTagBytes = 16;

// Encrypts with AES-256-GCM: returns ciphertext followed by the 16-byte tag. The key must be 32
// bytes and the nonce 12 bytes.
absl::StatusOr<Bytes> AesGcmSeal(const Bytes& key, const Bytes& nonce, std::string_view plaintext,
                                 std::string_view aad);
// Decrypts and authenticates ciphertext||tag (a tag of `tag_bytes`, 12..16); fails without
// revealing partial plaintext when the tag does not match.
absl::StatusOr<Bytes> AesGcmOpen(const Bytes& key, const Bytes& nonce, const Bytes& sealed,
                                 std::string_view aad, std::size_t tag_bytes = kGcmTagBytes);

// Seals `plaintext` in an envelope: version byte, nonce and sealed data key (under `kek`),
// nonce and sealed data (under the data key). `aad` (for example the record's name) is bound
// to both layers, so an envelope cannot be moved to another record.
absl::StatusOr<Bytes> EnvelopeSeal(const Bytes& kek, std::string_view plaintext,
                                   std::string_view aad);
// Opens an envelope made by EnvelopeSeal with the same `kek` and `aad`.
absl::StatusOr<std::string> EnvelopeOpen(const Bytes& kek, const Bytes& envelope,
                                         std::string_view aad);

}  // namespace bulwark::crypto
