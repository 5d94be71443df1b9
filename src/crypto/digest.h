// SHA-256, HMAC-SHA-256, HMAC-SHA-1 (for TOTP only) and constant-time comparison over OpenSSL EVP.
// Thread-safe.
#pragma once

#include <string_view>

#include "crypto/bytes.h"

namespace bulwark::crypto {

// Returns the 32-byte SHA-256 digest of `data`.
Bytes Sha256(std::string_view data);
inline Bytes Sha256(const Bytes& data) {
  return Sha256(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}
// Returns the 32-byte HMAC-SHA-256 of `data` under `key`.
Bytes HmacSha256(const Bytes& key, std::string_view data);
// Returns the 20-byte HMAC-SHA-1 of `data` under `key`. Only for RFC 6238 TOTP, whose
// authenticator apps compute SHA-1; use HmacSha256 everywhere else.
Bytes HmacSha1(const Bytes& key, std::string_view data);
// Returns whether a and b are equal, in time that depends only on their lengths.
bool ConstantTimeEquals(const Bytes& a, const Bytes& b);

}  // namespace bulwark::crypto
