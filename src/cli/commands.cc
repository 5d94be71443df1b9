#include "cli/commands.h"

#include <unistd.h>

#include <cstdio>

#include "core/files.h"

namespace bulwark::cli {

void AddAdminTargetFlags(CLI::App& cmd, std::string& data_dir, std::string& authority_url) {
  cmd.add_option("--data-dir", data_dir, "Authority data directory (default .bulwark/authority)");
  cmd.add_option("--authority", authority_url,
                 "Authority URL (default: the one written to DATA_DIR/endpoint by serve)");
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "bulwark: %s\n", message.c_str());
  return 1;
}

absl::StatusOr<std::string> ReadJoinToken(const std::string& file, int fd) {
  std::string text;
  if (fd >= 0) {
    char buffer[512];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0 && text.size() < 4096) {
      text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
  } else if (!file.empty()) {
    absl::StatusOr<std::string> read = core::ReadSecretFile(file);
    if (!read.ok()) {
      return read.status();
    }
    text = *read;
  } else {
    return absl::InvalidArgumentError("give --token-file FILE (mode 0600) or --token-fd N");
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  if (text.empty()) {
    return absl::InvalidArgumentError("the join token is empty");
  }
  return text;
}

}  // namespace bulwark::cli
