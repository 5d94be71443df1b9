// X.509 certificates: parse, build and sign, inspect (serial, validity, URI SANs, CA flag), and
// verify chains. RAII over OpenSSL X509; immutable after creation, const methods thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "crypto/bytes.h"
#include "crypto/key.h"

struct x509_st;

namespace bulwark::crypto {

struct X509Deleter {
  void operator()(x509_st* cert) const;
};
using X509Ptr = std::unique_ptr<x509_st, X509Deleter>;

class Certificate {
 public:
  // Parses one PEM "CERTIFICATE"; fails if there is none or the text is not PEM.
  static absl::StatusOr<Certificate> FromPem(std::string_view pem);
  // Parses every PEM "CERTIFICATE" block in order; fails if there is none.
  static absl::StatusOr<std::vector<Certificate>> ChainFromPem(std::string_view pem);
  // Parses DER; fails on trailing bytes.
  static absl::StatusOr<Certificate> FromDer(const Bytes& der);
  // Takes ownership of `cert`.
  static Certificate FromX509(X509Ptr cert) { return Certificate(std::move(cert)); }

  Certificate(const Certificate& other);
  Certificate& operator=(const Certificate& other);
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;

  std::string ToPem() const;
  Bytes ToDer() const;
  // Returns the serial number as lowercase hex without leading zeros ("0" for zero).
  std::string SerialHex() const;
  core::TimePoint NotBefore() const;
  core::TimePoint NotAfter() const;
  // Returns the URI subjectAltNames in order.
  std::vector<std::string> UriSans() const;
  // Returns the DNS subjectAltNames in order.
  std::vector<std::string> DnsSans() const;
  // Returns the subject's commonName, or "" if it has none.
  std::string SubjectCommonName() const;
  // Returns whether basicConstraints says CA:TRUE.
  bool IsCa() const;
  // Returns the subject public key.
  absl::StatusOr<PublicKey> SubjectPublicKey() const;
  // Returns the SHA-256 of the DER encoding (used for x5t#S256 and pinning).
  Bytes Sha256Fingerprint() const;
  x509_st* raw() const { return cert_.get(); }

 private:
  explicit Certificate(X509Ptr cert) : cert_(std::move(cert)) {}
  X509Ptr cert_;
};

// What to put in a new certificate. The serial is random (128 bits) when empty.
struct CertificateTemplate {
  Bytes serial;
  std::string common_name;   // empty: no subject CN
  std::string organization;  // empty: no O
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;  // textual IPv4 or IPv6 addresses
  core::TimePoint not_before;
  core::TimePoint not_after;
  bool is_ca = false;
  int path_length = -1;  // for CAs: -1 means no pathLenConstraint
  // Leaf usage: digitalSignature, keyAgreement; extendedKeyUsage serverAuth + clientAuth.
  // CA usage: keyCertSign, cRLSign. URI SANs are marked critical only if the subject is empty.
};

// Builds and signs a certificate for `subject_key`. With `issuer` null it is self-signed by
// `issuer_key` (which must then match `subject_key`); otherwise the issuer name and authority
// key identifier come from `issuer`. P-256 issuers sign with ECDSA-SHA256, Ed25519 with EdDSA.
absl::StatusOr<Certificate> SignCertificate(const CertificateTemplate& tmpl,
                                            const PublicKey& subject_key, const Certificate* issuer,
                                            const PrivateKey& issuer_key);

// Verifies that `leaf` chains through `intermediates` to one of `roots`, valid at `at`
// (every certificate in the path). Errors carry OpenSSL's verification reason. RFC 5280 strict
// checks apply (X509_V_FLAG_X509_STRICT): for example a CA certificate needs a keyUsage with
// keyCertSign and a subject key identifier; no purpose is checked.
absl::Status VerifyChain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                         const std::vector<Certificate>& roots, core::TimePoint at);

}  // namespace bulwark::crypto
