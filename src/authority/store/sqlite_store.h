// The SQLite implementation of Store: WAL journal, synchronous=FULL (a committed change
// survives kill -9 and power loss), one connection serialized by a mutex, and a busy timeout
// so that the CLI and a running authority can share the file. Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "authority/store/store.h"

namespace bulwark::authority {

// Opens (creating with mode 0600 if needed) the database at `path` and migrates its schema.
absl::StatusOr<StorePtr> OpenSqliteStore(const std::string& path);

}  // namespace bulwark::authority
