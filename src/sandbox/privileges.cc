#include "sandbox/privileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "fmt/format.h"

namespace bulwark::sandbox {
namespace {

absl::StatusOr<std::uint32_t> ParseId(std::string_view text, std::string_view whole) {
  std::uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty() || value == 0 ||
      value == static_cast<std::uint32_t>(-1)) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not UID[:GID] with non-zero numeric ids", whole));
  }
  return value;
}

absl::Status Errno(std::string_view what) {
  return absl::PermissionDeniedError(
      fmt::format("dropping privileges: {}: {}", what, std::strerror(errno)));
}

}  // namespace

absl::StatusOr<UserIds> ParseUserIds(std::string_view text) {
  std::size_t colon = text.find(':');
  absl::StatusOr<std::uint32_t> uid = ParseId(text.substr(0, colon), text);
  if (!uid.ok()) {
    return uid.status();
  }
  if (colon == std::string_view::npos) {
    return UserIds{*uid, *uid};
  }
  absl::StatusOr<std::uint32_t> gid = ParseId(text.substr(colon + 1), text);
  if (!gid.ok()) {
    return gid.status();
  }
  return UserIds{*uid, *gid};
}

absl::Status DropPrivileges(UserIds ids) {
  if (ids.uid == 0 || ids.gid == 0) {
    return absl::InvalidArgumentError("dropping privileges: the target uid and gid must not be 0");
  }
  // The glibc wrappers (not raw system calls): every thread must change, including the one that
  // sits in the service's network namespace.
  if (setgroups(0, nullptr) != 0) {
    return Errno("setgroups");
  }
  if (setresgid(ids.gid, ids.gid, ids.gid) != 0) {
    return Errno("setresgid");
  }
  if (setresuid(ids.uid, ids.uid, ids.uid) != 0) {
    return Errno("setresuid");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return Errno("no_new_privs");
  }
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0 || getgroups(0, nullptr) != 0 ||
      r != ids.uid || e != ids.uid || s != ids.uid || rg != ids.gid || eg != ids.gid ||
      sg != ids.gid) {
    return absl::InternalError("dropping privileges: the ids read back are not the ones set");
  }
  // Leaving uid 0 for non-zero real, effective and saved uids clears the permitted and effective
  // sets (no SECBIT_KEEP_CAPS); check rather than trust it.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    return Errno("capget");
  }
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) {
      return absl::InternalError("dropping privileges: capabilities left after the uid change");
    }
  }
  return absl::OkStatus();
}

}  // namespace bulwark::sandbox
