#include "authority/sealed_key.h"

#include "crypto/aead.h"
#include "fmt/format.h"

namespace bulwark::authority {

absl::StatusOr<crypto::Bytes> SealPrivateKey(const crypto::Bytes& kek,
                                             const crypto::PrivateKey& key, std::string_view aad) {
  return crypto::EnvelopeSeal(kek, key.ToPem(), aad);
}

absl::StatusOr<crypto::PrivateKey> UnsealPrivateKey(const crypto::Bytes& kek,
                                                    const crypto::Bytes& sealed,
                                                    std::string_view aad, std::string_view what) {
  absl::StatusOr<std::string> pem = crypto::EnvelopeOpen(kek, sealed, aad);
  if (!pem.ok()) {
    return absl::PermissionDeniedError(fmt::format(
        "cannot unseal the {}: the key-encryption key does not match this store", what));
  }
  return crypto::PrivateKey::FromPem(*pem);
}

}  // namespace bulwark::authority
