// The authority's persistent state behind one interface, so that PostgreSQL can join SQLite
// later: CA keys (sealed), join tokens and API keys (hashed), issued certificates, revocations and
// the audit trail. Every mutating call commits durably before it returns. Implementations are
// thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "crypto/bytes.h"

namespace bulwark::authority {

enum class CaRole { kRoot, kSigning };
enum class CaState { kPrepared, kActive, kRetired };

struct CaRecord {
  std::string id;  // the certificate's serial (hex)
  CaRole role = CaRole::kSigning;
  CaState state = CaState::kPrepared;
  std::string cert_pem;
  crypto::Bytes sealed_key;  // crypto::EnvelopeSeal of the PKCS#8 PEM, aad "ca-key:<id>"
  core::TimePoint not_before;
  core::TimePoint not_after;
};

struct JoinTokenRecord {
  crypto::Bytes hash;  // SHA-256 of the token; the token itself is never stored
  std::string spiffe_id;
  core::TimePoint created_at;
  core::TimePoint expires_at;
  std::optional<core::TimePoint> used_at;
};

struct IssuedRecord {
  std::string serial;
  std::string spiffe_id;
  std::string kind;  // "join", "renew", "admin", "server"
  core::TimePoint not_before;
  core::TimePoint not_after;
};

struct RevocationRecord {
  std::int64_t version = 0;  // strictly increasing; the revocation list's version
  std::string serial;
  std::string spiffe_id;
  core::TimePoint revoked_at;
  core::TimePoint not_after;  // the revoked certificate's expiry: the entry can go after it
};

// A token-signing key (docs/tokens.md#token-signing-keys). Published in the JWKS while next,
// current or retiring; only the current key signs.
enum class TokenKeyState { kNext, kCurrent, kRetiring, kRetired };

// Returns "next", "current", "retiring" or "retired" (the store's and the API's spelling).
constexpr std::string_view TokenKeyStateName(TokenKeyState state) {
  switch (state) {
    case TokenKeyState::kNext:
      return "next";
    case TokenKeyState::kCurrent:
      return "current";
    case TokenKeyState::kRetiring:
      return "retiring";
    case TokenKeyState::kRetired:
      return "retired";
  }
  return "retired";
}

struct TokenKeyRecord {
  std::string kid;  // RFC 7638 thumbprint
  TokenKeyState state = TokenKeyState::kNext;
  crypto::Bytes sealed_key;     // as CaRecord, aad "token-key:<kid>"; emptied once retired
  core::TimePoint created_at;   // published from then on
  core::TimePoint activate_at;  // signs from then on (planned while next)
  core::TimePoint retire_at;    // stops signing then (planned while next or current)
  core::TimePoint remove_at;    // leaves the JWKS then: every token it signed has expired
};

// A public key a workload registered to sign its own transaction tokens (docs/tokens.md
// #delegated-transaction-token-keys), published in the JWKS until it expires.
struct DelegatedKeyRecord {
  std::string kid;       // RFC 7638 thumbprint of the key
  std::string owner;     // SPIFFE ID of the workload that registered it
  std::string jwk_json;  // the public JWK as published (with its bulwark_delegation member)
  core::TimePoint created_at;
  core::TimePoint expires_at;
};

// An access token revoked before its expiry (RFC 7009), kept until it expires.
struct RevokedTokenRecord {
  std::string jti;
  std::string client_id;
  core::TimePoint revoked_at;
  core::TimePoint expires_at;
};

// A gateway API key (docs/gateway.md#api-keys); the key itself is never stored.
struct ApiKeyRecord {
  std::string id;      // the key's loggable id
  crypto::Bytes hash;  // SHA-256 of the whole key
  std::string client;  // who the key was issued to: the Subject the gateway admits
  std::vector<std::string> scopes;
  core::TimePoint created_at;
  std::optional<core::TimePoint> revoked_at;
};

// A person who signs in at the authority's OpenID Connect provider (docs/sso.md). `name` is the
// user's `sub`; it is never reused, so a deleted user stays as a tombstone (deleted_at set).
struct UserRecord {
  std::string name;           // [a-z0-9._-], 1..64
  std::string email;          // may be empty
  std::string password_hash;  // argon2id in PHC string form; empty until the user enrolled
  bool disabled = false;
  core::TimePoint created_at;
  std::optional<core::TimePoint> deleted_at;
};

// Returns the id of the login session whose cookie hashes to `hash`: base64url(hash), what the
// admin's session list shows and the ID token's `sid`; never the cookie itself.
inline std::string LoginSessionId(const crypto::Bytes& hash) {
  return crypto::Base64UrlEncode(hash);
}

// A browser signed in at the authority (the provider's own session, behind its login cookie).
// Stored by the SHA-256 of the cookie's value, never the value itself.
struct LoginSessionRecord {
  crypto::Bytes hash;
  std::string user;              // UserRecord::name
  std::vector<std::string> amr;  // how the user authenticated (RFC 8176): "pwd", "otp", ...
  core::TimePoint auth_time;
  core::TimePoint expires_at;
  std::optional<core::TimePoint> ended_at;  // logged out or revoked
};

// ---- OpenID Connect provider (docs/sso.md#the-openid-connect-provider) ----
// A relying party registered with `bulwark authority client add`.
struct OidcClientRecord {
  std::string id;             // client_id: [a-z0-9._-], 1..64
  crypto::Bytes secret_hash;  // SHA-256 of the client secret; empty for a public client
  bool is_public = false;     // no secret: PKCE alone binds the code to the client
  std::vector<std::string> redirect_uris;              // matched exactly
  std::vector<std::string> post_logout_redirect_uris;  // matched exactly
  std::vector<std::string> scopes;                     // what it may ask for
  core::TimePoint created_at;
};

// An authorization code, stored by its SHA-256. One use: the first redemption sets used_at; a
// second one finds it set and revokes `family` (RFC 6749 §4.1.2).
struct AuthCodeRecord {
  crypto::Bytes hash;
  std::string client_id;
  std::string redirect_uri;
  std::string code_challenge;  // PKCE S256
  std::string nonce;           // may be empty
  std::string user;
  core::TimePoint auth_time;
  std::vector<std::string> amr;
  std::vector<std::string> scope;
  std::string family;  // the refresh family its tokens will belong to
  core::TimePoint expires_at;
  std::optional<core::TimePoint> used_at;
  // The login session it was issued under (LoginSessionId); empty in grants stored before it was
  // recorded. Ending that session revokes `family`.
  std::string login_session;
};

// A refresh token, stored by its SHA-256, with the access token issued alongside it (so that
// revoking its family revokes that access token too).
struct RefreshTokenRecord {
  crypto::Bytes hash;
  std::string family;
  std::string client_id;
  std::string user;
  std::vector<std::string> scope;
  core::TimePoint auth_time;
  std::vector<std::string> amr;
  core::TimePoint created_at;
  core::TimePoint expires_at;
  std::optional<core::TimePoint> rotated_at;  // when it was first exchanged for a successor
  std::string access_jti;                     // the access token issued with it
  core::TimePoint access_expires_at;
  std::string login_session;  // as AuthCodeRecord::login_session
};

// A client's grant that descends from a login session: one refresh family (session list).
struct SessionGrantRecord {
  std::string login_session;  // LoginSessionId
  std::string client_id;
  std::string family;
  core::TimePoint created_at;                   // the family's first refresh token
  std::optional<core::TimePoint> refreshed_at;  // its newest one, when it was ever refreshed
};

// What RotateRefreshToken did.
enum class RefreshRotation { kRotated, kReused, kFamilyRevoked };
// ---- end OpenID Connect provider ----

// ---- SSO credentials: TOTP, recovery codes, enrolment links (docs/sso.md#users)
// A one-time enrolment link made by `bulwark authority user add`: the token is never stored.
struct EnrolmentRecord {
  crypto::Bytes hash;  // SHA-256 of the link's token
  std::string user;
  crypto::Bytes totp_sealed;  // crypto::EnvelopeSeal of the TOTP secret to enrol, aad "totp:<user>"
  core::TimePoint created_at;
  core::TimePoint expires_at;
  std::optional<core::TimePoint> used_at;
};

// A user's second factor: the TOTP secret (sealed as EnrolmentRecord's) and the newest time step
// a code was accepted for; codes of that step or an older one are refused (no replay).
struct UserMfaRecord {
  std::string user;
  crypto::Bytes totp_sealed;
  std::int64_t totp_last_step = 0;
};
// ---- end of SSO credentials

// Who did what to which subject, when. Written in the same transaction as the change.
struct AuditEntry {
  std::int64_t id = 0;
  core::TimePoint at;
  std::string actor;    // SPIFFE ID, "join-token:<id>" or "cli"
  std::string action;   // "issue", "renew", "revoke", "token.create", "ca.init", "ca.rotate", ...
  std::string subject;  // SPIFFE ID or serial acted upon
  std::string detail;   // free text, never a secret
};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts or replaces the CA record with `record.id`, with an audit entry.
  virtual absl::Status PutCa(const CaRecord& record, const AuditEntry& audit) = 0;
  // Returns every CA record, oldest first.
  virtual absl::StatusOr<std::vector<CaRecord>> ListCas() = 0;

  // Stores a new join token (by hash) with an audit entry.
  virtual absl::Status CreateJoinToken(const JoinTokenRecord& token, const AuditEntry& audit) = 0;
  // Returns the token with `hash`, or NotFound.
  virtual absl::StatusOr<JoinTokenRecord> FindJoinToken(const crypto::Bytes& hash) = 0;
  // In one transaction: marks the token used if it is unused, unexpired at `now` and bound to
  // `issued.spiffe_id`, and records the issuance and its audit entry. FailedPrecondition when the
  // token was already used or expired (nothing is recorded then).
  virtual absl::Status ConsumeJoinTokenAndRecord(const crypto::Bytes& hash, core::TimePoint now,
                                                 const IssuedRecord& issued,
                                                 const AuditEntry& audit) = 0;

  // Records an issued certificate with its audit entry.
  virtual absl::Status RecordIssued(const IssuedRecord& issued, const AuditEntry& audit) = 0;
  // Returns the issued certificate with `serial`, if any.
  virtual absl::StatusOr<std::optional<IssuedRecord>> FindIssued(const std::string& serial) = 0;
  // Returns issued certificates, newest first: all of them, or only those unexpired at `now`.
  virtual absl::StatusOr<std::vector<IssuedRecord>> ListIssued(
      std::optional<core::TimePoint> unexpired_at) = 0;

  // Revokes every listed serial that is not revoked yet (one transaction, one version each,
  // audited) and returns the new entries.
  virtual absl::StatusOr<std::vector<RevocationRecord>> Revoke(
      const std::vector<IssuedRecord>& certificates, const AuditEntry& audit) = 0;
  // Returns the revocations with a version above `since`, in version order.
  virtual absl::StatusOr<std::vector<RevocationRecord>> RevocationsSince(std::int64_t since) = 0;
  // Returns whether `serial` is revoked.
  virtual absl::StatusOr<bool> IsRevoked(const std::string& serial) = 0;

  // Inserts or updates (state, times, sealed key) every record of `keys` in one transaction,
  // with one audit entry.
  virtual absl::Status PutTokenKeys(const std::vector<TokenKeyRecord>& keys,
                                    const AuditEntry& audit) = 0;
  // Returns every token-signing key record, oldest first.
  virtual absl::StatusOr<std::vector<TokenKeyRecord>> ListTokenKeys() = 0;

  // In one transaction: stores `key`, deletes the delegated keys whose kids are in `evict`, and
  // records `audit`. AlreadyExists (nothing stored) when key.kid is stored already.
  virtual absl::Status PutDelegatedKey(const DelegatedKeyRecord& key,
                                       const std::vector<std::string>& evict,
                                       const AuditEntry& audit) = 0;
  // Returns the delegated keys that expire after `after`, oldest first.
  virtual absl::StatusOr<std::vector<DelegatedKeyRecord>> ListDelegatedKeys(
      core::TimePoint after) = 0;
  // Forgets delegated keys that expired at or before `before`.
  virtual absl::Status PruneDelegatedKeys(core::TimePoint before) = 0;

  // Records a revoked token with its audit entry. Returns false (and records nothing) when the
  // jti was revoked already.
  virtual absl::StatusOr<bool> RevokeToken(const RevokedTokenRecord& token,
                                           const AuditEntry& audit) = 0;
  // Returns whether the token with `jti` is revoked.
  virtual absl::StatusOr<bool> IsTokenRevoked(const std::string& jti) = 0;
  // Forgets revoked tokens that expired before `before` (they are refused by their exp anyway).
  virtual absl::Status PruneRevokedTokens(core::TimePoint before) = 0;

  // Stores a new API key with its audit entry. AlreadyExists when its id is taken.
  virtual absl::Status CreateApiKey(const ApiKeyRecord& key, const AuditEntry& audit) = 0;
  // Marks the key `id` revoked at `at` with the audit entry. NotFound for an unknown id;
  // FailedPrecondition when it is revoked already (nothing recorded then).
  virtual absl::Status RevokeApiKey(const std::string& id, core::TimePoint at,
                                    const AuditEntry& audit) = 0;
  // Returns every API key, revoked ones included, oldest first.
  virtual absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys() = 0;

  // Stores a new user with its audit entry. AlreadyExists when the name is taken, also by a
  // deleted user.
  virtual absl::Status CreateUser(const UserRecord& user, const AuditEntry& audit) = 0;
  // Replaces the stored user `user.name` (email, password hash, disabled, deleted_at; created_at
  // is kept) with its audit entry. NotFound for an unknown name.
  virtual absl::Status UpdateUser(const UserRecord& user, const AuditEntry& audit) = 0;
  // Returns the user `name` (deleted ones included), or NotFound.
  virtual absl::StatusOr<UserRecord> FindUser(const std::string& name) = 0;
  // Returns every user, deleted ones included, oldest first.
  virtual absl::StatusOr<std::vector<UserRecord>> ListUsers() = 0;

  // Stores a new login session with its audit entry. AlreadyExists when the hash is taken.
  virtual absl::Status CreateLoginSession(const LoginSessionRecord& session,
                                          const AuditEntry& audit) = 0;
  // Returns the login session whose cookie hashes to `hash` (ended or expired ones included:
  // the caller decides), or NotFound.
  virtual absl::StatusOr<LoginSessionRecord> FindLoginSession(const crypto::Bytes& hash) = 0;
  // Ends, at `at`, the session `hash` (when `user` is empty) or every open session of `user`,
  // with one audit entry, and revokes (as RevokeRefreshFamily) every refresh family issued
  // under the sessions it ended, including those of codes not redeemed yet. Returns how many
  // sessions it ended (0: nothing recorded).
  virtual absl::StatusOr<int> EndLoginSessions(const crypto::Bytes& hash, const std::string& user,
                                               core::TimePoint at, const AuditEntry& audit) = 0;
  // Returns the sessions open at `at` (not ended, not expired), oldest first.
  virtual absl::StatusOr<std::vector<LoginSessionRecord>> ListLoginSessions(core::TimePoint at) = 0;
  // Returns the unrevoked refresh families issued under a login session that still hold a
  // refresh token unexpired at `at`, oldest first.
  virtual absl::StatusOr<std::vector<SessionGrantRecord>> ListSessionGrants(core::TimePoint at) = 0;

  // ---- OpenID Connect provider ----
  // Stores a new client with its audit entry. AlreadyExists when the id is taken.
  virtual absl::Status CreateOidcClient(const OidcClientRecord& client,
                                        const AuditEntry& audit) = 0;
  // Returns the client `id`, or NotFound.
  virtual absl::StatusOr<OidcClientRecord> FindOidcClient(const std::string& id) = 0;
  // Returns every client, oldest first.
  virtual absl::StatusOr<std::vector<OidcClientRecord>> ListOidcClients() = 0;
  // Deletes the client `id` and revokes every refresh family of it, with the audit entry.
  // NotFound for an unknown id.
  virtual absl::Status DeleteOidcClient(const std::string& id, const AuditEntry& audit) = 0;
  // Stores a new authorization code.
  virtual absl::Status CreateAuthCode(const AuthCodeRecord& code) = 0;
  // In one transaction: returns the code `hash` as it was and marks it used at `now` if it was
  // not. The caller reads the returned used_at: set means this was a second use. NotFound for an
  // unknown code.
  virtual absl::StatusOr<AuthCodeRecord> ConsumeAuthCode(const crypto::Bytes& hash,
                                                         core::TimePoint now) = 0;
  // Stores a new refresh token. FailedPrecondition (nothing stored) when its family is revoked.
  virtual absl::Status CreateRefreshToken(const RefreshTokenRecord& token) = 0;
  // Returns the refresh token `hash` (rotated ones included), or NotFound.
  virtual absl::StatusOr<RefreshTokenRecord> FindRefreshToken(const crypto::Bytes& hash) = 0;
  // In one transaction: when the family of token `hash` is revoked, kFamilyRevoked; when the
  // token was rotated before `now - grace`, revokes its family (as RevokeRefreshFamily, with
  // `audit`) and returns kReused; otherwise marks it rotated (if it was not), stores
  // `successor` and returns kRotated. NotFound for an unknown token.
  virtual absl::StatusOr<RefreshRotation> RotateRefreshToken(const crypto::Bytes& hash,
                                                             core::TimePoint now,
                                                             core::Seconds grace,
                                                             const RefreshTokenRecord& successor,
                                                             const AuditEntry& audit) = 0;
  // Revokes refresh family `family` at `audit.at`: none of its refresh tokens works again, no
  // new one can join it, and the jti of every access token issued with them is recorded as
  // revoked (until its expiry). Idempotent; audited only the first time.
  virtual absl::Status RevokeRefreshFamily(const std::string& family, const AuditEntry& audit) = 0;
  // Forgets codes and refresh tokens that expired before `before`.
  virtual absl::Status PruneOidcGrants(core::TimePoint before) = 0;
  // ---- end OpenID Connect provider ----

  // ---- SSO credentials
  // Stores a new enrolment link with its audit entry. AlreadyExists when the hash is taken.
  virtual absl::Status CreateEnrolment(const EnrolmentRecord& enrolment,
                                       const AuditEntry& audit) = 0;
  // Returns the enrolment whose token hashes to `hash` (used or expired ones included), or
  // NotFound.
  virtual absl::StatusOr<EnrolmentRecord> FindEnrolment(const crypto::Bytes& hash) = 0;
  // In one transaction: consumes the enrolment `hash`, sets its user's password hash, replaces
  // the user's second factor with `mfa` and the recovery codes with `recovery_hashes`, and
  // records `audit`. FailedPrecondition (nothing changed) when the enrolment is used, expired at
  // `at`, or its user is disabled or deleted; NotFound for an unknown hash.
  virtual absl::Status CompleteEnrolment(const crypto::Bytes& hash, core::TimePoint at,
                                         const std::string& password_hash, const UserMfaRecord& mfa,
                                         const std::vector<crypto::Bytes>& recovery_hashes,
                                         const AuditEntry& audit) = 0;
  // Returns the second factor of `user`, or NotFound when the user has not enrolled.
  virtual absl::StatusOr<UserMfaRecord> FindUserMfa(const std::string& user) = 0;
  // Records `step` as the last accepted TOTP step of `user` when it is newer than the stored one
  // (compare-and-set). Returns false, changing nothing, when it is not: the code was used already.
  virtual absl::StatusOr<bool> AcceptTotpStep(const std::string& user, std::int64_t step) = 0;
  // Marks the unused recovery code of `user` hashing to `hash` used at `at`, with its audit
  // entry. Returns false (nothing recorded) when there is no such unused code.
  virtual absl::StatusOr<bool> UseRecoveryCode(const std::string& user, const crypto::Bytes& hash,
                                               core::TimePoint at, const AuditEntry& audit) = 0;
  // Returns how many unused recovery codes `user` has left.
  virtual absl::StatusOr<int> CountRecoveryCodes(const std::string& user) = 0;
  // ---- end of SSO credentials

  // Returns the newest audit entries, newest first.
  virtual absl::StatusOr<std::vector<AuditEntry>> ListAudit(std::size_t limit) = 0;
};

using StorePtr = std::unique_ptr<Store>;

}  // namespace bulwark::authority
