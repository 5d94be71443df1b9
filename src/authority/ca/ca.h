// The workload certificate authority: a long-lived root CA and a rotating signing
// (intermediate) CA under it, with keys sealed at rest by the key-encryption key. Signs
// X.509-SVIDs. Rotation follows SPIRE's schedule: the next signing CA is prepared at half of the
// active one's life and activated when a sixth of it remains; the root (the trust bundle) is
// unchanged by it, so every SVID keeps verifying across the switch. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "authority/store/store.h"
#include "core/clock.h"
#include "crypto/key.h"
#include "crypto/x509.h"
#include "identity/spiffe_id.h"

namespace bulwark::authority {

struct CaOptions {
  core::Seconds root_ttl{3650LL * 86400};
  core::Seconds signing_ttl{7LL * 86400};
};

// Leaf certificates start this much (at most a tenth of their TTL) before the moment they are
// signed, for clock skew between machines.
inline constexpr core::Seconds kBackdate{10};

struct SignedSvid {
  std::vector<crypto::Certificate> chain;  // leaf first, then the signing CA
  std::string spiffe_id;
};

class CertificateAuthority {
 public:
  // Creates a new root and signing CA for `trust_domain` in `store` (which must hold none).
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> Initialize(
      Store& store, const crypto::Bytes& kek, std::string_view trust_domain,
      const core::Clock& clock, CaOptions options);
  // Loads the CAs from `store`, unsealing their keys with `kek`. Fails with a clear message if
  // the store holds no authority or the key-encryption key is wrong.
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> Load(Store& store,
                                                                    const crypto::Bytes& kek,
                                                                    const core::Clock& clock,
                                                                    CaOptions options);

  // Signs a leaf certificate for `subject_key` with `id` as its only URI SAN, valid from
  // min(kBackdate, ttl/10) before now until now + ttl (but never past the signing CA). `dns_sans`
  // and `ip_sans` are for server certificates.
  absl::StatusOr<SignedSvid> Sign(const crypto::PublicKey& subject_key,
                                  const identity::SpiffeId& id, core::Seconds ttl,
                                  const std::vector<std::string>& dns_sans = {},
                                  const std::vector<std::string>& ip_sans = {});
  // Advances the signing-CA schedule: prepares or activates the next signing CA when due, or
  // both at once when `force`. Returns whether the active signing CA changed.
  // `actor` is recorded in the audit trail.
  absl::StatusOr<bool> Rotate(bool force, std::string_view actor = "authority");

  // Returns the trust bundle: the root certificates verifiers must trust.
  std::vector<crypto::Certificate> Roots() const;
  // Returns the active signing CA certificate.
  crypto::Certificate ActiveSigningCa() const;
  const std::string& trust_domain() const { return trust_domain_; }

 private:
  // A CA certificate and its key; immutable, shared with in-flight Sign calls.
  struct Signer {
    CaRecord record;  // its `state` is the one it was loaded or created with
    crypto::Certificate cert;
    crypto::PrivateKey key;
  };
  CertificateAuthority(Store& store, crypto::Bytes kek, const core::Clock& clock, CaOptions options,
                       std::string trust_domain, std::unique_ptr<Signer> root)
      : store_(store),
        kek_(std::move(kek)),
        clock_(clock),
        options_(options),
        trust_domain_(std::move(trust_domain)),
        root_(std::move(root)) {}

  absl::StatusOr<std::unique_ptr<Signer>> MakeSigningCa(core::TimePoint now);
  // Stores `signer` in `state` (sealing its key) with an audit entry.
  absl::Status Persist(const Signer& signer, CaState state, std::string_view action,
                       std::string_view actor = "authority");

  Store& store_;
  const crypto::Bytes kek_;
  const core::Clock& clock_;
  const CaOptions options_;
  const std::string trust_domain_;
  const std::unique_ptr<Signer> root_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Signer> active_;    // guarded by mutex_
  std::shared_ptr<const Signer> prepared_;  // guarded by mutex_; may be null
};

}  // namespace bulwark::authority
