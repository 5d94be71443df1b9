#include "cli/commands.h"

#include <cstdio>

namespace bulwark::cli {

int Fail(const std::string& message) {
  std::fprintf(stderr, "bulwark: %s\n", message.c_str());
  return 1;
}

}  // namespace bulwark::cli
