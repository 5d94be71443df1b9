#include "crypto/x509.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/status.h"
#include "crypto/digest.h"
#include "crypto/internal/handles.h"
#include "crypto/internal/openssl_error.h"
#include "crypto/random.h"
#include "fmt/format.h"

namespace bulwark::crypto {

using internal::BasicConstraintsPtr;
using internal::BignumPtr;
using internal::BioPtr;
using internal::GeneralNamesPtr;
using internal::OpenSslError;

namespace {

constexpr std::size_t kRandomSerialBytes = 16;
constexpr std::size_t kMaxSerialBytes = 20;  // RFC 5280 §4.1.2.2

struct X509StackDeleter {
  // The stack only borrows its certificates.
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

int NoPassword(char*, int, int, void*) { return -1; }

core::TimePoint ToTimePoint(const ASN1_TIME* time) {
  std::tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    return core::TimePoint();
  }
  return core::FromUnixSeconds(timegm(&tm));
}

std::vector<std::string> SanStrings(const X509& cert, int gen_type) {
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(&cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) {
    internal::ClearOpenSslErrors();  // absent or malformed: no SANs either way
    return {};
  }
  return internal::GeneralNameStrings(*names, gen_type);
}

// Checks that the issuer is consistent: a CA certificate whose key is `issuer_key`, or (for a
// self-signed certificate) a key equal to the subject key.
absl::Status CheckIssuer(const PublicKey& subject_key, const Certificate* issuer,
                         const PrivateKey& issuer_key) {
  if (issuer == nullptr) {
    if (!issuer_key.Public().Equals(subject_key)) {
      return absl::InvalidArgumentError(
          "self-signed certificate: issuer key does not match the subject key");
    }
    return absl::OkStatus();
  }
  if (!issuer->IsCa()) {
    return absl::InvalidArgumentError("issuer certificate is not a CA (basicConstraints)");
  }
  absl::StatusOr<PublicKey> issuer_public = issuer->SubjectPublicKey();
  if (!issuer_public.ok() || !issuer_public->Equals(issuer_key.Public())) {
    return absl::InvalidArgumentError("issuer key does not match the issuer certificate");
  }
  return absl::OkStatus();
}

absl::Status SetSerial(X509& cert, const Bytes& requested) {
  Bytes serial = requested;
  if (serial.empty()) {
    serial = RandomBytes(kRandomSerialBytes);
    serial[0] &= 0x7f;  // DER INTEGER: keep it positive in 16 bytes
  }
  if (serial.size() > kMaxSerialBytes) {
    return absl::InvalidArgumentError(
        fmt::format("serial must be at most 20 bytes, got {}", serial.size()));
  }
  BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!bn || BN_is_zero(bn.get())) {
    return absl::InvalidArgumentError("serial must be a positive integer");
  }
  internal::Asn1IntegerPtr integer(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!integer || X509_set_serialNumber(&cert, integer.get()) != 1) {
    return OpenSslError("cannot set serial", absl::StatusCode::kInternal);
  }
  return absl::OkStatus();
}

absl::Status SetValidity(X509& cert, core::TimePoint not_before, core::TimePoint not_after) {
  if (not_after <= not_before) {
    return absl::InvalidArgumentError("not_after must be later than not_before");
  }
  if (ASN1_TIME_set(X509_getm_notBefore(&cert), core::ToUnixSeconds(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(&cert), core::ToUnixSeconds(not_after)) == nullptr) {
    return OpenSslError("cannot set validity");
  }
  return absl::OkStatus();
}

absl::Status AddNameEntry(X509_NAME& name, int nid, const std::string& value) {
  if (value.empty()) {
    return absl::OkStatus();
  }
  if (X509_NAME_add_entry_by_NID(&name, nid, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return OpenSslError(fmt::format("invalid subject {} '{}'", OBJ_nid2sn(nid), value));
  }
  return absl::OkStatus();
}

absl::Status SetNames(X509& cert, const CertificateTemplate& tmpl, const Certificate* issuer) {
  X509_NAME* subject = X509_get_subject_name(&cert);  // owned by `cert`
  BULWARK_RETURN_IF_ERROR(AddNameEntry(*subject, NID_organizationName, tmpl.organization));
  BULWARK_RETURN_IF_ERROR(AddNameEntry(*subject, NID_commonName, tmpl.common_name));
  X509_NAME* issuer_name = issuer != nullptr ? X509_get_subject_name(issuer->raw()) : subject;
  if (X509_set_issuer_name(&cert, issuer_name) != 1) {
    return OpenSslError("cannot set issuer name", absl::StatusCode::kInternal);
  }
  return absl::OkStatus();
}

absl::Status AddConfExtension(X509& cert, X509V3_CTX& ctx, int nid, const std::string& value) {
  internal::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(&cert, ext.get(), -1) != 1) {
    return OpenSslError(fmt::format("cannot add {} extension '{}'", OBJ_nid2sn(nid), value),
                        absl::StatusCode::kInternal);
  }
  return absl::OkStatus();
}

// Adds basicConstraints, keyUsage, extendedKeyUsage and the key identifiers.
absl::Status AddUsageExtensions(X509& cert, const CertificateTemplate& tmpl,
                                const Certificate* issuer) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer->raw() : &cert, &cert, nullptr, nullptr, 0);
  std::string basic = "critical,CA:FALSE";
  if (tmpl.is_ca) {
    basic = tmpl.path_length >= 0 ? fmt::format("critical,CA:TRUE,pathlen:{}", tmpl.path_length)
                                  : "critical,CA:TRUE";
  }
  BULWARK_RETURN_IF_ERROR(AddConfExtension(cert, ctx, NID_basic_constraints, basic));
  BULWARK_RETURN_IF_ERROR(AddConfExtension(
      cert, ctx, NID_key_usage,
      tmpl.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyAgreement"));
  if (!tmpl.is_ca) {
    BULWARK_RETURN_IF_ERROR(
        AddConfExtension(cert, ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  }
  BULWARK_RETURN_IF_ERROR(AddConfExtension(cert, ctx, NID_subject_key_identifier, "hash"));
  if (issuer != nullptr) {
    BULWARK_RETURN_IF_ERROR(
        AddConfExtension(cert, ctx, NID_authority_key_identifier, "keyid:always"));
  }
  return absl::OkStatus();
}

// Adds subjectAltName; it must be critical when the subject is empty (RFC 5280 §4.2.1.6).
absl::Status AddSubjectAltName(X509& cert, const CertificateTemplate& tmpl) {
  bool empty_subject = tmpl.common_name.empty() && tmpl.organization.empty();
  if (tmpl.uri_sans.empty() && tmpl.dns_sans.empty() && tmpl.ip_sans.empty()) {
    if (empty_subject) {
      return absl::InvalidArgumentError("certificate needs a subject name or a subjectAltName");
    }
    return absl::OkStatus();
  }
  BULWARK_ASSIGN_OR_RETURN(GeneralNamesPtr names,
                           internal::BuildGeneralNames(tmpl.uri_sans, tmpl.dns_sans, tmpl.ip_sans));
  if (X509_add1_ext_i2d(&cert, NID_subject_alt_name, names.get(), empty_subject ? 1 : 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError("cannot add subjectAltName", absl::StatusCode::kInternal);
  }
  return absl::OkStatus();
}

}  // namespace

void X509Deleter::operator()(x509_st* cert) const { X509_free(cert); }

absl::StatusOr<Certificate> Certificate::FromPem(std::string_view pem) {
  BioPtr bio = internal::MemoryBio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr) : nullptr);
  if (!cert) {
    return OpenSslError("no valid PEM CERTIFICATE found");
  }
  return Certificate(std::move(cert));
}

absl::StatusOr<std::vector<Certificate>> Certificate::ChainFromPem(std::string_view pem) {
  BioPtr bio = internal::MemoryBio(pem);
  if (!bio) {
    return OpenSslError("cannot allocate BIO", absl::StatusCode::kInternal);
  }
  internal::ClearOpenSslErrors();
  std::vector<Certificate> chain;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr)) {
    chain.push_back(Certificate(X509Ptr(cert)));
  }
  // The loop ends with "no start line" at the end of the text; any other error is a bad block.
  unsigned long err = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  if (chain.empty()) {
    return OpenSslError("no PEM CERTIFICATE found");
  }
  if (!clean_end) {
    return OpenSslError(fmt::format("PEM CERTIFICATE #{} is invalid", chain.size() + 1));
  }
  internal::ClearOpenSslErrors();
  return chain;
}

absl::StatusOr<Certificate> Certificate::FromDer(const Bytes& der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    return OpenSslError("not a DER certificate");
  }
  if (p != der.data() + der.size()) {
    return absl::InvalidArgumentError("trailing bytes after DER certificate");
  }
  return Certificate(std::move(cert));
}

Certificate::Certificate(const Certificate& other) : cert_(other.cert_.get()) {
  // Certificates are immutable, so a copy shares the object by reference count.
  X509_up_ref(cert_.get());
}

Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) {
    X509_up_ref(other.cert_.get());
    cert_.reset(other.cert_.get());
  }
  return *this;
}

std::string Certificate::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  BULWARK_CHECK(bio && PEM_write_bio_X509(bio.get(), cert_.get()) == 1);
  return internal::BioContents(*bio);
}

Bytes Certificate::ToDer() const {
  unsigned char* der = nullptr;
  int length = i2d_X509(cert_.get(), &der);
  BULWARK_CHECK(length > 0);
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

std::string Certificate::SerialHex() const {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_.get()), nullptr));
  if (!bn || BN_is_zero(bn.get())) {
    return "0";
  }
  char* hex = BN_bn2hex(bn.get());
  std::string text = hex != nullptr ? hex : "0";
  OPENSSL_free(hex);
  std::size_t sign = text[0] == '-' ? 1 : 0;
  std::size_t first = text.find_first_not_of('0', sign);
  text.erase(sign, first - sign);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

core::TimePoint Certificate::NotBefore() const {
  return ToTimePoint(X509_get0_notBefore(cert_.get()));
}

core::TimePoint Certificate::NotAfter() const {
  return ToTimePoint(X509_get0_notAfter(cert_.get()));
}

std::vector<std::string> Certificate::UriSans() const { return SanStrings(*cert_, GEN_URI); }

std::vector<std::string> Certificate::DnsSans() const { return SanStrings(*cert_, GEN_DNS); }

std::string Certificate::SubjectCommonName() const {
  const X509_NAME* name = X509_get_subject_name(cert_.get());
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) {
    return "";
  }
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) {
    internal::ClearOpenSslErrors();
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return out;
}

bool Certificate::IsCa() const {
  int critical = 0;
  BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert_.get(), NID_basic_constraints, &critical, nullptr)));
  if (!bc) {
    internal::ClearOpenSslErrors();  // absent or malformed: not a CA either way
    return false;
  }
  return bc->ca != 0;
}

absl::StatusOr<PublicKey> Certificate::SubjectPublicKey() const {
  EvpPkeyPtr key(X509_get_pubkey(cert_.get()));
  if (!key) {
    return OpenSslError("certificate public key cannot be decoded");
  }
  return PublicKey::FromEvp(std::move(key));
}

Bytes Certificate::Sha256Fingerprint() const { return Sha256(ToDer()); }

absl::StatusOr<Certificate> SignCertificate(const CertificateTemplate& tmpl,
                                            const PublicKey& subject_key, const Certificate* issuer,
                                            const PrivateKey& issuer_key) {
  BULWARK_RETURN_IF_ERROR(CheckIssuer(subject_key, issuer, issuer_key));
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_pubkey(cert.get(), subject_key.raw()) != 1) {
    return OpenSslError("cannot create certificate", absl::StatusCode::kInternal);
  }
  BULWARK_RETURN_IF_ERROR(SetSerial(*cert, tmpl.serial));
  BULWARK_RETURN_IF_ERROR(SetValidity(*cert, tmpl.not_before, tmpl.not_after));
  BULWARK_RETURN_IF_ERROR(SetNames(*cert, tmpl, issuer));
  BULWARK_RETURN_IF_ERROR(AddUsageExtensions(*cert, tmpl, issuer));
  BULWARK_RETURN_IF_ERROR(AddSubjectAltName(*cert, tmpl));
  // EdDSA signs the message itself, so X509_sign takes no digest for Ed25519 issuers.
  const EVP_MD* md = issuer_key.type() == KeyType::kEd25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), issuer_key.raw(), md) <= 0) {
    return OpenSslError("cannot sign certificate", absl::StatusCode::kInternal);
  }
  return Certificate::FromX509(std::move(cert));
}

absl::Status VerifyChain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                         const std::vector<Certificate>& roots, core::TimePoint at) {
  internal::X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  internal::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) {
    return OpenSslError("cannot allocate verification context", absl::StatusCode::kInternal);
  }
  for (const Certificate& root : roots) {
    if (X509_STORE_add_cert(store.get(), root.raw()) != 1) {
      return OpenSslError("cannot add root certificate", absl::StatusCode::kInternal);
    }
  }
  for (const Certificate& cert : intermediates) {
    if (sk_X509_push(untrusted.get(), cert.raw()) <= 0) {
      return OpenSslError("cannot add intermediate certificate", absl::StatusCode::kInternal);
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.raw(), untrusted.get()) != 1) {
    return OpenSslError("cannot start chain verification", absl::StatusCode::kInternal);
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(core::ToUnixSeconds(at)));
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  if (X509_verify_cert(ctx.get()) != 1) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    return OpenSslError(fmt::format("certificate chain does not verify at depth {}: {}",
                                    X509_STORE_CTX_get_error_depth(ctx.get()),
                                    X509_verify_cert_error_string(error)));
  }
  return absl::OkStatus();
}

}  // namespace bulwark::crypto
