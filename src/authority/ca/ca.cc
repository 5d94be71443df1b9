#include "authority/ca/ca.h"

#include <algorithm>

#include "authority/sealed_key.h"
#include "core/status.h"
#include "fmt/format.h"
#include "identity/svid.h"

namespace bulwark::authority {
namespace {

std::string KeyAad(const std::string& id) { return fmt::format("ca-key:{}", id); }

crypto::CertificateTemplate CaTemplate(std::string_view trust_domain, std::string common_name,
                                       core::TimePoint not_before, core::TimePoint not_after,
                                       int path_length) {
  crypto::CertificateTemplate tmpl;
  tmpl.common_name = std::move(common_name);
  tmpl.organization = "bulwark";
  tmpl.uri_sans = {identity::TrustDomainId(trust_domain)};
  tmpl.not_before = not_before;
  tmpl.not_after = not_after;
  tmpl.is_ca = true;
  tmpl.path_length = path_length;
  return tmpl;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::Initialize(
    Store& store, const crypto::Bytes& kek, std::string_view trust_domain, const core::Clock& clock,
    CaOptions options) {
  BULWARK_RETURN_IF_ERROR(identity::ValidateTrustDomain(trust_domain));
  BULWARK_ASSIGN_OR_RETURN(std::vector<CaRecord> existing, store.ListCas());
  if (!existing.empty()) {
    return absl::AlreadyExistsError("the store already holds a certificate authority");
  }
  core::TimePoint now = clock.Now();
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey root_key,
                           crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  crypto::CertificateTemplate tmpl =
      CaTemplate(trust_domain, fmt::format("bulwark root CA {}", trust_domain), now - kBackdate,
                 now + options.root_ttl, 1);
  BULWARK_ASSIGN_OR_RETURN(crypto::Certificate root_cert,
                           crypto::SignCertificate(tmpl, root_key.Public(), nullptr, root_key));
  CaRecord record{
      root_cert.SerialHex(), CaRole::kRoot,       CaState::kActive, root_cert.ToPem(), {},
      root_cert.NotBefore(), root_cert.NotAfter()};
  BULWARK_ASSIGN_OR_RETURN(record.sealed_key, SealPrivateKey(kek, root_key, KeyAad(record.id)));
  auto root = std::make_unique<Signer>(Signer{record, root_cert, std::move(root_key)});
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority(
      store, kek, clock, options, std::string(trust_domain), std::move(root)));
  BULWARK_RETURN_IF_ERROR(ca->Persist(*ca->root_, CaState::kActive, "ca.init"));
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<Signer> signing, ca->MakeSigningCa(now));
  BULWARK_RETURN_IF_ERROR(ca->Persist(*signing, CaState::kActive, "ca.init"));
  ca->active_ = std::move(signing);
  return ca;
}

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::Load(
    Store& store, const crypto::Bytes& kek, const core::Clock& clock, CaOptions options) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<CaRecord> records, store.ListCas());
  std::unique_ptr<Signer> root;
  std::shared_ptr<const Signer> active, prepared;
  for (CaRecord& record : records) {
    if (record.state == CaState::kRetired) {
      continue;
    }
    BULWARK_ASSIGN_OR_RETURN(crypto::Certificate cert,
                             crypto::Certificate::FromPem(record.cert_pem));
    BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                             UnsealPrivateKey(kek, record.sealed_key, KeyAad(record.id), "CA key"));
    auto signer = std::make_unique<Signer>(Signer{record, std::move(cert), std::move(key)});
    if (record.role == CaRole::kRoot) {
      root = std::move(signer);
    } else if (record.state == CaState::kActive) {
      active = std::move(signer);
    } else {
      prepared = std::move(signer);
    }
  }
  if (root == nullptr || active == nullptr) {
    return absl::FailedPreconditionError(
        "no certificate authority in this data directory: run 'bulwark authority init' first");
  }
  BULWARK_ASSIGN_OR_RETURN(std::string trust_domain, identity::BundleTrustDomain({root->cert}));
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority(
      store, kek, clock, options, std::move(trust_domain), std::move(root)));
  ca->active_ = std::move(active);
  ca->prepared_ = std::move(prepared);
  return ca;
}

absl::StatusOr<std::unique_ptr<CertificateAuthority::Signer>> CertificateAuthority::MakeSigningCa(
    core::TimePoint now) {
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                           crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  core::TimePoint not_after = std::min(now + options_.signing_ttl, root_->cert.NotAfter());
  crypto::CertificateTemplate tmpl =
      CaTemplate(trust_domain_, fmt::format("bulwark signing CA {}", trust_domain_),
                 now - kBackdate, not_after, 0);
  BULWARK_ASSIGN_OR_RETURN(crypto::Certificate cert,
                           crypto::SignCertificate(tmpl, key.Public(), &root_->cert, root_->key));
  CaRecord record{cert.SerialHex(), CaRole::kSigning, CaState::kPrepared, cert.ToPem(), {},
                  cert.NotBefore(), cert.NotAfter()};
  BULWARK_ASSIGN_OR_RETURN(record.sealed_key, SealPrivateKey(kek_, key, KeyAad(record.id)));
  return std::make_unique<Signer>(Signer{record, std::move(cert), std::move(key)});
}

absl::Status CertificateAuthority::Persist(const Signer& signer, CaState state,
                                           std::string_view action, std::string_view actor) {
  CaRecord record = signer.record;  // its key was sealed once, when the CA was made
  record.state = state;
  const char* state_name = state == CaState::kActive     ? "active"
                           : state == CaState::kPrepared ? "prepared"
                                                         : "retired";
  AuditEntry audit{
      0,
      clock_.Now(),
      std::string(actor),
      std::string(action),
      record.id,
      fmt::format("{} CA {}", record.role == CaRole::kRoot ? "root" : "signing", state_name)};
  return store_.PutCa(record, audit);
}

absl::StatusOr<SignedSvid> CertificateAuthority::Sign(const crypto::PublicKey& subject_key,
                                                      const identity::SpiffeId& id,
                                                      core::Seconds ttl,
                                                      const std::vector<std::string>& dns_sans,
                                                      const std::vector<std::string>& ip_sans) {
  std::shared_ptr<const Signer> signer;
  {
    std::lock_guard lock(mutex_);
    signer = active_;
  }
  core::TimePoint now = clock_.Now();
  crypto::CertificateTemplate tmpl;
  tmpl.organization = "bulwark";
  tmpl.uri_sans = {id.str()};
  tmpl.dns_sans = dns_sans;
  tmpl.ip_sans = ip_sans;
  // Short-lived SVIDs are backdated less, so that half of their life is still ahead of them.
  tmpl.not_before = now - std::min<core::Seconds>(kBackdate, ttl / 10);
  tmpl.not_after = std::min(now + ttl, signer->cert.NotAfter());
  BULWARK_ASSIGN_OR_RETURN(crypto::Certificate leaf,
                           crypto::SignCertificate(tmpl, subject_key, &signer->cert, signer->key));
  return SignedSvid{{std::move(leaf), signer->cert}, id.str()};
}

absl::StatusOr<bool> CertificateAuthority::Rotate(bool force, std::string_view actor) {
  std::lock_guard lock(mutex_);
  core::TimePoint now = clock_.Now();
  const CaRecord& current = active_->record;
  auto life = current.not_after - current.not_before;
  if (prepared_ == nullptr && (force || now >= current.not_before + life / 2)) {
    BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<Signer> next, MakeSigningCa(now));
    BULWARK_RETURN_IF_ERROR(Persist(*next, CaState::kPrepared, "ca.prepare", actor));
    prepared_ = std::move(next);
  }
  if (prepared_ == nullptr || !(force || now >= current.not_after - life / 6)) {
    return false;
  }
  BULWARK_RETURN_IF_ERROR(Persist(*prepared_, CaState::kActive, "ca.activate", actor));
  BULWARK_RETURN_IF_ERROR(Persist(*active_, CaState::kRetired, "ca.retire", actor));
  active_ = std::move(prepared_);
  prepared_ = nullptr;
  return true;
}

std::vector<crypto::Certificate> CertificateAuthority::Roots() const { return {root_->cert}; }

crypto::Certificate CertificateAuthority::ActiveSigningCa() const {
  std::lock_guard lock(mutex_);
  return active_->cert;
}

}  // namespace bulwark::authority
