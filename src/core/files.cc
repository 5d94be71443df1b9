#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace bulwark::core {
namespace {

absl::Status ErrnoError(std::string_view what, const std::string& path) {
  int err = errno;
  std::string message = fmt::format("{} {}: {}", what, path, std::strerror(err));
  if (err == ENOENT) {
    return absl::NotFoundError(message);
  }
  if (err == EACCES || err == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InternalError(message);
}

// Reads all of `fd` (at most max_bytes) and closes it.
absl::StatusOr<std::string> ReadAll(int fd, const std::string& path, std::size_t max_bytes) {
  std::string data;
  char buffer[8192];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      absl::Status status = ErrnoError("cannot read", path);
      ::close(fd);
      return status;
    }
    if (n == 0) {
      break;
    }
    data.append(buffer, static_cast<std::size_t>(n));
    if (data.size() > max_bytes) {
      ::close(fd);
      return absl::InvalidArgumentError(
          fmt::format("{} is larger than the limit of {} bytes", path, max_bytes));
    }
  }
  ::close(fd);
  return data;
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError("cannot open", path);
  }
  return ReadAll(fd, path, max_bytes);
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return ErrnoError("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return ErrnoError("cannot stat", path);
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return absl::PermissionDeniedError(fmt::format(
        "{} is readable or writable by group or others; run: chmod 600 {}", path, path));
  }
  return ReadAll(fd, path, max_bytes);
}

absl::Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                  static_cast<mode_t>(mode));
  if (fd < 0) {
    return ErrnoError("cannot create", tmp);
  }
  // The umask may have narrowed the mode; an explicit fchmod makes it exact.
  ::fchmod(fd, static_cast<mode_t>(mode));
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      absl::Status status = ErrnoError("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return status;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status status = ErrnoError("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return status;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status status = ErrnoError("cannot rename onto", path);
    ::unlink(tmp.c_str());
    return status;
  }
  return absl::OkStatus();
}

}  // namespace bulwark::core
