// `bulwark authority user ...` and `bulwark authority session ...`: the SSO users and their login
// sessions, through the running authority's admin API (docs/sso.md#users).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/admin_session.h"
#include "cli/commands.h"
#include "fmt/format.h"

namespace bulwark::cli {
namespace {

struct Target {
  std::string& data_dir;
  std::string& authority_url;
};

void AddTargetFlags(CLI::App& cmd, const Target& target) {
  AddAdminTargetFlags(cmd, target.data_dir, target.authority_url);
}

// Adds `user <verb> NAME` that calls `method` on /v1/admin/users/NAME`suffix`.
void AddUserVerb(CLI::App& user, const Target& target, Action& action, const char* verb,
                 const char* help, const char* method, const char* suffix) {
  CLI::App* cmd = user.add_subcommand(verb, help);
  auto name = std::make_shared<std::string>();
  cmd->add_option("name", *name, "The user's name")->required();
  AddTargetFlags(*cmd, target);
  cmd->callback([target, &action, name, method, suffix] {
    action = [target, name, method, suffix] {
      return AdminCall(target.data_dir, target.authority_url, method,
                       fmt::format("/v1/admin/users/{}{}", *name, suffix), nullptr);
    };
  });
}

void AddUserAdd(CLI::App& user, const Target& target, Action& action) {
  CLI::App* add = user.add_subcommand(
      "add", "Add a user and print a one-time enrolment link (shown once, stored as a hash)");
  auto name = std::make_shared<std::string>();
  auto email = std::make_shared<std::string>();
  add->add_option("name", *name, "The user name: 1-64 of a-z 0-9 . _ - (never reused)")->required();
  add->add_option("--email", *email, "The user's email address");
  AddTargetFlags(*add, target);
  add->footer(
      "Example:\n  bulwark authority user add alice --email alice@example.org\n"
      "Prints the enrolment link once on stdout; it works once, for 24 hours. The user opens it\n"
      "to set a password and enrol an authenticator app. See docs/sso.md#users.");
  add->callback([target, &action, name, email] {
    action = [target, name, email] {
      nlohmann::json body = {{"name", *name}};
      if (!email->empty()) {
        body["email"] = *email;
      }
      absl::StatusOr<nlohmann::json> answer =
          AdminRequest(target.data_dir, target.authority_url, "POST", "/v1/admin/users", body);
      if (!answer.ok()) {
        return Fail(std::string(answer.status().message()));
      }
      std::string link = answer->value("enrol_link", "");
      if (link.empty()) {
        return Fail("the authority's answer carries no enrol_link");
      }
      std::printf("%s\n", link.c_str());
      std::fprintf(stderr,
                   "user %s added; the enrolment link above is shown once and expires at %lld\n",
                   name->c_str(), static_cast<long long>(answer->value("expires_at", 0LL)));
      return 0;
    };
  });
}

void AddSessionCommands(CLI::App& authority, const Target& target, Action& action) {
  CLI::App* session = authority.add_subcommand("session", "List and revoke login sessions");
  session->require_subcommand(1);
  CLI::App* list = session->add_subcommand(
      "list", "List the open login sessions, each with the clients holding grants from it");
  AddTargetFlags(*list, target);
  list->callback([target, &action] {
    action = [target] {
      return AdminCall(target.data_dir, target.authority_url, "GET", "/v1/admin/sessions", nullptr);
    };
  });
  CLI::App* revoke = session->add_subcommand(
      "revoke",
      "End one login session (by the id session list shows) or every one of a user; the refresh "
      "tokens issued under it stop working");
  auto id = std::make_shared<std::string>();
  auto user = std::make_shared<std::string>();
  auto* by_id = revoke->add_option("id", *id, "The session's id");
  revoke->add_option("--user", *user, "End every open session of this user")->excludes(by_id);
  AddTargetFlags(*revoke, target);
  revoke->footer(
      "Examples:\n  bulwark authority session revoke 3q2-7w...\n"
      "  bulwark authority session revoke --user alice");
  revoke->callback([target, &action, id, user] {
    action = [target, id, user] {
      if (id->empty() == user->empty()) {
        return Fail("give a session id or --user NAME");
      }
      std::string path = id->empty() ? fmt::format("/v1/admin/sessions?user={}", *user)
                                     : fmt::format("/v1/admin/sessions/{}", *id);
      return AdminCall(target.data_dir, target.authority_url, "DELETE", path, nullptr);
    };
  });
}

}  // namespace

void AddUserCommands(CLI::App& authority, std::string& data_dir, std::string& authority_url,
                     Action& action) {
  Target target{data_dir, authority_url};
  CLI::App* user = authority.add_subcommand("user", "Manage the single sign-on users");
  user->require_subcommand(1);
  AddUserAdd(*user, target, action);
  CLI::App* list = user->add_subcommand("list", "List users (deleted ones as tombstones)");
  AddTargetFlags(*list, target);
  list->callback([target, &action] {
    action = [target] {
      return AdminCall(target.data_dir, target.authority_url, "GET", "/v1/admin/users", nullptr);
    };
  });
  AddUserVerb(*user, target, action, "disable",
              "Disable a user: no sign-in; its login sessions and their refresh tokens end", "POST",
              "/disable");
  AddUserVerb(*user, target, action, "enable", "Enable a disabled user again", "POST", "/enable");
  AddUserVerb(*user, target, action, "delete",
              "Delete a user (kept as a tombstone: the name is never reused); sessions and their "
              "refresh tokens end",
              "DELETE", "");
  AddSessionCommands(authority, target, action);
}

}  // namespace bulwark::cli
