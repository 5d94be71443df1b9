#include "authority/service.h"

#include <algorithm>
#include <cctype>

#include "core/status.h"
#include "core/units.h"
#include "crypto/csr.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace bulwark::authority {
namespace {

crypto::Bytes TokenHash(std::string_view token) { return crypto::Sha256(token); }

// Returns a short, non-secret handle of a token for the audit trail.
std::string TokenHandle(const crypto::Bytes& hash) {
  return fmt::format("join-token:{}", crypto::HexEncode(hash).substr(0, 12));
}

IssuedSvid ToIssued(SignedSvid svid) {
  std::string serial = svid.chain.front().SerialHex();
  core::TimePoint not_after = svid.chain.front().NotAfter();
  return IssuedSvid{std::move(svid), std::move(serial), not_after};
}

}  // namespace

absl::StatusOr<std::string> NormalizeSerial(std::string_view text) {
  std::string out;
  std::string_view rest = text;
  if (rest.starts_with("0x") || rest.starts_with("0X")) {
    rest.remove_prefix(2);
  }
  for (char c : rest) {
    if (c == ':') {
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          fmt::format("serial '{}' is not hexadecimal (as printed by 'bulwark authority list' or "
                      "'openssl x509 -serial')",
                      text));
    }
    if (out.empty() && c == '0') {
      continue;
    }
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (out.empty()) {
    out = "0";
  }
  if (out.size() > 40) {
    return absl::InvalidArgumentError("serial is longer than 20 bytes");
  }
  return out;
}

absl::StatusOr<crypto::PublicKey> AuthorityService::CheckCsr(std::string_view csr_pem,
                                                             std::string_view expected_id) {
  absl::StatusOr<crypto::CertificateRequest> csr = crypto::CertificateRequest::FromPem(csr_pem);
  if (!csr.ok()) {
    return absl::InvalidArgumentError(fmt::format("malformed CSR: {}", csr.status().message()));
  }
  absl::StatusOr<crypto::PublicKey> key = csr->SubjectPublicKey();
  if (!key.ok() || key->type() != crypto::KeyType::kP256) {
    // The crypto layer names the key it found; the authority's own rule is P-256 only.
    std::string found =
        key.ok() ? "Ed25519 keys are not accepted" : std::string(key.status().message());
    return absl::InvalidArgumentError(fmt::format(
        "CSR key refused: {}; X.509-SVIDs use ECDSA P-256", found.substr(0, found.find(';'))));
  }
  if (absl::Status s = csr->VerifySelfSignature(); !s.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("CSR signature does not verify: {}", s.message()));
  }
  if (csr->RequestsCa()) {
    return absl::InvalidArgumentError("CSR asks for a CA certificate (CA:TRUE); SVIDs are leaves");
  }
  for (const std::string& uri : csr->UriSans()) {
    if (uri != expected_id) {
      return absl::InvalidArgumentError(fmt::format(
          "CSR asks for URI SAN '{}' but this request is for '{}'; the authority decides the "
          "SPIFFE ID (leave the SAN out of the CSR)",
          uri, expected_id));
    }
  }
  return *std::move(key);
}

absl::StatusOr<IssuedSvid> AuthorityService::IssueWithJoinToken(std::string_view token,
                                                                std::string_view csr_pem,
                                                                std::string_view requested_id) {
  crypto::Bytes hash = TokenHash(token);
  absl::StatusOr<JoinTokenRecord> record = store_.FindJoinToken(hash);
  if (absl::IsNotFound(record.status())) {
    return absl::UnauthenticatedError("unknown join token");
  }
  if (!record.ok()) {
    return record.status();
  }
  core::TimePoint now = clock_.Now();
  if (record->used_at) {
    return absl::UnauthenticatedError("join token has already been used");
  }
  if (record->expires_at <= now) {
    return absl::UnauthenticatedError("join token has expired");
  }
  if (!requested_id.empty() && requested_id != record->spiffe_id) {
    return absl::PermissionDeniedError(
        fmt::format("this join token is bound to another SPIFFE ID than '{}'", requested_id));
  }
  BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId id, identity::SpiffeId::Parse(record->spiffe_id));
  BULWARK_ASSIGN_OR_RETURN(crypto::PublicKey key, CheckCsr(csr_pem, id.str()));
  BULWARK_ASSIGN_OR_RETURN(SignedSvid svid, ca_.Sign(key, id, options_.svid_ttl));
  IssuedSvid issued = ToIssued(std::move(svid));
  IssuedRecord entry{issued.serial, id.str(), "join", issued.svid.chain.front().NotBefore(),
                     issued.not_after};
  AuditEntry audit{
      0, now, TokenHandle(hash), "svid.issue", id.str(), fmt::format("serial {}", issued.serial)};
  absl::Status consumed = store_.ConsumeJoinTokenAndRecord(hash, now, entry, audit);
  if (absl::IsFailedPrecondition(consumed)) {
    return absl::UnauthenticatedError("join token has already been used");
  }
  if (!consumed.ok()) {
    return consumed;
  }
  return issued;
}

absl::StatusOr<IssuedSvid> AuthorityService::Renew(const crypto::Certificate& peer,
                                                   std::string_view csr_pem) {
  BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId id, AuthenticatePeer(peer));
  // Admin SVIDs are minted for one command and must not be stretched by renewal; the
  // authority's own certificate is renewed only by the authority.
  if (id.IsAdmin() || id.path() == "/authority") {
    return absl::PermissionDeniedError(
        fmt::format("{} cannot be renewed: only workload SVIDs renew", id.str()));
  }
  BULWARK_ASSIGN_OR_RETURN(crypto::PublicKey key, CheckCsr(csr_pem, id.str()));
  BULWARK_ASSIGN_OR_RETURN(crypto::PublicKey old_key, peer.SubjectPublicKey());
  if (key.Equals(old_key)) {
    return absl::InvalidArgumentError("renewal needs a new key: the CSR reuses the current one");
  }
  BULWARK_ASSIGN_OR_RETURN(SignedSvid svid, ca_.Sign(key, id, options_.svid_ttl));
  IssuedSvid issued = ToIssued(std::move(svid));
  IssuedRecord entry{issued.serial, id.str(), "renew", issued.svid.chain.front().NotBefore(),
                     issued.not_after};
  AuditEntry audit{0,        clock_.Now(),
                   id.str(), "svid.renew",
                   id.str(), fmt::format("serial {} replaces {}", issued.serial, peer.SerialHex())};
  BULWARK_RETURN_IF_ERROR(store_.RecordIssued(entry, audit));
  return issued;
}

namespace {

// InvalidArgument naming the first of `names` that `allowed` does not list.
absl::Status CheckAllowedNames(const mesh::GatewayCertificateNames& names,
                               const mesh::GatewayCertificateNames& allowed) {
  auto check = [](const std::vector<std::string>& asked, const std::vector<std::string>& known) {
    for (const std::string& name : asked) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        return absl::InvalidArgumentError(fmt::format(
            "gateway certificate name '{}' refused: the authority's mesh.yaml derives only {} "
            "from gateway.listen and gateway.public_url",
            name, fmt::join(known, ", ")));
      }
    }
    return absl::OkStatus();
  };
  BULWARK_RETURN_IF_ERROR(check(names.dns, allowed.dns));
  return check(names.ips, allowed.ips);
}

}  // namespace

absl::StatusOr<IssuedSvid> AuthorityService::IssueGatewayCertificate(
    const crypto::Certificate& peer, std::string_view csr_pem,
    const mesh::GatewayCertificateNames& names) {
  BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId id, AuthenticatePeer(peer));
  if (id.path() != "/gateway") {
    return absl::PermissionDeniedError(
        fmt::format("only the gateway ({}/gateway) may ask for the gateway's certificate, not {}",
                    identity::TrustDomainId(id.trust_domain()), id.str()));
  }
  BULWARK_RETURN_IF_ERROR(mesh::CheckGatewayCertificateNames(names));
  if (options_.gateway_names.has_value()) {
    BULWARK_RETURN_IF_ERROR(CheckAllowedNames(names, *options_.gateway_names));
  }
  BULWARK_ASSIGN_OR_RETURN(crypto::PublicKey key, CheckCsr(csr_pem, id.str()));
  BULWARK_ASSIGN_OR_RETURN(SignedSvid svid,
                           ca_.Sign(key, id, options_.gateway_cert_ttl, names.dns, names.ips));
  IssuedSvid issued = ToIssued(std::move(svid));
  IssuedRecord entry{issued.serial, id.str(), "gateway-tls", issued.svid.chain.front().NotBefore(),
                     issued.not_after};
  AuditEntry audit{0,
                   clock_.Now(),
                   id.str(),
                   "svid.issue.gateway-tls",
                   id.str(),
                   fmt::format("serial {} for dns [{}] ip [{}]", issued.serial,
                               fmt::join(names.dns, ", "), fmt::join(names.ips, ", "))};
  BULWARK_RETURN_IF_ERROR(store_.RecordIssued(entry, audit));
  return issued;
}

absl::StatusOr<IssuedSvid> AuthorityService::IssueDirect(const crypto::PublicKey& key,
                                                         const identity::SpiffeId& id,
                                                         core::Seconds ttl, std::string_view kind,
                                                         const std::vector<std::string>& dns_sans,
                                                         const std::vector<std::string>& ip_sans) {
  BULWARK_ASSIGN_OR_RETURN(SignedSvid svid, ca_.Sign(key, id, ttl, dns_sans, ip_sans));
  IssuedSvid issued = ToIssued(std::move(svid));
  IssuedRecord entry{issued.serial, id.str(), std::string(kind),
                     issued.svid.chain.front().NotBefore(), issued.not_after};
  AuditEntry audit{0,           clock_.Now(),
                   "authority", fmt::format("svid.issue.{}", kind),
                   id.str(),    fmt::format("serial {}", issued.serial)};
  BULWARK_RETURN_IF_ERROR(store_.RecordIssued(entry, audit));
  return issued;
}

absl::StatusOr<NewJoinToken> AuthorityService::CreateJoinToken(const std::string& actor,
                                                               std::string_view spiffe_id,
                                                               std::optional<core::Seconds> ttl) {
  BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId id, identity::SpiffeId::Parse(spiffe_id));
  if (id.trust_domain() != ca_.trust_domain()) {
    return absl::InvalidArgumentError(fmt::format(
        "'{}' is not in this authority's trust domain '{}'", id.str(), ca_.trust_domain()));
  }
  if (id.IsAdmin()) {
    return absl::InvalidArgumentError(
        "join tokens are for workloads; admin identities are minted from the data directory");
  }
  core::Seconds lifetime = ttl.value_or(options_.join_token_ttl);
  if (lifetime.count() <= 0 || lifetime > options_.max_join_token_ttl) {
    return absl::InvalidArgumentError(
        fmt::format("join token TTL must be between 1s and {}",
                    core::FormatDuration(options_.max_join_token_ttl)));
  }
  std::string token =
      fmt::format("{}{}", kJoinTokenPrefix, crypto::Base64UrlEncode(crypto::RandomBytes(32)));
  core::TimePoint now = clock_.Now();
  JoinTokenRecord record{TokenHash(token), id.str(), now, now + lifetime, std::nullopt};
  AuditEntry audit{
      0,
      now,
      actor,
      "token.create",
      id.str(),
      fmt::format("{} expires in {}", TokenHandle(record.hash), core::FormatDuration(lifetime))};
  BULWARK_RETURN_IF_ERROR(store_.CreateJoinToken(record, audit));
  return NewJoinToken{std::move(token), id.str(), record.expires_at};
}

absl::StatusOr<std::vector<RevocationRecord>> AuthorityService::Revoke(const std::string& actor,
                                                                       std::string_view serial,
                                                                       std::string_view spiffe_id) {
  if (serial.empty() == spiffe_id.empty()) {
    return absl::InvalidArgumentError("give exactly one of serial or spiffe_id");
  }
  std::vector<IssuedRecord> targets;
  if (!serial.empty()) {
    BULWARK_ASSIGN_OR_RETURN(std::string normalized, NormalizeSerial(serial));
    BULWARK_ASSIGN_OR_RETURN(std::optional<IssuedRecord> found, store_.FindIssued(normalized));
    if (!found) {
      return absl::NotFoundError(fmt::format("no certificate with serial {}", serial));
    }
    targets.push_back(*found);
  } else {
    BULWARK_ASSIGN_OR_RETURN(std::vector<IssuedRecord> valid, store_.ListIssued(clock_.Now()));
    for (IssuedRecord& record : valid) {
      if (record.spiffe_id == spiffe_id) {
        targets.push_back(std::move(record));
      }
    }
    if (targets.empty()) {
      return absl::NotFoundError(fmt::format("no unexpired certificate for {}", spiffe_id));
    }
  }
  AuditEntry audit{0, clock_.Now(), actor, "svid.revoke", "", "revoked"};
  return store_.Revoke(targets, audit);
}

absl::StatusOr<identity::SpiffeId> AuthorityService::AuthenticatePeer(
    const crypto::Certificate& peer) {
  std::vector<std::string> uris = peer.UriSans();
  if (uris.size() != 1) {
    return absl::UnauthenticatedError("client certificate must carry exactly one SPIFFE ID");
  }
  absl::StatusOr<identity::SpiffeId> id = identity::SpiffeId::Parse(uris.front());
  if (!id.ok() || id->trust_domain() != ca_.trust_domain()) {
    return absl::UnauthenticatedError("client certificate is not from this trust domain");
  }
  core::TimePoint now = clock_.Now();
  if (now < peer.NotBefore() || now >= peer.NotAfter()) {
    return absl::UnauthenticatedError("client certificate is not valid now");
  }
  BULWARK_ASSIGN_OR_RETURN(bool revoked, store_.IsRevoked(peer.SerialHex()));
  if (revoked) {
    return absl::UnauthenticatedError("client certificate has been revoked");
  }
  return *id;
}

absl::StatusOr<identity::SpiffeId> AuthorityService::AuthenticateAdmin(
    const std::optional<crypto::Certificate>& peer) {
  if (!peer) {
    return absl::UnauthenticatedError("this operation needs an admin client certificate");
  }
  BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId id, AuthenticatePeer(*peer));
  if (!id.IsAdmin()) {
    return absl::PermissionDeniedError(
        fmt::format("{} is not an admin identity (spiffe://<td>/admin/...)", id.str()));
  }
  return id;
}

}  // namespace bulwark::authority
