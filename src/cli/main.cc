// bulwark: one binary, one subcommand per role. See `bulwark --help`.
#include <cstdio>

#include "cli/commands.h"
#include "fmt/format.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  CLI::App app{
      "bulwark: a zero-trust security layer for microservices (workload CA, mTLS sidecars,\n"
      "gateway, policy, monitoring) in one binary. Run 'bulwark <command> --help' for details."};
  app.require_subcommand(1);
  app.fallthrough(false);
  bulwark::cli::Action action;
  CLI::App* version = app.add_subcommand("version", "Print the version and exit");
  version->callback([&action] {
    action = [] {
      std::printf("bulwark %s\n", BULWARK_VERSION);
      return 0;
    };
  });
  bulwark::cli::AddAuthorityCommands(app, action);
  bulwark::cli::AddIdentityCommands(app, action);
  bulwark::cli::AddSidecarCommands(app, action);
  bulwark::cli::AddGatewayCommands(app, action);
  bulwark::cli::AddPolicyCommands(app, action);
  bulwark::cli::AddSandboxCommands(app, action);
  bulwark::cli::AddCheckCommand(app, action);
  bulwark::cli::AddUpCommand(app, action);
  // Logs go to stderr so that stdout carries only a command's answer.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bulwark"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  CLI11_PARSE(app, argc, argv);
  return action ? action() : 0;
}
