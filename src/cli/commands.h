// The bulwark command line: each module's subcommands are added to the one CLI11 app here.
// A subcommand's callback stores the action to run after parsing, so that parsing errors and
// --help never run anything. Single-threaded.
#pragma once

#include <functional>

#include "CLI/CLI.hpp"

namespace bulwark::cli {

// The action chosen on the command line; returns the process exit code.
using Action = std::function<int()>;

// Adds `bulwark authority ...` (init, serve, token, revoke, list, ca).
void AddAuthorityCommands(CLI::App& app, Action& action);
// Adds `bulwark identity ...` (fetch, renew).
void AddIdentityCommands(CLI::App& app, Action& action);

// Prints "bulwark: <message>" to stderr and returns exit code 1.
int Fail(const std::string& message);

}  // namespace bulwark::cli
