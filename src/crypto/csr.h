// PKCS#10 certificate signing requests: create, parse with size limits, inspect. RAII over
// OpenSSL X509_REQ; immutable after creation.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/key.h"

struct X509_req_st;

namespace bulwark::crypto {

struct X509ReqDeleter {
  void operator()(X509_req_st* req) const;
};
using X509ReqPtr = std::unique_ptr<X509_req_st, X509ReqDeleter>;

// Largest PEM CSR accepted (a P-256 CSR is well under 1 KiB).
inline constexpr std::size_t kMaxCsrPemBytes = 8192;

class CertificateRequest {
 public:
  // Creates a CSR signed by `key`, with an optional URI SAN request.
  static absl::StatusOr<CertificateRequest> Create(const PrivateKey& key,
                                                   std::string_view common_name,
                                                   std::string_view uri_san = {});
  // Parses one PEM "CERTIFICATE REQUEST"; refuses inputs over kMaxCsrPemBytes, other PEM
  // types and trailing garbage.
  static absl::StatusOr<CertificateRequest> FromPem(std::string_view pem);

  std::string ToPem() const;
  // Returns the requested public key, if it is P-256 or Ed25519; the error names the key type
  // and size otherwise (for example "RSA 1024-bit keys are not accepted").
  absl::StatusOr<PublicKey> SubjectPublicKey() const;
  // Verifies the CSR's self-signature with its own public key.
  absl::Status VerifySelfSignature() const;
  // Returns whether the CSR requests basicConstraints CA:TRUE.
  bool RequestsCa() const;
  // Returns the requested URI SANs (informational only: the authority decides the SAN).
  std::vector<std::string> UriSans() const;
  X509_req_st* raw() const { return req_.get(); }

 private:
  explicit CertificateRequest(X509ReqPtr req) : req_(std::move(req)) {}
  X509ReqPtr req_;
};

}  // namespace bulwark::crypto
