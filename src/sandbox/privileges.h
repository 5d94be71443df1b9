// Dropping root for good in a process that needed it only to start: `bulwark sidecar` under
// `bulwark up` joins its service's network namespace as root (sandbox/netns.h) and then runs as
// its own uid and gid with no capability. Call from any thread; the change applies to every
// thread of the process (glibc broadcasts set*id calls).
#pragma once

#include <sys/types.h>

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bulwark::sandbox {

struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Parses "UID:GID" (or "UID", then GID = UID); both non-zero numbers. Errors name the text.
absl::StatusOr<UserIds> ParseUserIds(std::string_view text);

// Drops every supplementary group, sets real, effective and saved gid then uid to `ids` (never
// 0), sets no_new_privs, then reads the ids and the capability sets back. Errors: not permitted
// (not root), or an id or a capability left over after the change.
absl::Status DropPrivileges(UserIds ids);

}  // namespace bulwark::sandbox
