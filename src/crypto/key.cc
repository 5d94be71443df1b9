#include "crypto/key.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/status.h"
#include "crypto/internal/handles.h"
#include "crypto/internal/openssl_error.h"
#include "fmt/format.h"

namespace bulwark::crypto {

using internal::BignumPtr;
using internal::BioPtr;
using internal::EcdsaSigPtr;
using internal::EvpMdCtxPtr;
using internal::EvpPkeyCtxPtr;
using internal::OpenSslError;

namespace {

constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kEd25519KeyBytes = 32;
constexpr std::size_t kEd25519SignatureBytes = 64;

using OsslParamBldPtr =
    std::unique_ptr<OSSL_PARAM_BLD, internal::OpenSslDeleter<OSSL_PARAM_BLD_free>>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, internal::OpenSslDeleter<OSSL_PARAM_free>>;

// Returns the digest that goes with `type` in EVP_DigestSign/Verify: none for pure EdDSA.
const EVP_MD* DigestFor(KeyType type) { return type == KeyType::kEd25519 ? nullptr : EVP_sha256(); }

// Suppresses OpenSSL's terminal prompt for encrypted PEM: encrypted keys are refused.
int NoPassword(char*, int, int, void*) { return -1; }

// Returns `bn` as exactly 32 big-endian bytes.
Bytes FixedWidth(const BIGNUM& bn) {
  Bytes out(kP256CoordinateBytes);
  BULWARK_CHECK(BN_bn2binpad(&bn, out.data(), static_cast<int>(out.size())) ==
                static_cast<int>(out.size()));
  return out;
}

// The order n of the P-256 group (FIPS 186-4 D.1.2.3), big-endian.
constexpr std::array<std::uint8_t, kP256CoordinateBytes> kP256Order = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
// SEQUENCE { INTEGER r, INTEGER s } with each INTEGER at most 33 content bytes: 2 + 2 * 35.
constexpr std::size_t kMaxP256DerBytes = 72;

// A DER P-256 signature built in place (no allocation).
struct DerSignature {
  std::array<std::uint8_t, kMaxP256DerBytes> bytes;
  std::size_t size = 0;
};

// Returns whether the 32-byte big-endian `v` is in [1, n-1].
bool InP256Range(const std::uint8_t* v) {
  bool zero = std::all_of(v, v + kP256CoordinateBytes, [](std::uint8_t b) { return b == 0; });
  return !zero && std::memcmp(v, kP256Order.data(), kP256CoordinateBytes) < 0;
}

// Appends the DER INTEGER of the 32-byte big-endian unsigned `v` (minimal: leading zero bytes
// dropped, one 0x00 added before a set high bit) to `out`.
void AppendDerInteger(const std::uint8_t* v, DerSignature& out) {
  std::size_t skip = 0;
  while (skip + 1 < kP256CoordinateBytes && v[skip] == 0) {
    ++skip;
  }
  bool pad = (v[skip] & 0x80) != 0;
  std::size_t length = kP256CoordinateBytes - skip + (pad ? 1 : 0);
  out.bytes[out.size++] = 0x02;  // INTEGER
  out.bytes[out.size++] = static_cast<std::uint8_t>(length);
  if (pad) {
    out.bytes[out.size++] = 0x00;
  }
  std::memcpy(out.bytes.data() + out.size, v + skip, kP256CoordinateBytes - skip);
  out.size += kP256CoordinateBytes - skip;
}

// Converts a raw R||S P-256 signature to DER, refusing r or s outside [1, n-1]. Encodes by hand
// into a fixed buffer: this runs on every ES256 verification. Should the encoding ever be wrong,
// OpenSSL's verifier (which re-encodes what it decodes and compares) refuses it: fail closed.
absl::StatusOr<DerSignature> RawToDer(const Bytes& raw) {
  if (raw.size() != 2 * kP256CoordinateBytes) {
    return absl::InvalidArgumentError(
        fmt::format("raw P-256 signature must be 64 bytes, got {}", raw.size()));
  }
  const std::uint8_t* r = raw.data();
  const std::uint8_t* s = raw.data() + kP256CoordinateBytes;
  if (!InP256Range(r) || !InP256Range(s)) {
    return absl::InvalidArgumentError("raw P-256 signature: r or s is outside [1, n-1]");
  }
  DerSignature der;
  der.size = 2;  // SEQUENCE tag and length, written once the content is
  AppendDerInteger(r, der);
  AppendDerInteger(s, der);
  der.bytes[0] = 0x30;  // SEQUENCE
  der.bytes[1] = static_cast<std::uint8_t>(der.size - 2);
  return der;
}

// Converts a DER P-256 signature to raw R||S.
absl::StatusOr<Bytes> DerToRaw(const Bytes& der) {
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    return OpenSslError("cannot decode ECDSA signature", absl::StatusCode::kInternal);
  }
  Bytes out = FixedWidth(*ECDSA_SIG_get0_r(sig.get()));
  Bytes s = FixedWidth(*ECDSA_SIG_get0_s(sig.get()));
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

// Builds a P-256 EVP_PKEY from an encoded point and checks it.
absl::StatusOr<EvpPkeyPtr> P256FromPoint(const Bytes& point) {
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1,
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return OpenSslError("cannot build P-256 key parameters", absl::StatusCode::kInternal);
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return OpenSslError("P-256 point is not valid");
  }
  EvpPkeyPtr key(raw);
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return OpenSslError("P-256 point is not on the curve");
  }
  return key;
}

constexpr int kRsaMinBits = 2048;
constexpr int kRsaMaxBits = 8192;

// Builds an RSA public EVP_PKEY from n and e and runs OpenSSL's public-key check.
absl::StatusOr<EvpPkeyPtr> RsaFromComponents(const Bytes& n, const Bytes& e) {
  BignumPtr bn_n(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
  BignumPtr bn_e(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return OpenSslError("cannot build RSA key parameters", absl::StatusCode::kInternal);
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return OpenSslError("RSA public key is not valid");
  }
  EvpPkeyPtr key(raw);
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return OpenSslError("RSA public key fails the public-key check");
  }
  return key;
}

// Sets PKCS#1 v1.5 or PSS (MGF1-SHA-256, salt = digest length, as RFC 7518 §3.5 requires).
bool SetRsaPadding(EVP_PKEY_CTX* pctx, PublicKey::RsaPadding padding) {
  if (padding == PublicKey::RsaPadding::kPkcs1v15) {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  }
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kP256:
      return "P-256";
    case KeyType::kEd25519:
      return "Ed25519";
    case KeyType::kRsa:
      return "RSA";
  }
  return "unknown";
}

void EvpPkeyDeleter::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }

// ----- PublicKey

absl::StatusOr<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio = internal::MemoryBio(pem);
  if (!bio) {
    return OpenSslError("cannot allocate BIO", absl::StatusCode::kInternal);
  }
  EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassword, nullptr));
  if (!key) {
    return OpenSslError("not a PEM PUBLIC KEY");
  }
  return FromEvp(std::move(key));
}

absl::StatusOr<PublicKey> PublicKey::FromDer(const Bytes& der) {
  const unsigned char* p = der.data();
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) {
    return OpenSslError("not a DER SubjectPublicKeyInfo");
  }
  if (p != der.data() + der.size()) {
    return absl::InvalidArgumentError("trailing bytes after DER SubjectPublicKeyInfo");
  }
  return FromEvp(std::move(key));
}

absl::StatusOr<PublicKey> PublicKey::FromP256Coordinates(const Bytes& x, const Bytes& y) {
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return absl::InvalidArgumentError(
        fmt::format("P-256 coordinates must be 32 bytes each, got {} and {}", x.size(), y.size()));
  }
  Bytes point = {0x04};  // uncompressed SEC1 point: 0x04 || x || y
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  BULWARK_ASSIGN_OR_RETURN(EvpPkeyPtr key, P256FromPoint(point));
  return PublicKey(std::move(key), KeyType::kP256);
}

absl::StatusOr<PublicKey> PublicKey::FromEd25519Raw(const Bytes& raw) {
  if (raw.size() != kEd25519KeyBytes) {
    return absl::InvalidArgumentError(
        fmt::format("Ed25519 public key must be 32 bytes, got {}", raw.size()));
  }
  EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  if (!key) {
    return OpenSslError("invalid Ed25519 public key");
  }
  return PublicKey(std::move(key), KeyType::kEd25519);
}

absl::StatusOr<PublicKey> PublicKey::FromRsaComponents(const Bytes& n, const Bytes& e) {
  if (n.empty() || e.empty() || n.front() == 0 || e.front() == 0) {
    return absl::InvalidArgumentError("RSA n and e must be non-empty without leading zero octets");
  }
  if (n.size() * 8 > static_cast<std::size_t>(kRsaMaxBits) || e.size() > 8) {
    return absl::InvalidArgumentError(fmt::format(
        "RSA key too large: {}-byte modulus, {}-byte exponent (at most {} bits, 8 bytes)", n.size(),
        e.size(), kRsaMaxBits));
  }
  BULWARK_ASSIGN_OR_RETURN(EvpPkeyPtr key, RsaFromComponents(n, e));
  if (EVP_PKEY_get_bits(key.get()) < kRsaMinBits) {
    return absl::InvalidArgumentError(
        fmt::format("RSA {}-bit keys are not accepted; at least {} bits are required",
                    EVP_PKEY_get_bits(key.get()), kRsaMinBits));
  }
  return PublicKey(std::move(key), KeyType::kRsa);
}

absl::StatusOr<PublicKey> PublicKey::FromEvp(EvpPkeyPtr key) {
  if (!key) {
    return absl::InvalidArgumentError("null key");
  }
  BULWARK_ASSIGN_OR_RETURN(KeyType type, internal::SupportedKeyType(*key));
  return PublicKey(std::move(key), type);
}

// EVP_DigestVerifyInit fetches the digest and signature implementations and builds their
// contexts: for ES256 about a tenth of the cost of a JWT verification outside the curve
// arithmetic. It is done once per key; each Verify copies the prepared context
// (EVP_MD_CTX_copy_ex, which only reads it), so threads share it without a lock.
class PublicKey::VerifyCache {
 public:
  // Returns the prepared context of `key` (set up on the first call), or null when it could not
  // be prepared, or for RSA (VerifyRsa chooses its padding per call).
  const EVP_MD_CTX* Prepared(EVP_PKEY* key, KeyType type) {
    std::call_once(once_, [&] {
      if (type == KeyType::kRsa) {
        return;
      }
      EvpMdCtxPtr ctx(EVP_MD_CTX_new());
      if (ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(type), nullptr, key) == 1) {
        prepared_ = std::move(ctx);
      }
      internal::ClearOpenSslErrors();
    });
    return prepared_.get();
  }

 private:
  std::once_flag once_;
  EvpMdCtxPtr prepared_;  // written once, under once_
};

PublicKey::PublicKey(EvpPkeyPtr key, KeyType type)
    : key_(std::move(key)), type_(type), verify_cache_(std::make_shared<VerifyCache>()) {}

PublicKey::PublicKey(const PublicKey& other)
    : key_(other.key_.get()), type_(other.type_), verify_cache_(other.verify_cache_) {
  // Keys are immutable, so a copy shares the object by reference count.
  EVP_PKEY_up_ref(key_.get());
}

PublicKey& PublicKey::operator=(const PublicKey& other) {
  if (this != &other) {
    EVP_PKEY_up_ref(other.key_.get());
    key_.reset(other.key_.get());
    type_ = other.type_;
    verify_cache_ = other.verify_cache_;
  }
  return *this;
}

std::string PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  BULWARK_CHECK(bio && PEM_write_bio_PUBKEY(bio.get(), key_.get()) == 1);
  return internal::BioContents(*bio);
}

Bytes PublicKey::ToDer() const {
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(key_.get(), &der);
  BULWARK_CHECK(length > 0);
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

absl::Status PublicKey::P256Coordinates(Bytes& x, Bytes& y) const {
  if (type_ != KeyType::kP256) {
    return absl::FailedPreconditionError(
        fmt::format("{} key has no P-256 coordinates", KeyTypeName(type_)));
  }
  BIGNUM* bx = nullptr;
  BIGNUM* by = nullptr;
  int ok_x = EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, &bx);
  int ok_y = EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &by);
  BignumPtr px(bx);
  BignumPtr py(by);
  if (ok_x != 1 || ok_y != 1) {
    return OpenSslError("cannot read P-256 coordinates", absl::StatusCode::kInternal);
  }
  x = FixedWidth(*px);
  y = FixedWidth(*py);
  return absl::OkStatus();
}

absl::StatusOr<Bytes> PublicKey::Ed25519Raw() const {
  if (type_ != KeyType::kEd25519) {
    return absl::FailedPreconditionError(
        fmt::format("{} key has no raw Ed25519 form", KeyTypeName(type_)));
  }
  Bytes out(kEd25519KeyBytes);
  std::size_t length = out.size();
  if (EVP_PKEY_get_raw_public_key(key_.get(), out.data(), &length) != 1 || length != out.size()) {
    return OpenSslError("cannot read Ed25519 public key", absl::StatusCode::kInternal);
  }
  return out;
}

absl::Status PublicKey::Verify(std::string_view message, const Bytes& signature,
                               SignatureFormat format) const {
  if (type_ == KeyType::kRsa) {
    return absl::FailedPreconditionError("RSA keys verify only through VerifyRsa");
  }
  if (type_ == KeyType::kEd25519 && signature.size() != kEd25519SignatureBytes) {
    return absl::InvalidArgumentError(
        fmt::format("Ed25519 signature must be 64 bytes, got {}", signature.size()));
  }
  const std::uint8_t* sig = signature.data();
  std::size_t sig_size = signature.size();
  DerSignature der;
  if (type_ == KeyType::kP256 && format == SignatureFormat::kRaw) {
    BULWARK_ASSIGN_OR_RETURN(der, RawToDer(signature));
    sig = der.bytes.data();
    sig_size = der.size;
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD_CTX* prepared = verify_cache_->Prepared(key_.get(), type_);
  if (!ctx || (prepared != nullptr ? EVP_MD_CTX_copy_ex(ctx.get(), prepared)
                                   : EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(type_),
                                                          nullptr, key_.get())) != 1) {
    return OpenSslError("cannot start signature verification", absl::StatusCode::kInternal);
  }
  // The copy is ours alone: let the final step use it up rather than duplicate it first.
  EVP_MD_CTX_set_flags(ctx.get(), EVP_MD_CTX_FLAG_FINALISE);
  // OpenSSL's ECDSA verifier re-encodes the decoded signature and refuses BER and trailing bytes.
  if (EVP_DigestVerify(ctx.get(), sig, sig_size,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1) {
    return OpenSslError(fmt::format("{} signature does not verify", KeyTypeName(type_)));
  }
  return absl::OkStatus();
}

absl::Status PublicKey::VerifyRsa(std::string_view message, const Bytes& signature,
                                  RsaPadding padding) const {
  if (type_ != KeyType::kRsa) {
    return absl::FailedPreconditionError(
        fmt::format("{} key cannot verify an RSA signature", KeyTypeName(type_)));
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by `ctx`
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key_.get()) != 1 ||
      !SetRsaPadding(pctx, padding)) {
    return OpenSslError("cannot start RSA verification", absl::StatusCode::kInternal);
  }
  if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1) {
    return OpenSslError(fmt::format("RSA {} signature does not verify",
                                    padding == RsaPadding::kPss ? "PSS" : "PKCS#1 v1.5"));
  }
  return absl::OkStatus();
}

int PublicKey::RsaBits() const {
  return type_ == KeyType::kRsa ? EVP_PKEY_get_bits(key_.get()) : 0;
}

bool PublicKey::Equals(const PublicKey& other) const {
  return EVP_PKEY_eq(key_.get(), other.key_.get()) == 1;
}

// ----- PrivateKey

absl::StatusOr<PrivateKey> PrivateKey::Generate(KeyType type) {
  if (type == KeyType::kRsa) {
    return absl::InvalidArgumentError("RSA keys are not generated; use ECDSA P-256 or Ed25519");
  }
  EVP_PKEY* raw = type == KeyType::kP256 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                         : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr) {
    return OpenSslError(fmt::format("cannot generate {} key", KeyTypeName(type)),
                        absl::StatusCode::kInternal);
  }
  return PrivateKey(EvpPkeyPtr(raw), type);
}

absl::StatusOr<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  BioPtr bio = internal::MemoryBio(pem);
  if (!bio) {
    return OpenSslError("cannot allocate BIO", absl::StatusCode::kInternal);
  }
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!key) {
    return OpenSslError("not an unencrypted PEM private key");
  }
  BULWARK_ASSIGN_OR_RETURN(KeyType type, internal::SupportedKeyType(*key));
  return PrivateKey(std::move(key), type);
}

std::string PrivateKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  BULWARK_CHECK(bio && PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0,
                                                     nullptr, nullptr) == 1);
  return internal::BioContents(*bio);
}

PublicKey PrivateKey::Public() const {
  // A DER round trip copies only the public half, so a PublicKey never carries the secret.
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(key_.get(), &der);
  BULWARK_CHECK(length > 0);
  Bytes bytes(der, der + length);
  OPENSSL_free(der);
  absl::StatusOr<PublicKey> pub = PublicKey::FromDer(bytes);
  BULWARK_CHECK(pub.ok());
  return *std::move(pub);
}

absl::StatusOr<Bytes> PrivateKey::Sign(std::string_view message,
                                       PublicKey::SignatureFormat format) const {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const auto* in = reinterpret_cast<const unsigned char*>(message.data());
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(type_), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, in, message.size()) != 1) {
    return OpenSslError("cannot start signing", absl::StatusCode::kInternal);
  }
  Bytes sig(length);
  if (EVP_DigestSign(ctx.get(), sig.data(), &length, in, message.size()) != 1) {
    return OpenSslError("signing failed", absl::StatusCode::kInternal);
  }
  sig.resize(length);
  if (type_ == KeyType::kP256 && format == PublicKey::SignatureFormat::kRaw) {
    return DerToRaw(sig);
  }
  return sig;
}

}  // namespace bulwark::crypto
