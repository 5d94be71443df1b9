#include "up/log_mux.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "fmt/format.h"

namespace bulwark::up {
namespace {

// Width of the name column: "sidecar-contract" fits.
constexpr std::size_t kNameWidth = 16;

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;  // a full disk loses file lines, never the process
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

LogMux::~LogMux() {
  std::lock_guard lock(readers_mu_);
  for (std::thread& reader : readers_) {
    reader.join();
  }
}

absl::StatusOr<sandbox::UniqueFd> LogMux::Open(const std::string& name, const std::string& file) {
  sandbox::UniqueFd log(open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (log.get() < 0) {
    return absl::UnavailableError(fmt::format("log file {}: {}", file, std::strerror(errno)));
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::UnavailableError(fmt::format("pipe for {}'s log: {}", name, std::strerror(errno)));
  }
  sandbox::UniqueFd read_end(fds[0]);
  sandbox::UniqueFd write_end(fds[1]);
  std::lock_guard lock(readers_mu_);
  readers_.emplace_back(&LogMux::Copy, this, name, std::move(read_end), std::move(log));
  return write_end;
}

void LogMux::Say(std::string_view line) { Emit("up", line); }

void LogMux::Emit(std::string_view name, std::string_view line) {
  std::string text = fmt::format("{:<{}} | {}\n", name, kNameWidth, line);
  std::lock_guard lock(mu_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

void LogMux::Copy(std::string name, sandbox::UniqueFd pipe, sandbox::UniqueFd file) {
  std::string pending;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(pipe.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    WriteAll(file.get(), std::string_view(buffer, static_cast<std::size_t>(n)));
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t end; (end = pending.find('\n', start)) != std::string::npos; start = end + 1) {
      Emit(name, std::string_view(pending).substr(start, end - start));
    }
    pending.erase(0, start);
    if (pending.size() > 16384) {  // a line without end: show it in pieces
      Emit(name, pending);
      pending.clear();
    }
  }
  if (!pending.empty()) {
    Emit(name, pending);
  }
}

}  // namespace bulwark::up
