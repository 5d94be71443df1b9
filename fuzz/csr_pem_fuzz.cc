// Fuzzes the PEM and DER parsers that take input from outside the process: CSRs (the authority's
// enrollment endpoint), certificate chains and keys. Every inspector runs on whatever parses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/csr.h"
#include "crypto/key.h"
#include "crypto/x509.h"

namespace {

using bulwark::crypto::Bytes;
using bulwark::crypto::Certificate;
using bulwark::crypto::CertificateRequest;
using bulwark::crypto::PrivateKey;
using bulwark::crypto::PublicKey;

void InspectCsr(std::string_view text) {
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::FromPem(text);
  if (!csr.ok()) {
    return;
  }
  (void)csr->ToPem();
  (void)csr->VerifySelfSignature();
  (void)csr->RequestsCa();
  (void)csr->UriSans();
  absl::StatusOr<PublicKey> key = csr->SubjectPublicKey();
  if (key.ok()) {
    (void)key->ToDer();
  }
}

void InspectCertificates(std::string_view text) {
  absl::StatusOr<std::vector<Certificate>> chain = Certificate::ChainFromPem(text);
  if (!chain.ok()) {
    return;
  }
  for (const Certificate& cert : *chain) {
    (void)cert.ToPem();
    (void)cert.SerialHex();
    (void)cert.NotBefore();
    (void)cert.NotAfter();
    (void)cert.UriSans();
    (void)cert.DnsSans();
    (void)cert.SubjectCommonName();
    (void)cert.IsCa();
    (void)cert.SubjectPublicKey();
    (void)cert.Sha256Fingerprint();
  }
  (void)bulwark::crypto::VerifyChain(chain->front(), *chain, {chain->back()},
                                     chain->front().NotBefore());
}

void InspectKeys(std::string_view text, const Bytes& bytes) {
  absl::StatusOr<PublicKey> pub = PublicKey::FromPem(text);
  if (pub.ok()) {
    (void)pub->ToPem();
    (void)pub->Verify("fuzz", bytes);
    (void)pub->Verify("fuzz", bytes, PublicKey::SignatureFormat::kRaw);
  }
  absl::StatusOr<PublicKey> der = PublicKey::FromDer(bytes);
  if (der.ok()) {
    (void)der->ToPem();
  }
  absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(text);
  if (key.ok()) {
    (void)key->Public().ToDer();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Bytes bytes(data, data + size);
  InspectCsr(text);
  InspectCertificates(text);
  InspectKeys(text, bytes);
  (void)Certificate::FromDer(bytes);
  return 0;
}
