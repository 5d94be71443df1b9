// The file and stdout sinks of LineLog.
#include "proxy/line_log.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fmt/format.h"

namespace bulwark::proxy {

absl::StatusOr<LineSink> OpenLineSink(const std::string& path, std::string_view option) {
  if (path == "-") {
    return LineSink([](std::string_view lines) {
      std::fwrite(lines.data(), 1, lines.size(), stdout);
      std::fflush(stdout);
    });
  }
  std::shared_ptr<std::FILE> file(std::fopen(path.c_str(), "ae"), [](std::FILE* f) {
    if (f != nullptr) {
      std::fclose(f);
    }
  });
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("{}: cannot open {}: {}", option, path, std::strerror(errno)));
  }
  return LineSink([file](std::string_view lines) {
    std::fwrite(lines.data(), 1, lines.size(), file.get());
    std::fflush(file.get());
  });
}

}  // namespace bulwark::proxy
