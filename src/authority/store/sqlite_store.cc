#include "authority/store/sqlite_store.h"

#include <functional>
#include <mutex>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "authority/store/internal/sqlite.h"
#include "core/status.h"
#include "fmt/format.h"

namespace bulwark::authority {
namespace {

using internal::Prepare;
using internal::Statement;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS ca (
  id TEXT PRIMARY KEY, role TEXT NOT NULL, state TEXT NOT NULL, cert_pem TEXT NOT NULL,
  sealed_key BLOB NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS join_tokens (
  hash BLOB PRIMARY KEY, spiffe_id TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, used_at INTEGER);
CREATE TABLE IF NOT EXISTS issued (
  serial TEXT PRIMARY KEY, spiffe_id TEXT NOT NULL, kind TEXT NOT NULL,
  not_before INTEGER NOT NULL, not_after INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS issued_by_spiffe_id ON issued(spiffe_id);
CREATE TABLE IF NOT EXISTS revocations (
  version INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL UNIQUE,
  spiffe_id TEXT NOT NULL, revoked_at INTEGER NOT NULL, not_after INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS token_keys (
  kid TEXT PRIMARY KEY, state TEXT NOT NULL, sealed_key BLOB NOT NULL,
  created_at INTEGER NOT NULL, activate_at INTEGER NOT NULL, retire_at INTEGER NOT NULL,
  remove_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS delegated_keys (
  kid TEXT PRIMARY KEY, owner TEXT NOT NULL, jwk_json TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS revoked_tokens (
  jti TEXT PRIMARY KEY, client_id TEXT NOT NULL, revoked_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, hash BLOB NOT NULL, client TEXT NOT NULL, scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL, revoked_at INTEGER);
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY, email TEXT NOT NULL, password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL, created_at INTEGER NOT NULL, deleted_at INTEGER);
CREATE TABLE IF NOT EXISTS login_sessions (
  hash BLOB PRIMARY KEY, user TEXT NOT NULL, amr TEXT NOT NULL, auth_time INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, ended_at INTEGER);
CREATE INDEX IF NOT EXISTS login_sessions_by_user ON login_sessions(user);
CREATE TABLE IF NOT EXISTS enrolments (
  hash BLOB PRIMARY KEY, user TEXT NOT NULL, totp_sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER);
CREATE TABLE IF NOT EXISTS user_mfa (
  user TEXT PRIMARY KEY, totp_sealed BLOB NOT NULL, totp_last_step INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS recovery_codes (
  hash BLOB PRIMARY KEY, user TEXT NOT NULL, used_at INTEGER);
CREATE INDEX IF NOT EXISTS recovery_codes_by_user ON recovery_codes(user);
-- OpenID Connect provider: clients, codes, refresh tokens, revoked refresh families.
CREATE TABLE IF NOT EXISTS oidc_clients (
  id TEXT PRIMARY KEY, secret_hash BLOB NOT NULL, public INTEGER NOT NULL,
  redirect_uris TEXT NOT NULL, post_logout_redirect_uris TEXT NOT NULL, scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS oidc_codes (
  hash BLOB PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL, nonce TEXT NOT NULL, user TEXT NOT NULL,
  auth_time INTEGER NOT NULL, amr TEXT NOT NULL, scope TEXT NOT NULL, family TEXT NOT NULL,
  expires_at INTEGER NOT NULL, used_at INTEGER, login_session TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS oidc_refresh_tokens (
  hash BLOB PRIMARY KEY, family TEXT NOT NULL, client_id TEXT NOT NULL, user TEXT NOT NULL,
  scope TEXT NOT NULL, auth_time INTEGER NOT NULL, amr TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, rotated_at INTEGER, access_jti TEXT NOT NULL,
  access_expires_at INTEGER NOT NULL, login_session TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS oidc_refresh_by_family ON oidc_refresh_tokens(family);
CREATE TABLE IF NOT EXISTS oidc_revoked_families (
  family TEXT PRIMARY KEY, client_id TEXT NOT NULL, revoked_at INTEGER NOT NULL);
-- end OpenID Connect provider
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);
)sql";

// Columns added after a table was first released: added to an older database as it is opened
// (existing rows get the default), so every reader can rely on them. Indexes on them follow.
struct AddedColumn {
  const char* table;
  const char* column;
  const char* definition;
};
constexpr AddedColumn kAddedColumns[] = {
    {"oidc_codes", "login_session", "TEXT NOT NULL DEFAULT ''"},
    {"oidc_refresh_tokens", "login_session", "TEXT NOT NULL DEFAULT ''"},
};
constexpr const char* kIndexesOnAddedColumns = R"sql(
CREATE INDEX IF NOT EXISTS oidc_codes_by_session ON oidc_codes(login_session);
CREATE INDEX IF NOT EXISTS oidc_refresh_by_session ON oidc_refresh_tokens(login_session);
)sql";

absl::Status MigrateAddedColumns(sqlite3* db) {
  for (const AddedColumn& added : kAddedColumns) {
    BULWARK_ASSIGN_OR_RETURN(
        Statement st,
        Prepare(db,
                fmt::format("SELECT 1 FROM pragma_table_info('{}') WHERE name = ?", added.table)));
    st.Bind(1, std::string_view(added.column));
    BULWARK_ASSIGN_OR_RETURN(bool present, st.Step());
    if (!present) {
      BULWARK_RETURN_IF_ERROR(
          internal::Exec(db, fmt::format("ALTER TABLE {} ADD COLUMN {} {}", added.table,
                                         added.column, added.definition)));
    }
  }
  return internal::Exec(db, kIndexesOnAddedColumns);
}

std::int64_t Unix(core::TimePoint t) { return core::ToUnixSeconds(t); }
core::TimePoint Time(std::int64_t s) { return core::FromUnixSeconds(s); }

const char* RoleName(CaRole role) { return role == CaRole::kRoot ? "root" : "signing"; }
const char* StateName(CaState state) {
  switch (state) {
    case CaState::kPrepared:
      return "prepared";
    case CaState::kActive:
      return "active";
    case CaState::kRetired:
      return "retired";
  }
  return "retired";
}
CaState StateFromName(const std::string& name) {
  if (name == "prepared") {
    return CaState::kPrepared;
  }
  if (name == "active") {
    return CaState::kActive;
  }
  return CaState::kRetired;
}

TokenKeyState TokenKeyStateFromName(const std::string& text) {
  for (TokenKeyState state : {TokenKeyState::kNext, TokenKeyState::kCurrent,
                              TokenKeyState::kRetiring, TokenKeyState::kRetired}) {
    if (text == TokenKeyStateName(state)) {
      return state;
    }
  }
  return TokenKeyState::kRetired;
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(internal::SqliteDbPtr db) : db_(std::move(db)) {}

  absl::Status PutCa(const CaRecord& r, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(Statement st,
                               Prepare(db_.get(),
                                       "INSERT INTO ca VALUES (?,?,?,?,?,?,?) ON CONFLICT(id) DO "
                                       "UPDATE SET state = excluded.state"));
      st.Bind(1, r.id).Bind(2, RoleName(r.role)).Bind(3, StateName(r.state)).Bind(4, r.cert_pem);
      st.Bind(5, r.sealed_key).Bind(6, Unix(r.not_before)).Bind(7, Unix(r.not_after));
      BULWARK_RETURN_IF_ERROR(st.Run());
      return InsertAudit(audit);
    });
  }

  absl::StatusOr<std::vector<CaRecord>> ListCas() override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st, Prepare(db_.get(), "SELECT * FROM ca ORDER BY rowid"));
    std::vector<CaRecord> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      CaRecord r;
      r.id = st.Text(0);
      r.role = st.Text(1) == "root" ? CaRole::kRoot : CaRole::kSigning;
      r.state = StateFromName(st.Text(2));
      r.cert_pem = st.Text(3);
      r.sealed_key = st.Blob(4);
      r.not_before = Time(st.Int(5));
      r.not_after = Time(st.Int(6));
      out.push_back(std::move(r));
    }
    return out;
  }

  absl::Status CreateJoinToken(const JoinTokenRecord& t, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(Statement st,
                               Prepare(db_.get(), "INSERT INTO join_tokens VALUES (?,?,?,?,NULL)"));
      st.Bind(1, t.hash).Bind(2, t.spiffe_id).Bind(3, Unix(t.created_at));
      st.Bind(4, Unix(t.expires_at));
      BULWARK_RETURN_IF_ERROR(st.Run());
      return InsertAudit(audit);
    });
  }

  absl::StatusOr<JoinTokenRecord> FindJoinToken(const crypto::Bytes& hash) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM join_tokens WHERE hash = ?"));
    st.Bind(1, hash);
    BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return absl::NotFoundError("unknown join token");
    }
    JoinTokenRecord t;
    t.hash = st.Blob(0);
    t.spiffe_id = st.Text(1);
    t.created_at = Time(st.Int(2));
    t.expires_at = Time(st.Int(3));
    if (!st.IsNull(4)) {
      t.used_at = Time(st.Int(4));
    }
    return t;
  }

  absl::Status ConsumeJoinTokenAndRecord(const crypto::Bytes& hash, core::TimePoint now,
                                         const IssuedRecord& issued,
                                         const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      // The conditional update is the atomic consume: of concurrent callers exactly one sees a
      // changed row; the others roll back without recording anything.
      BULWARK_ASSIGN_OR_RETURN(
          Statement st,
          Prepare(db_.get(),
                  "UPDATE join_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND "
                  "expires_at > ? AND spiffe_id = ?"));
      st.Bind(1, Unix(now)).Bind(2, hash).Bind(3, Unix(now)).Bind(4, issued.spiffe_id);
      BULWARK_RETURN_IF_ERROR(st.Run());
      if (internal::Changes(db_.get()) != 1) {
        return absl::FailedPreconditionError("join token has already been used or has expired");
      }
      BULWARK_RETURN_IF_ERROR(InsertIssued(issued));
      return InsertAudit(audit);
    });
  }

  absl::Status RecordIssued(const IssuedRecord& issued, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_RETURN_IF_ERROR(InsertIssued(issued));
      return InsertAudit(audit);
    });
  }

  absl::StatusOr<std::optional<IssuedRecord>> FindIssued(const std::string& serial) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM issued WHERE serial = ?"));
    st.Bind(1, serial);
    BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return std::optional<IssuedRecord>();
    }
    return std::optional<IssuedRecord>(ReadIssued(st));
  }

  absl::StatusOr<std::vector<IssuedRecord>> ListIssued(
      std::optional<core::TimePoint> unexpired_at) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(
        Statement st,
        Prepare(db_.get(), "SELECT * FROM issued WHERE not_after > ? ORDER BY rowid DESC"));
    st.Bind(1, unexpired_at ? Unix(*unexpired_at) : std::int64_t{-1});
    std::vector<IssuedRecord> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      out.push_back(ReadIssued(st));
    }
    return out;
  }

  absl::StatusOr<std::vector<RevocationRecord>> Revoke(const std::vector<IssuedRecord>& certs,
                                                       const AuditEntry& audit) override {
    std::vector<RevocationRecord> added;
    absl::Status status = Transaction([&]() -> absl::Status {
      added.clear();
      for (const IssuedRecord& cert : certs) {
        BULWARK_ASSIGN_OR_RETURN(
            Statement st, Prepare(db_.get(),
                                  "INSERT INTO revocations (serial, spiffe_id, revoked_at, "
                                  "not_after) VALUES (?,?,?,?) ON CONFLICT(serial) DO NOTHING"));
        st.Bind(1, cert.serial).Bind(2, cert.spiffe_id).Bind(3, Unix(audit.at));
        st.Bind(4, Unix(cert.not_after));
        BULWARK_RETURN_IF_ERROR(st.Run());
        if (internal::Changes(db_.get()) == 1) {
          added.push_back({LastInsertId(), cert.serial, cert.spiffe_id, audit.at, cert.not_after});
          AuditEntry entry = audit;
          entry.subject = cert.serial;
          entry.detail = fmt::format("{}; {}", cert.spiffe_id, audit.detail);
          BULWARK_RETURN_IF_ERROR(InsertAudit(entry));
        }
      }
      return absl::OkStatus();
    });
    if (!status.ok()) {
      return status;
    }
    return added;
  }

  absl::StatusOr<std::vector<RevocationRecord>> RevocationsSince(std::int64_t since) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(
        Statement st,
        Prepare(db_.get(), "SELECT * FROM revocations WHERE version > ? ORDER BY version"));
    st.Bind(1, since);
    std::vector<RevocationRecord> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      out.push_back({st.Int(0), st.Text(1), st.Text(2), Time(st.Int(3)), Time(st.Int(4))});
    }
    return out;
  }

  absl::StatusOr<bool> IsRevoked(const std::string& serial) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT 1 FROM revocations WHERE serial = ?"));
    st.Bind(1, serial);
    return st.Step();
  }

  absl::Status PutTokenKeys(const std::vector<TokenKeyRecord>& keys,
                            const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      for (const TokenKeyRecord& k : keys) {
        BULWARK_ASSIGN_OR_RETURN(
            Statement st,
            Prepare(db_.get(),
                    "INSERT INTO token_keys VALUES (?,?,?,?,?,?,?) ON CONFLICT(kid) DO UPDATE SET "
                    "state = excluded.state, sealed_key = excluded.sealed_key, activate_at = "
                    "excluded.activate_at, retire_at = excluded.retire_at, remove_at = "
                    "excluded.remove_at"));
        st.Bind(1, k.kid).Bind(2, TokenKeyStateName(k.state)).Bind(3, k.sealed_key);
        st.Bind(4, Unix(k.created_at)).Bind(5, Unix(k.activate_at)).Bind(6, Unix(k.retire_at));
        st.Bind(7, Unix(k.remove_at));
        BULWARK_RETURN_IF_ERROR(st.Run());
      }
      return InsertAudit(audit);
    });
  }

  absl::StatusOr<std::vector<TokenKeyRecord>> ListTokenKeys() override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM token_keys ORDER BY rowid"));
    std::vector<TokenKeyRecord> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      out.push_back({st.Text(0), TokenKeyStateFromName(st.Text(1)), st.Blob(2), Time(st.Int(3)),
                     Time(st.Int(4)), Time(st.Int(5)), Time(st.Int(6))});
    }
    return out;
  }

  absl::StatusOr<bool> RevokeToken(const RevokedTokenRecord& t, const AuditEntry& audit) override {
    bool added = false;
    absl::Status status = Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(
          Statement st,
          Prepare(db_.get(),
                  "INSERT INTO revoked_tokens VALUES (?,?,?,?) ON CONFLICT(jti) DO NOTHING"));
      st.Bind(1, t.jti).Bind(2, t.client_id).Bind(3, Unix(t.revoked_at));
      st.Bind(4, Unix(t.expires_at));
      BULWARK_RETURN_IF_ERROR(st.Run());
      added = internal::Changes(db_.get()) == 1;
      return added ? InsertAudit(audit) : absl::OkStatus();
    });
    if (!status.ok()) {
      return status;
    }
    return added;
  }

  absl::Status CreateApiKey(const ApiKeyRecord& k, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(
          Statement st,
          Prepare(db_.get(),
                  "INSERT INTO api_keys VALUES (?,?,?,?,?,NULL) ON CONFLICT DO NOTHING"));
      // Scopes are scope tokens (no spaces), so one space-joined column holds them.
      st.Bind(1, k.id).Bind(2, k.hash).Bind(3, k.client).Bind(4, absl::StrJoin(k.scopes, " "));
      st.Bind(5, Unix(k.created_at));
      BULWARK_RETURN_IF_ERROR(st.Run());
      if (internal::Changes(db_.get()) != 1) {
        return absl::AlreadyExistsError(fmt::format("API key id {} is taken", k.id));
      }
      return InsertAudit(audit);
    });
  }

  absl::Status RevokeApiKey(const std::string& id, core::TimePoint at,
                            const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(Statement st, Prepare(db_.get(),
                                                     "UPDATE api_keys SET revoked_at = ? WHERE id "
                                                     "= ? AND revoked_at IS NULL"));
      st.Bind(1, Unix(at)).Bind(2, id);
      BULWARK_RETURN_IF_ERROR(st.Run());
      if (internal::Changes(db_.get()) == 1) {
        return InsertAudit(audit);
      }
      BULWARK_ASSIGN_OR_RETURN(Statement find,
                               Prepare(db_.get(), "SELECT 1 FROM api_keys WHERE id = ?"));
      find.Bind(1, id);
      BULWARK_ASSIGN_OR_RETURN(bool exists, find.Step());
      return exists
                 ? absl::FailedPreconditionError(fmt::format("API key {} is revoked already", id))
                 : absl::NotFoundError(fmt::format("no API key with id {}", id));
    });
  }

  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys() override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM api_keys ORDER BY rowid"));
    std::vector<ApiKeyRecord> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      ApiKeyRecord k;
      k.id = st.Text(0);
      k.hash = st.Blob(1);
      k.client = st.Text(2);
      k.scopes = absl::StrSplit(st.Text(3), ' ', absl::SkipEmpty());
      k.created_at = Time(st.Int(4));
      if (!st.IsNull(5)) {
        k.revoked_at = Time(st.Int(5));
      }
      out.push_back(std::move(k));
    }
    return out;
  }

  absl::Status PutDelegatedKey(const DelegatedKeyRecord& k, const std::vector<std::string>& evict,
                               const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      for (const std::string& kid : evict) {
        BULWARK_ASSIGN_OR_RETURN(Statement del,
                                 Prepare(db_.get(), "DELETE FROM delegated_keys WHERE kid = ?"));
        del.Bind(1, kid);
        BULWARK_RETURN_IF_ERROR(del.Run());
      }
      BULWARK_ASSIGN_OR_RETURN(
          Statement st,
          Prepare(db_.get(),
                  "INSERT INTO delegated_keys VALUES (?,?,?,?,?) ON CONFLICT(kid) DO NOTHING"));
      st.Bind(1, k.kid).Bind(2, k.owner).Bind(3, k.jwk_json).Bind(4, Unix(k.created_at));
      st.Bind(5, Unix(k.expires_at));
      BULWARK_RETURN_IF_ERROR(st.Run());
      if (internal::Changes(db_.get()) != 1) {
        return absl::AlreadyExistsError(fmt::format("delegated key {} is registered", k.kid));
      }
      return InsertAudit(audit);
    });
  }

  absl::StatusOr<std::vector<DelegatedKeyRecord>> ListDelegatedKeys(
      core::TimePoint after) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(
        Statement st,
        Prepare(db_.get(), "SELECT * FROM delegated_keys WHERE expires_at > ? ORDER BY rowid"));
    st.Bind(1, Unix(after));
    std::vector<DelegatedKeyRecord> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      out.push_back({st.Text(0), st.Text(1), st.Text(2), Time(st.Int(3)), Time(st.Int(4))});
    }
    return out;
  }

  absl::Status PruneDelegatedKeys(core::TimePoint before) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(
        Statement st, Prepare(db_.get(), "DELETE FROM delegated_keys WHERE expires_at <= ?"));
    st.Bind(1, Unix(before));
    return st.Run();
  }

  absl::StatusOr<bool> IsTokenRevoked(const std::string& jti) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT 1 FROM revoked_tokens WHERE jti = ?"));
    st.Bind(1, jti);
    return st.Step();
  }

  absl::Status PruneRevokedTokens(core::TimePoint before) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "DELETE FROM revoked_tokens WHERE expires_at < ?"));
    st.Bind(1, Unix(before));
    return st.Run();
  }

  absl::Status CreateUser(const UserRecord& u, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(
          Statement st,
          Prepare(db_.get(), "INSERT INTO users VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING"));
      BindUser(st, u);
      BULWARK_RETURN_IF_ERROR(st.Run());
      if (internal::Changes(db_.get()) != 1) {
        return absl::AlreadyExistsError(fmt::format("the user name {} is taken", u.name));
      }
      return InsertAudit(audit);
    });
  }

  absl::Status UpdateUser(const UserRecord& u, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(
          Statement st, Prepare(db_.get(),
                                "UPDATE users SET email = ?2, password_hash = ?3, disabled = ?4, "
                                "deleted_at = ?6 WHERE name = ?1"));
      BindUser(st, u);
      BULWARK_RETURN_IF_ERROR(st.Run());
      if (internal::Changes(db_.get()) != 1) {
        return absl::NotFoundError(fmt::format("no user named {}", u.name));
      }
      return InsertAudit(audit);
    });
  }

  absl::StatusOr<UserRecord> FindUser(const std::string& name) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM users WHERE name = ?"));
    st.Bind(1, name);
    BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return absl::NotFoundError(fmt::format("no user named {}", name));
    }
    return ReadUser(st);
  }

  absl::StatusOr<std::vector<UserRecord>> ListUsers() override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM users ORDER BY rowid"));
    std::vector<UserRecord> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      out.push_back(ReadUser(st));
    }
    return out;
  }

  absl::Status CreateLoginSession(const LoginSessionRecord& s, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(Statement st,
                               Prepare(db_.get(),
                                       "INSERT INTO login_sessions VALUES (?,?,?,?,?,NULL) "
                                       "ON CONFLICT DO NOTHING"));
      // amr values are RFC 8176 method names (no spaces), so one space-joined column holds them.
      st.Bind(1, s.hash).Bind(2, s.user).Bind(3, absl::StrJoin(s.amr, " "));
      st.Bind(4, Unix(s.auth_time)).Bind(5, Unix(s.expires_at));
      BULWARK_RETURN_IF_ERROR(st.Run());
      if (internal::Changes(db_.get()) != 1) {
        return absl::AlreadyExistsError("a login session with this cookie exists");
      }
      return InsertAudit(audit);
    });
  }

  absl::StatusOr<LoginSessionRecord> FindLoginSession(const crypto::Bytes& hash) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM login_sessions WHERE hash = ?"));
    st.Bind(1, hash);
    BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return absl::NotFoundError("no such login session");
    }
    return ReadLoginSession(st);
  }

  absl::StatusOr<int> EndLoginSessions(const crypto::Bytes& hash, const std::string& user,
                                       core::TimePoint at, const AuditEntry& audit) override {
    int ended = 0;
    absl::Status status = Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> ids, OpenSessionIdsLocked(hash, user));
      BULWARK_ASSIGN_OR_RETURN(
          Statement st,
          Prepare(db_.get(), user.empty() ? "UPDATE login_sessions SET ended_at = ?1 WHERE "
                                            "hash = ?2 AND ended_at IS NULL"
                                          : "UPDATE login_sessions SET ended_at = ?1 WHERE "
                                            "user = ?2 AND ended_at IS NULL"));
      st.Bind(1, Unix(at));
      if (user.empty()) {
        st.Bind(2, hash);
      } else {
        st.Bind(2, user);
      }
      BULWARK_RETURN_IF_ERROR(st.Run());
      ended = internal::Changes(db_.get());
      if (ended == 0) {
        return absl::OkStatus();
      }
      for (const std::string& id : ids) {
        BULWARK_RETURN_IF_ERROR(RevokeSessionFamiliesLocked(id, at));
      }
      return InsertAudit(audit);
    });
    if (!status.ok()) {
      return status;
    }
    return ended;
  }

  absl::StatusOr<std::vector<LoginSessionRecord>> ListLoginSessions(core::TimePoint at) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(),
                                     "SELECT * FROM login_sessions WHERE ended_at IS NULL AND "
                                     "expires_at > ? ORDER BY rowid"));
    st.Bind(1, Unix(at));
    std::vector<LoginSessionRecord> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      out.push_back(ReadLoginSession(st));
    }
    return out;
  }

  absl::StatusOr<std::vector<SessionGrantRecord>> ListSessionGrants(core::TimePoint at) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(
        Statement st,
        Prepare(db_.get(),
                "SELECT login_session, client_id, family, MIN(created_at), MAX(created_at), "
                "COUNT(*) FROM oidc_refresh_tokens WHERE login_session != '' AND family NOT IN "
                "(SELECT family FROM oidc_revoked_families) GROUP BY family "
                "HAVING MAX(expires_at) > ? ORDER BY MIN(created_at), family"));
    st.Bind(1, Unix(at));
    std::vector<SessionGrantRecord> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      SessionGrantRecord grant{st.Text(0), st.Text(1), st.Text(2), Time(st.Int(3)), std::nullopt};
      if (st.Int(5) > 1) {
        grant.refreshed_at = Time(st.Int(4));
      }
      out.push_back(std::move(grant));
    }
    return out;
  }

  // ---- OpenID Connect provider ----
  absl::Status CreateOidcClient(const OidcClientRecord& c, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(Statement st,
                               Prepare(db_.get(),
                                       "INSERT INTO oidc_clients VALUES (?,?,?,?,?,?,?) "
                                       "ON CONFLICT DO NOTHING"));
      // Redirect URIs and scopes contain no spaces (both are checked), so one space-joined
      // column holds each list.
      st.Bind(1, c.id).Bind(2, c.secret_hash).Bind(3, std::int64_t{c.is_public ? 1 : 0});
      st.Bind(4, absl::StrJoin(c.redirect_uris, " "));
      st.Bind(5, absl::StrJoin(c.post_logout_redirect_uris, " "));
      st.Bind(6, absl::StrJoin(c.scopes, " ")).Bind(7, Unix(c.created_at));
      BULWARK_RETURN_IF_ERROR(st.Run());
      if (internal::Changes(db_.get()) != 1) {
        return absl::AlreadyExistsError(fmt::format("the client id {} is taken", c.id));
      }
      return InsertAudit(audit);
    });
  }

  absl::StatusOr<OidcClientRecord> FindOidcClient(const std::string& id) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM oidc_clients WHERE id = ?"));
    st.Bind(1, id);
    BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return absl::NotFoundError(fmt::format("no client with id {}", id));
    }
    return ReadOidcClient(st);
  }

  absl::StatusOr<std::vector<OidcClientRecord>> ListOidcClients() override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM oidc_clients ORDER BY rowid"));
    std::vector<OidcClientRecord> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      out.push_back(ReadOidcClient(st));
    }
    return out;
  }

  absl::Status DeleteOidcClient(const std::string& id, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(Statement st,
                               Prepare(db_.get(), "DELETE FROM oidc_clients WHERE id = ?"));
      st.Bind(1, id);
      BULWARK_RETURN_IF_ERROR(st.Run());
      if (internal::Changes(db_.get()) != 1) {
        return absl::NotFoundError(fmt::format("no client with id {}", id));
      }
      BULWARK_ASSIGN_OR_RETURN(
          Statement families,
          Prepare(db_.get(),
                  "SELECT DISTINCT family FROM oidc_refresh_tokens WHERE client_id = ?"));
      families.Bind(1, id);
      std::vector<std::string> list;
      while (true) {
        BULWARK_ASSIGN_OR_RETURN(bool row, families.Step());
        if (!row) {
          break;
        }
        list.push_back(families.Text(0));
      }
      for (const std::string& family : list) {
        BULWARK_RETURN_IF_ERROR(RevokeFamilyLocked(family, audit.at));
      }
      return InsertAudit(audit);
    });
  }

  absl::Status CreateAuthCode(const AuthCodeRecord& c) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(
          Statement st,
          Prepare(db_.get(), "INSERT INTO oidc_codes VALUES (?,?,?,?,?,?,?,?,?,?,?,NULL,?)"));
      st.Bind(1, c.hash).Bind(2, c.client_id).Bind(3, c.redirect_uri).Bind(4, c.code_challenge);
      st.Bind(5, c.nonce).Bind(6, c.user).Bind(7, Unix(c.auth_time));
      st.Bind(8, absl::StrJoin(c.amr, " ")).Bind(9, absl::StrJoin(c.scope, " "));
      st.Bind(10, c.family).Bind(11, Unix(c.expires_at)).Bind(12, c.login_session);
      return st.Run();
    });
  }

  absl::StatusOr<AuthCodeRecord> ConsumeAuthCode(const crypto::Bytes& hash,
                                                 core::TimePoint now) override {
    AuthCodeRecord code;
    absl::Status status = Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(Statement st,
                               Prepare(db_.get(), "SELECT * FROM oidc_codes WHERE hash = ?"));
      st.Bind(1, hash);
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        return absl::NotFoundError("unknown authorization code");
      }
      code = ReadAuthCode(st);
      if (code.used_at) {
        return absl::OkStatus();
      }
      BULWARK_ASSIGN_OR_RETURN(
          Statement use, Prepare(db_.get(), "UPDATE oidc_codes SET used_at = ? WHERE hash = ?"));
      use.Bind(1, Unix(now)).Bind(2, hash);
      return use.Run();
    });
    if (!status.ok()) {
      return status;
    }
    return code;
  }

  absl::Status CreateRefreshToken(const RefreshTokenRecord& t) override {
    return Transaction([&]() -> absl::Status { return InsertRefreshLocked(t); });
  }

  absl::StatusOr<RefreshTokenRecord> FindRefreshToken(const crypto::Bytes& hash) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(
        Statement st, Prepare(db_.get(), "SELECT * FROM oidc_refresh_tokens WHERE hash = ?"));
    st.Bind(1, hash);
    BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return absl::NotFoundError("unknown refresh token");
    }
    return ReadRefreshToken(st);
  }

  absl::StatusOr<RefreshRotation> RotateRefreshToken(const crypto::Bytes& hash, core::TimePoint now,
                                                     core::Seconds grace,
                                                     const RefreshTokenRecord& successor,
                                                     const AuditEntry& audit) override {
    RefreshRotation result = RefreshRotation::kRotated;
    absl::Status status = Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(
          Statement st, Prepare(db_.get(), "SELECT * FROM oidc_refresh_tokens WHERE hash = ?"));
      st.Bind(1, hash);
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        return absl::NotFoundError("unknown refresh token");
      }
      RefreshTokenRecord old = ReadRefreshToken(st);
      BULWARK_ASSIGN_OR_RETURN(bool revoked, FamilyRevokedLocked(old.family));
      if (revoked) {
        result = RefreshRotation::kFamilyRevoked;
        return absl::OkStatus();
      }
      if (old.rotated_at && *old.rotated_at + grace < now) {
        result = RefreshRotation::kReused;
        BULWARK_RETURN_IF_ERROR(RevokeFamilyLocked(old.family, now));
        return InsertAudit(audit);
      }
      if (!old.rotated_at) {
        BULWARK_ASSIGN_OR_RETURN(
            Statement mark,
            Prepare(db_.get(), "UPDATE oidc_refresh_tokens SET rotated_at = ? WHERE hash = ?"));
        mark.Bind(1, Unix(now)).Bind(2, hash);
        BULWARK_RETURN_IF_ERROR(mark.Run());
      }
      return InsertRefreshLocked(successor);
    });
    if (!status.ok()) {
      return status;
    }
    return result;
  }

  absl::Status RevokeRefreshFamily(const std::string& family, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(bool revoked, FamilyRevokedLocked(family));
      if (revoked) {
        return absl::OkStatus();
      }
      BULWARK_RETURN_IF_ERROR(RevokeFamilyLocked(family, audit.at));
      return InsertAudit(audit);
    });
  }

  absl::Status PruneOidcGrants(core::TimePoint before) override {
    std::lock_guard lock(mutex_);
    for (const char* sql : {"DELETE FROM oidc_codes WHERE expires_at < ?",
                            "DELETE FROM oidc_refresh_tokens WHERE expires_at < ?"}) {
      BULWARK_ASSIGN_OR_RETURN(Statement st, Prepare(db_.get(), sql));
      st.Bind(1, Unix(before));
      BULWARK_RETURN_IF_ERROR(st.Run());
    }
    return absl::OkStatus();
  }
  // ---- end OpenID Connect provider ----

  // ---- SSO credentials
  absl::Status CreateEnrolment(const EnrolmentRecord& e, const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(Statement st,
                               Prepare(db_.get(),
                                       "INSERT INTO enrolments VALUES (?,?,?,?,?,NULL) "
                                       "ON CONFLICT DO NOTHING"));
      st.Bind(1, e.hash).Bind(2, e.user).Bind(3, e.totp_sealed);
      st.Bind(4, Unix(e.created_at)).Bind(5, Unix(e.expires_at));
      BULWARK_RETURN_IF_ERROR(st.Run());
      if (internal::Changes(db_.get()) != 1) {
        return absl::AlreadyExistsError("an enrolment with this token exists");
      }
      return InsertAudit(audit);
    });
  }

  absl::StatusOr<EnrolmentRecord> FindEnrolment(const crypto::Bytes& hash) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM enrolments WHERE hash = ?"));
    st.Bind(1, hash);
    BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return absl::NotFoundError("no such enrolment link");
    }
    EnrolmentRecord e{st.Blob(0), st.Text(1), st.Blob(2), Time(st.Int(3)), Time(st.Int(4)), {}};
    if (!st.IsNull(5)) {
      e.used_at = Time(st.Int(5));
    }
    return e;
  }

  absl::Status CompleteEnrolment(const crypto::Bytes& hash, core::TimePoint at,
                                 const std::string& password_hash, const UserMfaRecord& mfa,
                                 const std::vector<crypto::Bytes>& recovery_hashes,
                                 const AuditEntry& audit) override {
    return Transaction([&]() -> absl::Status {
      BULWARK_RETURN_IF_ERROR(ChangeOne(
          "UPDATE enrolments SET used_at = ?1 WHERE hash = ?2 AND user = ?3 AND used_at IS NULL "
          "AND expires_at > ?1",
          [&](Statement& st) { st.Bind(1, Unix(at)).Bind(2, hash).Bind(3, mfa.user); },
          "the enrolment link is used, expired or not this user's"));
      BULWARK_RETURN_IF_ERROR(ChangeOne(
          "UPDATE users SET password_hash = ?1 WHERE name = ?2 AND disabled = 0 AND "
          "deleted_at IS NULL",
          [&](Statement& st) { st.Bind(1, password_hash).Bind(2, mfa.user); },
          "the user is disabled or deleted"));
      BULWARK_RETURN_IF_ERROR(ChangeOne(
          "INSERT OR REPLACE INTO user_mfa VALUES (?,?,?)",
          [&](Statement& st) {
            st.Bind(1, mfa.user).Bind(2, mfa.totp_sealed).Bind(3, mfa.totp_last_step);
          },
          "the second factor was not stored"));
      BULWARK_ASSIGN_OR_RETURN(Statement drop,
                               Prepare(db_.get(), "DELETE FROM recovery_codes WHERE user = ?"));
      drop.Bind(1, mfa.user);
      BULWARK_RETURN_IF_ERROR(drop.Run());
      for (const crypto::Bytes& code : recovery_hashes) {
        BULWARK_RETURN_IF_ERROR(ChangeOne(
            "INSERT INTO recovery_codes VALUES (?,?,NULL)",
            [&](Statement& st) { st.Bind(1, code).Bind(2, mfa.user); },
            "a recovery code was not stored"));
      }
      return InsertAudit(audit);
    });
  }

  absl::StatusOr<UserMfaRecord> FindUserMfa(const std::string& user) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM user_mfa WHERE user = ?"));
    st.Bind(1, user);
    BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return absl::NotFoundError(fmt::format("the user {} has not enrolled", user));
    }
    return UserMfaRecord{st.Text(0), st.Blob(1), st.Int(2)};
  }

  absl::StatusOr<bool> AcceptTotpStep(const std::string& user, std::int64_t step) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(),
                                     "UPDATE user_mfa SET totp_last_step = ?1 WHERE user = ?2 "
                                     "AND totp_last_step < ?1"));
    st.Bind(1, step).Bind(2, user);
    BULWARK_RETURN_IF_ERROR(st.Run());
    return internal::Changes(db_.get()) == 1;
  }

  absl::StatusOr<bool> UseRecoveryCode(const std::string& user, const crypto::Bytes& hash,
                                       core::TimePoint at, const AuditEntry& audit) override {
    bool used = false;
    absl::Status status = Transaction([&]() -> absl::Status {
      BULWARK_ASSIGN_OR_RETURN(Statement st,
                               Prepare(db_.get(),
                                       "UPDATE recovery_codes SET used_at = ? WHERE hash = ? AND "
                                       "user = ? AND used_at IS NULL"));
      st.Bind(1, Unix(at)).Bind(2, hash).Bind(3, user);
      BULWARK_RETURN_IF_ERROR(st.Run());
      used = internal::Changes(db_.get()) == 1;
      return used ? InsertAudit(audit) : absl::OkStatus();
    });
    if (!status.ok()) {
      return status;
    }
    return used;
  }

  absl::StatusOr<int> CountRecoveryCodes(const std::string& user) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(
        Statement st,
        Prepare(db_.get(),
                "SELECT COUNT(*) FROM recovery_codes WHERE user = ? AND used_at IS NULL"));
    st.Bind(1, user);
    BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? static_cast<int>(st.Int(0)) : 0;
  }
  // ---- end of SSO credentials

  absl::StatusOr<std::vector<AuditEntry>> ListAudit(std::size_t limit) override {
    std::lock_guard lock(mutex_);
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "SELECT * FROM audit ORDER BY id DESC LIMIT ?"));
    st.Bind(1, static_cast<std::int64_t>(limit));
    std::vector<AuditEntry> out;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      out.push_back({st.Int(0), Time(st.Int(1)), st.Text(2), st.Text(3), st.Text(4), st.Text(5)});
    }
    return out;
  }

 private:
  // Binds ?1..?6 to the users columns, in table order (an UPDATE need not use ?5).
  static void BindUser(Statement& st, const UserRecord& u) {
    st.Bind(1, u.name).Bind(2, u.email).Bind(3, u.password_hash);
    st.Bind(4, static_cast<std::int64_t>(u.disabled ? 1 : 0)).Bind(5, Unix(u.created_at));
    if (u.deleted_at) {
      st.Bind(6, Unix(*u.deleted_at));
    } else {
      st.BindNull(6);
    }
  }
  static UserRecord ReadUser(const Statement& st) {
    UserRecord u;
    u.name = st.Text(0);
    u.email = st.Text(1);
    u.password_hash = st.Text(2);
    u.disabled = st.Int(3) != 0;
    u.created_at = Time(st.Int(4));
    if (!st.IsNull(5)) {
      u.deleted_at = Time(st.Int(5));
    }
    return u;
  }
  static LoginSessionRecord ReadLoginSession(const Statement& st) {
    LoginSessionRecord s;
    s.hash = st.Blob(0);
    s.user = st.Text(1);
    s.amr = absl::StrSplit(st.Text(2), ' ', absl::SkipEmpty());
    s.auth_time = Time(st.Int(3));
    s.expires_at = Time(st.Int(4));
    if (!st.IsNull(5)) {
      s.ended_at = Time(st.Int(5));
    }
    return s;
  }

  // ---- OpenID Connect provider ----
  static std::vector<std::string> SplitList(const std::string& text) {
    return absl::StrSplit(text, ' ', absl::SkipEmpty());
  }
  static OidcClientRecord ReadOidcClient(const Statement& st) {
    return {st.Text(0),
            st.Blob(1),
            st.Int(2) != 0,
            SplitList(st.Text(3)),
            SplitList(st.Text(4)),
            SplitList(st.Text(5)),
            Time(st.Int(6))};
  }
  static AuthCodeRecord ReadAuthCode(const Statement& st) {
    AuthCodeRecord c{st.Blob(0),
                     st.Text(1),
                     st.Text(2),
                     st.Text(3),
                     st.Text(4),
                     st.Text(5),
                     Time(st.Int(6)),
                     SplitList(st.Text(7)),
                     SplitList(st.Text(8)),
                     st.Text(9),
                     Time(st.Int(10)),
                     std::nullopt,
                     st.Text(12)};
    if (!st.IsNull(11)) {
      c.used_at = Time(st.Int(11));
    }
    return c;
  }
  static RefreshTokenRecord ReadRefreshToken(const Statement& st) {
    RefreshTokenRecord t{st.Blob(0),
                         st.Text(1),
                         st.Text(2),
                         st.Text(3),
                         SplitList(st.Text(4)),
                         Time(st.Int(5)),
                         SplitList(st.Text(6)),
                         Time(st.Int(7)),
                         Time(st.Int(8)),
                         std::nullopt,
                         st.Text(10),
                         Time(st.Int(11)),
                         st.Text(12)};
    if (!st.IsNull(9)) {
      t.rotated_at = Time(st.Int(9));
    }
    return t;
  }
  absl::StatusOr<bool> FamilyRevokedLocked(const std::string& family) {
    BULWARK_ASSIGN_OR_RETURN(
        Statement st, Prepare(db_.get(), "SELECT 1 FROM oidc_revoked_families WHERE family = ?"));
    st.Bind(1, family);
    return st.Step();
  }
  absl::Status InsertRefreshLocked(const RefreshTokenRecord& t) {
    BULWARK_ASSIGN_OR_RETURN(bool revoked, FamilyRevokedLocked(t.family));
    if (revoked) {
      return absl::FailedPreconditionError(
          fmt::format("the refresh family of this grant was revoked"));
    }
    BULWARK_ASSIGN_OR_RETURN(
        Statement st,
        Prepare(db_.get(),
                "INSERT INTO oidc_refresh_tokens VALUES (?,?,?,?,?,?,?,?,?,NULL,?,?,?)"));
    st.Bind(1, t.hash).Bind(2, t.family).Bind(3, t.client_id).Bind(4, t.user);
    st.Bind(5, absl::StrJoin(t.scope, " ")).Bind(6, Unix(t.auth_time));
    st.Bind(7, absl::StrJoin(t.amr, " ")).Bind(8, Unix(t.created_at)).Bind(9, Unix(t.expires_at));
    st.Bind(10, t.access_jti).Bind(11, Unix(t.access_expires_at)).Bind(12, t.login_session);
    return st.Run();
  }
  // Returns the ids (LoginSessionId) of the open sessions EndLoginSessions(hash, user) ends.
  absl::StatusOr<std::vector<std::string>> OpenSessionIdsLocked(const crypto::Bytes& hash,
                                                                const std::string& user) {
    BULWARK_ASSIGN_OR_RETURN(
        Statement st,
        Prepare(db_.get(),
                user.empty()
                    ? "SELECT hash FROM login_sessions WHERE hash = ? AND ended_at IS NULL"
                    : "SELECT hash FROM login_sessions WHERE user = ? AND ended_at IS NULL"));
    if (user.empty()) {
      st.Bind(1, hash);
    } else {
      st.Bind(1, user);
    }
    std::vector<std::string> ids;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      ids.push_back(LoginSessionId(st.Blob(0)));
    }
    return ids;
  }
  // Revokes every family issued under login session `id`: those of its refresh tokens and those
  // its unredeemed codes would start (a code redeemed later then cannot store a token).
  absl::Status RevokeSessionFamiliesLocked(const std::string& id, core::TimePoint at) {
    BULWARK_ASSIGN_OR_RETURN(
        Statement st, Prepare(db_.get(),
                              "SELECT family FROM oidc_codes WHERE login_session = ?1 UNION "
                              "SELECT family FROM oidc_refresh_tokens WHERE login_session = ?1"));
    st.Bind(1, id);
    std::vector<std::string> families;
    while (true) {
      BULWARK_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) {
        break;
      }
      families.push_back(st.Text(0));
    }
    for (const std::string& family : families) {
      BULWARK_RETURN_IF_ERROR(RevokeFamilyLocked(family, at));
    }
    return absl::OkStatus();
  }
  // Marks `family` revoked and every access token issued with its refresh tokens revoked.
  absl::Status RevokeFamilyLocked(const std::string& family, core::TimePoint at) {
    BULWARK_ASSIGN_OR_RETURN(
        Statement tokens,
        Prepare(db_.get(),
                "INSERT OR IGNORE INTO revoked_tokens SELECT access_jti, client_id, ?, "
                "access_expires_at FROM oidc_refresh_tokens WHERE family = ?"));
    tokens.Bind(1, Unix(at)).Bind(2, family);
    BULWARK_RETURN_IF_ERROR(tokens.Run());
    BULWARK_ASSIGN_OR_RETURN(
        Statement mark,
        Prepare(db_.get(),
                "INSERT OR IGNORE INTO oidc_revoked_families VALUES (?1, COALESCE((SELECT "
                "client_id FROM oidc_refresh_tokens WHERE family = ?1 LIMIT 1), ''), ?2)"));
    mark.Bind(1, family).Bind(2, Unix(at));
    return mark.Run();
  }
  // ---- end OpenID Connect provider ----

  // Runs the statement `sql` with `bind` inside a transaction; FailedPrecondition(`failure`) unless
  // it changed exactly one row (SSO credentials).
  absl::Status ChangeOne(const char* sql, const std::function<void(Statement&)>& bind,
                         const char* failure) {
    BULWARK_ASSIGN_OR_RETURN(Statement st, Prepare(db_.get(), sql));
    bind(st);
    BULWARK_RETURN_IF_ERROR(st.Run());
    if (internal::Changes(db_.get()) != 1) {
      return absl::FailedPreconditionError(failure);
    }
    return absl::OkStatus();
  }

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT under the mutex; rolls back on error.
  absl::Status Transaction(const std::function<absl::Status()>& body) {
    std::lock_guard lock(mutex_);
    BULWARK_RETURN_IF_ERROR(internal::Exec(db_.get(), "BEGIN IMMEDIATE"));
    absl::Status status = body();
    if (status.ok()) {
      status = internal::Exec(db_.get(), "COMMIT");
    }
    if (!status.ok()) {
      (void)internal::Exec(db_.get(), "ROLLBACK");
    }
    return status;
  }

  absl::Status InsertAudit(const AuditEntry& a) {
    BULWARK_ASSIGN_OR_RETURN(
        Statement st,
        Prepare(db_.get(),
                "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?,?,?,?,?)"));
    st.Bind(1, Unix(a.at)).Bind(2, a.actor).Bind(3, a.action).Bind(4, a.subject);
    st.Bind(5, a.detail);
    return st.Run();
  }

  absl::Status InsertIssued(const IssuedRecord& r) {
    BULWARK_ASSIGN_OR_RETURN(Statement st,
                             Prepare(db_.get(), "INSERT INTO issued VALUES (?,?,?,?,?)"));
    st.Bind(1, r.serial).Bind(2, r.spiffe_id).Bind(3, r.kind).Bind(4, Unix(r.not_before));
    st.Bind(5, Unix(r.not_after));
    return st.Run();
  }

  static IssuedRecord ReadIssued(const Statement& st) {
    return {st.Text(0), st.Text(1), st.Text(2), Time(st.Int(3)), Time(st.Int(4))};
  }

  std::int64_t LastInsertId() { return internal::LastInsertRowId(db_.get()); }

  std::mutex mutex_;
  internal::SqliteDbPtr db_;
};

}  // namespace

absl::StatusOr<StorePtr> OpenSqliteStore(const std::string& path) {
  BULWARK_ASSIGN_OR_RETURN(internal::SqliteDbPtr db, internal::OpenDatabase(path));
  BULWARK_RETURN_IF_ERROR(internal::Exec(db.get(), kSchema));
  BULWARK_RETURN_IF_ERROR(MigrateAddedColumns(db.get()));
  return StorePtr(std::make_unique<SqliteStore>(std::move(db)));
}

}  // namespace bulwark::authority
