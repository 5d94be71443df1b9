#include "authority/store/internal/sqlite.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include "fmt/format.h"

namespace bulwark::authority::internal {

void SqliteCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }
void SqliteFinalizer::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

namespace {
absl::Status SqliteError(sqlite3* db, std::string_view what) {
  return absl::InternalError(fmt::format("sqlite: {}: {}", what, sqlite3_errmsg(db)));
}
}  // namespace

Statement& Statement::Bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_.get(), index, value) != SQLITE_OK) {
    bind_status_ = SqliteError(db_, "bind");
  }
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_.get(), index, value.data(), static_cast<int>(value.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    bind_status_ = SqliteError(db_, "bind");
  }
  return *this;
}

Statement& Statement::Bind(int index, const crypto::Bytes& value) {
  // An empty vector's data() may be null, which sqlite3_bind_blob would bind as NULL.
  int rc = value.empty() ? sqlite3_bind_zeroblob(stmt_.get(), index, 0)
                         : sqlite3_bind_blob(stmt_.get(), index, value.data(),
                                             static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) {
    bind_status_ = SqliteError(db_, "bind");
  }
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (sqlite3_bind_null(stmt_.get(), index) != SQLITE_OK) {
    bind_status_ = SqliteError(db_, "bind");
  }
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) {
    return bind_status_;
  }
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return SqliteError(db_, "step");
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) {
      return row.status();
    }
    if (!*row) {
      return absl::OkStatus();
    }
  }
}

std::int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_.get(), column); }

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  int size = sqlite3_column_bytes(stmt_.get(), column);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
}

crypto::Bytes Statement::Blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_.get(), column));
  int size = sqlite3_column_bytes(stmt_.get(), column);
  return data == nullptr ? crypto::Bytes() : crypto::Bytes(data, data + size);
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

absl::StatusOr<SqliteDbPtr> OpenDatabase(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  SqliteDbPtr db(raw);
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(fmt::format("cannot open database {}: {}", path,
                                              raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  ::chmod(path.c_str(), 0600);
  absl::Status pragmas = Exec(db.get(),
                              "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                              "PRAGMA foreign_keys=ON;");
  if (!pragmas.ok()) {
    return pragmas;
  }
  sqlite3_busy_timeout(db.get(), 10'000);
  return db;
}

absl::StatusOr<Statement> Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db, fmt::format("prepare '{}'", sql));
  }
  return Statement(db, std::unique_ptr<sqlite3_stmt, SqliteFinalizer>(raw));
}

absl::Status Exec(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return absl::InternalError(fmt::format("sqlite: {}", text));
  }
  return absl::OkStatus();
}

int Changes(sqlite3* db) { return sqlite3_changes(db); }

std::int64_t LastInsertRowId(sqlite3* db) { return sqlite3_last_insert_rowid(db); }

}  // namespace bulwark::authority::internal
