// Small filesystem helpers for secrets and state files: whole-file reads with a size bound,
// atomic writes with an explicit mode (temp file + fsync + rename). Thread-compatible.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bulwark::core {

// Reads the whole file at `path`; fails if it is larger than `max_bytes`.
absl::StatusOr<std::string> ReadFile(const std::string& path, std::size_t max_bytes = 1 << 20);
// Writes `data` to `path` atomically with permissions `mode` (the file never exists with wider
// permissions, and a crash leaves either the old or the new content).
absl::Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode);
// Reads a secret file: refuses it when group or others may read or write it.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, std::size_t max_bytes = 4096);

}  // namespace bulwark::core
