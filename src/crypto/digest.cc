#include "crypto/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/status.h"

namespace bulwark::crypto {

Bytes Sha256(std::string_view data) {
  Bytes out(32);
  unsigned int length = 0;
  // Fails only on allocation failure or a broken library, after which nothing can be trusted.
  BULWARK_CHECK(EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr) ==
                1);
  BULWARK_CHECK(length == out.size());
  return out;
}

namespace {

Bytes Hmac(const char* digest, std::size_t size, const Bytes& key, std::string_view data) {
  Bytes out(size);
  std::size_t length = 0;
  // A null key means "no key" to EVP_MAC; an empty HMAC key (valid per RFC 2104) needs a
  // non-null pointer with length zero.
  static const unsigned char kEmpty = 0;
  const unsigned char* key_data = key.empty() ? &kEmpty : key.data();
  const unsigned char* in = reinterpret_cast<const unsigned char*>(data.data());
  BULWARK_CHECK(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key_data, key.size(), in,
                          data.size(), out.data(), out.size(), &length) != nullptr);
  BULWARK_CHECK(length == out.size());
  return out;
}

}  // namespace

Bytes HmacSha256(const Bytes& key, std::string_view data) { return Hmac("SHA256", 32, key, data); }

Bytes HmacSha1(const Bytes& key, std::string_view data) { return Hmac("SHA1", 20, key, data); }

bool ConstantTimeEquals(const Bytes& a, const Bytes& b) {
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace bulwark::crypto
