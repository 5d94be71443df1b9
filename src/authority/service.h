// The authority's operations as plain calls, independent of HTTP: issuing SVIDs for join tokens
// and renewals, join tokens, revocation, listings. The API layer (api/) maps requests to these
// calls and their Status codes to HTTP. Thread-safe (the store and CA are).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "authority/ca/ca.h"
#include "authority/store/store.h"
#include "core/clock.h"
#include "crypto/x509.h"
#include "identity/spiffe_id.h"
#include "mesh/gateway_names.h"

namespace bulwark::authority {

struct ServiceOptions {
  core::Seconds svid_ttl{3600};
  core::Seconds join_token_ttl{600};
  core::Seconds max_join_token_ttl{7LL * 86400};
  // Lifetime of the gateway's public certificate (IssueGatewayCertificate); the gateway renews
  // it at half-life.
  core::Seconds gateway_cert_ttl{24LL * 3600};
  // The names the gateway section of the authority's mesh.yaml derives
  // (DeriveGatewayCertificateNames); when set, a gateway certificate is for a subset of them.
  std::optional<mesh::GatewayCertificateNames> gateway_names;
};

// Join tokens: "bwjt_" followed by 32 random bytes in base64url (256 bits of randomness).
inline constexpr std::string_view kJoinTokenPrefix = "bwjt_";

struct IssuedSvid {
  SignedSvid svid;
  std::string serial;
  core::TimePoint not_after;
};

struct NewJoinToken {
  std::string token;  // shown once; only its hash is stored
  std::string spiffe_id;
  core::TimePoint expires_at;
};

// Returns a certificate serial in the store's form (lowercase hex, no leading zeros) from the
// forms people paste: upper case, "0x" prefix, colons, leading zeros. InvalidArgument otherwise.
absl::StatusOr<std::string> NormalizeSerial(std::string_view text);

class AuthorityService {
 public:
  AuthorityService(Store& store, CertificateAuthority& ca, const core::Clock& clock,
                   ServiceOptions options)
      : store_(store), ca_(ca), clock_(clock), options_(options) {}

  // First contact: checks the CSR and the join token, signs an SVID for the token's SPIFFE ID
  // and consumes the token in the same transaction that records the issuance. A non-empty
  // `requested_id` must equal the token's binding. Errors: InvalidArgument (CSR), Unauthenticated
  // (unknown, used or expired token), PermissionDenied (token bound to another ID).
  absl::StatusOr<IssuedSvid> IssueWithJoinToken(std::string_view token, std::string_view csr_pem,
                                                std::string_view requested_id);
  // Renewal: `peer` is the client certificate verified by the TLS handshake; it must be a current,
  // unrevoked SVID. Issues a new SVID with the same SPIFFE ID for the CSR's (new) key.
  absl::StatusOr<IssuedSvid> Renew(const crypto::Certificate& peer, std::string_view csr_pem);
  // The gateway's public TLS certificate: `peer` (the client certificate verified by the TLS
  // handshake) must be a current, unrevoked SVID of spiffe://<td>/gateway; the CSR's key gets a
  // certificate for `names` (DNS and IP SANs, besides the gateway's SPIFFE ID) valid for
  // gateway_cert_ttl. Errors: Unauthenticated (peer), PermissionDenied (not the gateway),
  // InvalidArgument (CSR; names refused by CheckGatewayCertificateNames or not among
  // gateway_names).
  absl::StatusOr<IssuedSvid> IssueGatewayCertificate(const crypto::Certificate& peer,
                                                     std::string_view csr_pem,
                                                     const mesh::GatewayCertificateNames& names);
  // Issues an SVID for `id` without a token (admin and server certificates made locally).
  absl::StatusOr<IssuedSvid> IssueDirect(const crypto::PublicKey& key, const identity::SpiffeId& id,
                                         core::Seconds ttl, std::string_view kind,
                                         const std::vector<std::string>& dns_sans = {},
                                         const std::vector<std::string>& ip_sans = {});

  // Creates a join token for `spiffe_id` (default TTL when `ttl` is empty).
  absl::StatusOr<NewJoinToken> CreateJoinToken(const std::string& actor, std::string_view spiffe_id,
                                               std::optional<core::Seconds> ttl);
  // Revokes one certificate by serial, or every unexpired certificate of a SPIFFE ID. Returns
  // the new revocation entries (empty when all were revoked already). NotFound when nothing
  // matches.
  absl::StatusOr<std::vector<RevocationRecord>> Revoke(const std::string& actor,
                                                       std::string_view serial,
                                                       std::string_view spiffe_id);

  // Checks that `peer` is an unexpired, unrevoked certificate of this trust domain with exactly
  // one SPIFFE ID, and returns that ID. Unauthenticated otherwise.
  absl::StatusOr<identity::SpiffeId> AuthenticatePeer(const crypto::Certificate& peer);
  // As AuthenticatePeer, and the ID must be an admin identity (PermissionDenied otherwise).
  absl::StatusOr<identity::SpiffeId> AuthenticateAdmin(
      const std::optional<crypto::Certificate>& peer);

  Store& store() { return store_; }
  CertificateAuthority& ca() { return ca_; }
  const core::Clock& clock() const { return clock_; }
  const ServiceOptions& options() const { return options_; }

 private:
  absl::StatusOr<crypto::PublicKey> CheckCsr(std::string_view csr_pem,
                                             std::string_view expected_id);

  Store& store_;
  CertificateAuthority& ca_;
  const core::Clock& clock_;
  const ServiceOptions options_;
};

}  // namespace bulwark::authority
