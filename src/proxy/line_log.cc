// The file and stdout sinks of LineLog.
#include "proxy/line_log.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace bulwark::proxy {

namespace {

using FilePtr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

FilePtr OpenForAppend(const std::string& path) {
  return FilePtr(std::fopen(path.c_str(), "ae"), &std::fclose);
}

}  // namespace

absl::StatusOr<LineDestination> OpenLineSink(const std::string& path, std::string_view option) {
  if (path == "-") {
    return LineDestination{[](std::string_view lines) {
                             std::fwrite(lines.data(), 1, lines.size(), stdout);
                             std::fflush(stdout);
                           },
                           nullptr};
  }
  // Written and reopened on the log's writer thread only.
  auto file = std::make_shared<FilePtr>(OpenForAppend(path));
  if (*file == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("{}: cannot open {}: {}", option, path, std::strerror(errno)));
  }
  LineSink sink = [file](std::string_view lines) {
    std::fwrite(lines.data(), 1, lines.size(), file->get());
    std::fflush(file->get());
  };
  LineReopen reopen = [file, path, option = std::string(option)] {
    FilePtr reopened = OpenForAppend(path);
    if (reopened == nullptr) {
      spdlog::error("{}: cannot reopen {}, still writing to the file it had open: {}", option, path,
                    std::strerror(errno));
      return;
    }
    *file = std::move(reopened);
  };
  return LineDestination{std::move(sink), std::move(reopen)};
}

}  // namespace bulwark::proxy
