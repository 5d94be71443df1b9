#include "crypto/csr.h"

#include <openssl/pem.h>

#include <cctype>

#include "core/status.h"
#include "crypto/internal/handles.h"
#include "crypto/internal/openssl_error.h"
#include "fmt/format.h"

namespace bulwark::crypto {

using internal::BioPtr;
using internal::OpenSslError;

namespace {

struct ExtensionStackDeleter {
  void operator()(STACK_OF(X509_EXTENSION) * exts) const {
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
};
using ExtensionStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackDeleter>;

// Frees the name, header and data that PEM_read_bio allocates.
struct PemBlock {
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long length = 0;
  ~PemBlock() {
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
};

// Returns the requested extension `nid` decoded, or null when absent (or undecodable).
void* RequestedExtension(const X509_REQ& req, int nid) {
  ExtensionStackPtr exts(X509_REQ_get_extensions(const_cast<X509_REQ*>(&req)));
  if (!exts) {
    internal::ClearOpenSslErrors();
    return nullptr;
  }
  void* value = X509V3_get_d2i(exts.get(), nid, nullptr, nullptr);
  internal::ClearOpenSslErrors();
  return value;
}

absl::Status AddUriSanRequest(X509_REQ& req, std::string_view uri_san) {
  BULWARK_ASSIGN_OR_RETURN(internal::GeneralNamesPtr names,
                           internal::BuildGeneralNames({std::string(uri_san)}, {}, {}));
  ExtensionStackPtr exts(sk_X509_EXTENSION_new_null());
  internal::X509ExtensionPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
  if (!exts || !ext || sk_X509_EXTENSION_push(exts.get(), ext.get()) <= 0) {
    return OpenSslError("cannot build subjectAltName request", absl::StatusCode::kInternal);
  }
  ext.release();  // now owned by `exts`
  if (X509_REQ_add_extensions(&req, exts.get()) != 1) {
    return OpenSslError("cannot add extension request", absl::StatusCode::kInternal);
  }
  return absl::OkStatus();
}

// Reads exactly one PEM block of type "CERTIFICATE REQUEST" with nothing but whitespace after it.
absl::StatusOr<X509ReqPtr> ParseCsrPem(BIO& bio) {
  PemBlock block;
  if (PEM_read_bio(&bio, &block.name, &block.header, &block.data, &block.length) != 1) {
    return OpenSslError("CSR is not PEM");
  }
  if (std::string_view(block.name) != PEM_STRING_X509_REQ) {
    return absl::InvalidArgumentError(
        fmt::format("PEM type is '{}', expected 'CERTIFICATE REQUEST'", block.name));
  }
  if (block.header != nullptr && block.header[0] != '\0') {
    return absl::InvalidArgumentError("CSR PEM must not have headers");
  }
  char c = 0;
  while (BIO_read(&bio, &c, 1) == 1) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("trailing data after the CSR PEM block");
    }
  }
  const unsigned char* p = block.data;
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, block.length));
  if (!req) {
    return OpenSslError("CSR PEM does not hold a valid PKCS#10 request");
  }
  if (p != block.data + block.length) {
    return absl::InvalidArgumentError("trailing bytes after the DER CSR");
  }
  return req;
}

}  // namespace

void X509ReqDeleter::operator()(X509_req_st* req) const { X509_REQ_free(req); }

absl::StatusOr<CertificateRequest> CertificateRequest::Create(const PrivateKey& key,
                                                              std::string_view common_name,
                                                              std::string_view uri_san) {
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.raw()) != 1) {
    return OpenSslError("cannot create CSR", absl::StatusCode::kInternal);
  }
  if (!common_name.empty() &&
      X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName,
                                 MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    return OpenSslError(fmt::format("invalid common name '{}'", common_name));
  }
  if (!uri_san.empty()) {
    BULWARK_RETURN_IF_ERROR(AddUriSanRequest(*req, uri_san));
  }
  const EVP_MD* md = key.type() == KeyType::kEd25519 ? nullptr : EVP_sha256();
  if (X509_REQ_sign(req.get(), key.raw(), md) <= 0) {
    return OpenSslError("cannot sign CSR", absl::StatusCode::kInternal);
  }
  return CertificateRequest(std::move(req));
}

absl::StatusOr<CertificateRequest> CertificateRequest::FromPem(std::string_view pem) {
  if (pem.size() > kMaxCsrPemBytes) {
    return absl::InvalidArgumentError(
        fmt::format("CSR is {} bytes, more than the {} accepted", pem.size(), kMaxCsrPemBytes));
  }
  BioPtr bio = internal::MemoryBio(pem);
  if (!bio) {
    return OpenSslError("cannot allocate BIO", absl::StatusCode::kInternal);
  }
  BULWARK_ASSIGN_OR_RETURN(X509ReqPtr req, ParseCsrPem(*bio));
  return CertificateRequest(std::move(req));
}

std::string CertificateRequest::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  BULWARK_CHECK(bio && PEM_write_bio_X509_REQ(bio.get(), req_.get()) == 1);
  return internal::BioContents(*bio);
}

absl::StatusOr<PublicKey> CertificateRequest::SubjectPublicKey() const {
  EvpPkeyPtr key(X509_REQ_get_pubkey(req_.get()));
  if (!key) {
    return OpenSslError("CSR public key uses an unknown algorithm or cannot be decoded");
  }
  return PublicKey::FromEvp(std::move(key));
}

absl::Status CertificateRequest::VerifySelfSignature() const {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req_.get());
  if (key == nullptr) {
    return OpenSslError("CSR public key cannot be decoded");
  }
  if (X509_REQ_verify(req_.get(), key) != 1) {
    return OpenSslError("CSR self-signature does not verify");
  }
  return absl::OkStatus();
}

bool CertificateRequest::RequestsCa() const {
  internal::BasicConstraintsPtr bc(
      static_cast<BASIC_CONSTRAINTS*>(RequestedExtension(*req_, NID_basic_constraints)));
  return bc && bc->ca != 0;
}

std::vector<std::string> CertificateRequest::UriSans() const {
  internal::GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(RequestedExtension(*req_, NID_subject_alt_name)));
  if (!names) {
    return {};
  }
  return internal::GeneralNameStrings(*names, GEN_URI);
}

}  // namespace bulwark::crypto
