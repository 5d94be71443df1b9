// Thin RAII wrappers over the SQLite C API for the SQLite store: a database handle and prepared
// statements with typed binds and column reads. Not thread-safe: the store serializes access.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"

struct sqlite3;
struct sqlite3_stmt;

namespace bulwark::authority::internal {

struct SqliteCloser {
  void operator()(sqlite3* db) const;
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* stmt) const;
};
using SqliteDbPtr = std::unique_ptr<sqlite3, SqliteCloser>;

class Statement {
 public:
  Statement(sqlite3* db, std::unique_ptr<sqlite3_stmt, SqliteFinalizer> stmt)
      : db_(db), stmt_(std::move(stmt)) {}

  // Binds the 1-based parameter `index`.
  Statement& Bind(int index, std::int64_t value);
  Statement& Bind(int index, std::string_view value);
  Statement& Bind(int index, const crypto::Bytes& value);
  Statement& BindNull(int index);
  // Steps once: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs to completion, ignoring rows.
  absl::Status Run();

  std::int64_t Int(int column) const;
  std::string Text(int column) const;
  crypto::Bytes Blob(int column) const;
  bool IsNull(int column) const;

 private:
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, SqliteFinalizer> stmt_;
  absl::Status bind_status_;
};

// Opens `path` with WAL and synchronous=FULL.
absl::StatusOr<SqliteDbPtr> OpenDatabase(const std::string& path);
// Prepares `sql` on `db`.
absl::StatusOr<Statement> Prepare(sqlite3* db, std::string_view sql);
// Runs one or more statements without results.
absl::Status Exec(sqlite3* db, const std::string& sql);
// Returns the number of rows changed by the last statement.
int Changes(sqlite3* db);
// Returns the rowid of the last inserted row.
std::int64_t LastInsertRowId(sqlite3* db);

}  // namespace bulwark::authority::internal
