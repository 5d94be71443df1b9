#include "crypto/password.h"

#include <sodium.h>

#include "core/status.h"
#include "crypto/bytes.h"
#include "crypto/random.h"
#include "fmt/format.h"

namespace bulwark::crypto {
namespace {

// sodium_init is idempotent and thread-safe; it fails only when no entropy source exists.
void InitSodium() {
  static const int kInit = sodium_init();
  BULWARK_CHECK(kInit >= 0);
}

}  // namespace

absl::StatusOr<std::string> HashPassword(std::string_view password,
                                         const PasswordHashParams& params) {
  InitSodium();
  if (password.size() > kMaxPasswordBytes) {
    return absl::InvalidArgumentError(
        fmt::format("a password is at most {} bytes", kMaxPasswordBytes));
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), params.opslimit, params.memlimit) !=
      0) {
    return absl::InternalError(fmt::format(
        "argon2id could not hash the password (out of memory for m={} bytes?)", params.memlimit));
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  InitSodium();
  if (password.size() > kMaxPasswordBytes || hash.size() >= crypto_pwhash_STRBYTES) {
    return false;
  }
  std::string terminated(hash);  // libsodium reads a NUL-terminated string
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

bool PasswordNeedsRehash(std::string_view hash, const PasswordHashParams& params) {
  InitSodium();
  std::string terminated(hash);
  return crypto_pwhash_str_needs_rehash(terminated.c_str(), params.opslimit, params.memlimit) != 0;
}

const std::string& DummyPasswordHash() {
  static const std::string kDummy = [] {
    absl::StatusOr<std::string> hash = HashPassword(Base64UrlEncode(RandomBytes(32)));
    BULWARK_CHECK(hash.ok());
    return *hash;
  }();
  return kDummy;
}

}  // namespace bulwark::crypto
