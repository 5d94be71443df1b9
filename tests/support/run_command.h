// Runs a command (argv, no shell) for tests, feeding stdin and capturing stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace bulwark::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not be started or was killed
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) with `input` on its standard input and waits for it.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "");

}  // namespace bulwark::testing
