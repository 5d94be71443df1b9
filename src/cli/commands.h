// The bulwark command line: each module's subcommands are added to the one CLI11 app here.
// A subcommand's callback stores the action to run after parsing, so that parsing errors and
// --help never run anything. Single-threaded.
#pragma once

#include <functional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "mesh/config.h"

namespace bulwark::cli {

// The action chosen on the command line; returns the process exit code.
using Action = std::function<int()>;

// Adds `bulwark authority ...` (init, serve, token, revoke, list, ca).
void AddAuthorityCommands(CLI::App& app, Action& action);
// Adds `bulwark authority user ...` (add, list, disable, enable, delete) and `bulwark authority
// session ...` (list, revoke) to `authority`; `data_dir` and `authority_url` are the authority's
// shared flags (user_commands.cc).
void AddUserCommands(CLI::App& authority, std::string& data_dir, std::string& authority_url,
                     Action& action);
// Adds --data-dir and --authority (which authority an admin command calls) to `cmd`.
void AddAdminTargetFlags(CLI::App& cmd, std::string& data_dir, std::string& authority_url);
// Adds `bulwark identity ...` (fetch, renew).
void AddIdentityCommands(CLI::App& app, Action& action);

// Adds `bulwark sidecar` (the per-service mTLS proxy).
void AddSidecarCommands(CLI::App& app, Action& action);
// Adds `bulwark gateway` (the public entry point).
void AddGatewayCommands(CLI::App& app, Action& action);
// Adds `bulwark policy ...` (check, explain).
void AddPolicyCommands(CLI::App& app, Action& action);
// Adds `bulwark sandbox run` (a debugging tool: one command in the service sandbox).
void AddSandboxCommands(CLI::App& app, Action& action);
// Adds `bulwark check mesh.yaml`.
void AddCheckCommand(CLI::App& app, Action& action);
// Checks mesh.yaml `file` (parse, policies, named files); prints a summary; returns the exit code.
int RunMeshCheck(const std::string& file);
// Returns mesh.yaml `file` parsed, once it passed every check of `bulwark check`; the error of
// the first that failed otherwise.
absl::StatusOr<mesh::MeshConfig> CheckMesh(const std::string& file);
// Adds `bulwark up [mesh.yaml]`.
void AddUpCommand(CLI::App& app, Action& action);

// Reads a join token from inherited descriptor `fd` (when >= 0, then closed) or from `file`
// (which must be mode 0600); never from argv or the environment. Trailing whitespace is dropped.
// Errors: neither given, unreadable, empty.
absl::StatusOr<std::string> ReadJoinToken(const std::string& file, int fd);

// Prints "bulwark: <message>" to stderr and returns exit code 1.
int Fail(const std::string& message);

}  // namespace bulwark::cli
