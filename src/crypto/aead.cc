#include "crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <limits>

#include "core/status.h"
#include "crypto/internal/handles.h"
#include "crypto/internal/openssl_error.h"
#include "crypto/random.h"
#include "fmt/format.h"

namespace bulwark::crypto {

using internal::EvpCipherCtxPtr;
using internal::OpenSslError;

namespace {

// Envelope layout: version || kek_nonce || Seal(kek, data_key) || data_nonce || Seal(data_key,
// plaintext), each Seal being ciphertext || 16-byte tag.
constexpr std::uint8_t kEnvelopeVersion = 1;
constexpr std::size_t kSealedKeyBytes = kAes256KeyBytes + kGcmTagBytes;
constexpr std::size_t kDataNonceOffset = 1 + kGcmNonceBytes + kSealedKeyBytes;
constexpr std::size_t kDataOffset = kDataNonceOffset + kGcmNonceBytes;
constexpr std::size_t kMinEnvelopeBytes = kDataOffset + kGcmTagBytes;
constexpr std::string_view kKeyLayerLabel = "bulwark-dek:";
constexpr std::string_view kDataLayerLabel = "bulwark-data:";

const unsigned char* Data(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status CheckKeyAndNonce(const Bytes& key, const Bytes& nonce) {
  if (key.size() != kAes256KeyBytes) {
    return absl::InvalidArgumentError(
        fmt::format("AES-256-GCM key must be 32 bytes, got {}", key.size()));
  }
  if (nonce.size() != kGcmNonceBytes) {
    return absl::InvalidArgumentError(
        fmt::format("AES-256-GCM nonce must be 12 bytes, got {}", nonce.size()));
  }
  return absl::OkStatus();
}

absl::Status CheckLength(std::size_t size, std::string_view what) {
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(fmt::format("AES-256-GCM {} is too large", what));
  }
  return absl::OkStatus();
}

// Overwrites secret bytes before their memory is released.
void Wipe(Bytes& secret) { OPENSSL_cleanse(secret.data(), secret.size()); }

Bytes Slice(const Bytes& b, std::size_t offset, std::size_t length) {
  return Bytes(b.begin() + offset, b.begin() + offset + length);
}

}  // namespace

absl::StatusOr<Bytes> AesGcmSeal(const Bytes& key, const Bytes& nonce, std::string_view plaintext,
                                 std::string_view aad) {
  BULWARK_RETURN_IF_ERROR(CheckKeyAndNonce(key, nonce));
  BULWARK_RETURN_IF_ERROR(CheckLength(plaintext.size(), "plaintext"));
  BULWARK_RETURN_IF_ERROR(CheckLength(aad.size(), "aad"));
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(plaintext.size() + kGcmTagBytes);
  int length = 0;
  int final_length = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, Data(aad), static_cast<int>(aad.size())) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &length, Data(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + length, &final_length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes,
                          out.data() + plaintext.size()) != 1) {
    return OpenSslError("AES-256-GCM encryption failed", absl::StatusCode::kInternal);
  }
  return out;
}

absl::StatusOr<Bytes> AesGcmOpen(const Bytes& key, const Bytes& nonce, const Bytes& sealed,
                                 std::string_view aad, std::size_t tag_bytes) {
  BULWARK_RETURN_IF_ERROR(CheckKeyAndNonce(key, nonce));
  BULWARK_RETURN_IF_ERROR(CheckLength(sealed.size(), "ciphertext"));
  BULWARK_RETURN_IF_ERROR(CheckLength(aad.size(), "aad"));
  if (tag_bytes < 12 || tag_bytes > kGcmTagBytes || sealed.size() < tag_bytes) {
    return absl::InvalidArgumentError(
        fmt::format("AES-256-GCM: tag of {} bytes in {} sealed bytes", tag_bytes, sealed.size()));
  }
  const std::size_t ciphertext_bytes = sealed.size() - tag_bytes;
  Bytes tag = Slice(sealed, ciphertext_bytes, tag_bytes);
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(ciphertext_bytes);
  int length = 0;
  int final_length = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes),
                          tag.data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, Data(aad), static_cast<int>(aad.size())) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), out.data(), &length, sealed.data(),
                        static_cast<int>(ciphertext_bytes)) != 1) {
    Wipe(out);
    return OpenSslError("AES-256-GCM decryption failed", absl::StatusCode::kInternal);
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + length, &final_length) != 1) {
    // Never hand out unauthenticated plaintext.
    Wipe(out);
    return OpenSslError("AES-256-GCM authentication failed");
  }
  return out;
}

absl::StatusOr<Bytes> EnvelopeSeal(const Bytes& kek, std::string_view plaintext,
                                   std::string_view aad) {
  Bytes data_key = RandomBytes(kAes256KeyBytes);
  Bytes key_nonce = RandomBytes(kGcmNonceBytes);
  Bytes data_nonce = RandomBytes(kGcmNonceBytes);
  std::string key_aad = fmt::format("{}{}", kKeyLayerLabel, aad);
  std::string data_aad = fmt::format("{}{}", kDataLayerLabel, aad);
  absl::StatusOr<Bytes> sealed_key = AesGcmSeal(
      kek, key_nonce,
      std::string_view(reinterpret_cast<const char*>(data_key.data()), data_key.size()), key_aad);
  absl::StatusOr<Bytes> sealed_data =
      sealed_key.ok() ? AesGcmSeal(data_key, data_nonce, plaintext, data_aad) : sealed_key;
  Wipe(data_key);
  if (!sealed_data.ok()) {
    return sealed_data.status();
  }
  Bytes out = {kEnvelopeVersion};
  out.reserve(kDataOffset + sealed_data->size());
  out.insert(out.end(), key_nonce.begin(), key_nonce.end());
  out.insert(out.end(), sealed_key->begin(), sealed_key->end());
  out.insert(out.end(), data_nonce.begin(), data_nonce.end());
  out.insert(out.end(), sealed_data->begin(), sealed_data->end());
  return out;
}

absl::StatusOr<std::string> EnvelopeOpen(const Bytes& kek, const Bytes& envelope,
                                         std::string_view aad) {
  if (envelope.size() < kMinEnvelopeBytes) {
    return absl::InvalidArgumentError(fmt::format(
        "envelope is {} bytes, shorter than the minimum {}", envelope.size(), kMinEnvelopeBytes));
  }
  if (envelope[0] != kEnvelopeVersion) {
    return absl::InvalidArgumentError(fmt::format("unsupported envelope version {}", envelope[0]));
  }
  absl::StatusOr<Bytes> data_key = AesGcmOpen(kek, Slice(envelope, 1, kGcmNonceBytes),
                                              Slice(envelope, 1 + kGcmNonceBytes, kSealedKeyBytes),
                                              fmt::format("{}{}", kKeyLayerLabel, aad));
  if (!data_key.ok()) {
    return absl::InvalidArgumentError(fmt::format(
        "envelope data key does not open (wrong KEK, wrong aad or tampered envelope): {}",
        std::string(data_key.status().message())));
  }
  absl::StatusOr<Bytes> plaintext =
      AesGcmOpen(*data_key, Slice(envelope, kDataNonceOffset, kGcmNonceBytes),
                 Slice(envelope, kDataOffset, envelope.size() - kDataOffset),
                 fmt::format("{}{}", kDataLayerLabel, aad));
  Wipe(*data_key);
  if (!plaintext.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("envelope data does not open (tampered envelope): {}",
                    std::string(plaintext.status().message())));
  }
  std::string out(plaintext->begin(), plaintext->end());
  Wipe(*plaintext);
  return out;
}

}  // namespace bulwark::crypto
