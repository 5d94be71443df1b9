// SSO users and login sessions for the admin (docs/api.md#users-and-login-sessions): add a user
// (its enrolment link is answered once), list, disable, enable, delete; list open login sessions
// and revoke one, or every session of a user. Admin over mTLS (Router::Admin); audited.
#include "authority/api/internal/responses.h"
#include "authority/api/json_body.h"
#include "authority/api/router.h"
#include "authority/sso/login_pages.h"
#include "core/units.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace bulwark::authority::api {
namespace {

using internal::ErrorResponse;
using internal::JsonResponse;
using internal::MethodNotAllowed;
using nlohmann::json;

constexpr std::string_view kUsersPath = "/v1/admin/users";
constexpr std::string_view kSessionsPath = "/v1/admin/sessions";

json UserJson(const UserRecord& u) {
  return {{"name", u.name},
          {"email", u.email},
          {"enrolled", !u.password_hash.empty()},
          {"disabled", u.disabled},
          {"created_at", core::ToUnixSeconds(u.created_at)},
          {"deleted_at", u.deleted_at ? json(core::ToUnixSeconds(*u.deleted_at)) : json(nullptr)}};
}

// A session with the clients holding grants from it (`grants`: that session's entries).
json SessionJson(const LoginSessionRecord& s, const std::vector<SessionGrantRecord>& grants) {
  std::string id = LoginSessionId(s.hash);
  json clients = json::array();
  for (const SessionGrantRecord& g : grants) {
    if (g.login_session != id) {
      continue;
    }
    clients.push_back(
        {{"client_id", g.client_id},
         {"created_at", core::ToUnixSeconds(g.created_at)},
         {"refreshed_at", g.refreshed_at ? json(core::ToUnixSeconds(*g.refreshed_at)) : json()}});
  }
  return {{"id", id},
          {"user", s.user},
          {"amr", s.amr},
          {"auth_time", core::ToUnixSeconds(s.auth_time)},
          {"expires_at", core::ToUnixSeconds(s.expires_at)},
          {"clients", clients}};
}

}  // namespace

http::Response Router::Users(const http::Request& request, const std::string& admin) {
  if (login_ == nullptr) {
    return ErrorResponse(absl::NotFoundError("this authority serves no login pages"));
  }
  UserDirectory& users = login_->users();
  std::string_view path = request.Path();
  if (path == kUsersPath) {
    if (request.method == "GET") {
      auto all = users.store().ListUsers();
      if (!all.ok()) return ErrorResponse(all.status());
      json list = json::array();
      for (const UserRecord& u : *all) list.push_back(UserJson(u));
      return JsonResponse(200, {{"users", list}});
    }
    if (request.method != "POST") return MethodNotAllowed("GET, POST");
    auto fields = ParseStringFields(request.body, {{"name", true, 64}, {"email", false, 254}});
    if (!fields.ok()) return ErrorResponse(fields.status());
    auto added = users.Add(admin, (*fields)["name"], (*fields)["email"]);
    if (!added.ok()) return ErrorResponse(added.status());
    spdlog::info("user {} added by {}", added->user.name, admin);
    return JsonResponse(201, {{"name", added->user.name},
                              {"enrol_link", added->enrol_link},
                              {"expires_at", core::ToUnixSeconds(added->expires_at)}});
  }
  // /v1/admin/users/<name> (DELETE) or /v1/admin/users/<name>/{disable,enable} (POST)
  std::string_view rest = path.substr(kUsersPath.size() + 1);
  std::size_t slash = rest.find('/');
  std::string name(rest.substr(0, slash));
  std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  absl::Status done;
  if (action.empty()) {
    if (request.method != "DELETE") return MethodNotAllowed("DELETE");
    done = users.Delete(admin, name);
  } else if (action == "disable" || action == "enable") {
    if (request.method != "POST") return MethodNotAllowed("POST");
    done = users.SetDisabled(admin, name, action == "disable");
  } else {
    return ErrorResponse(absl::NotFoundError(
        "use DELETE /v1/admin/users/<name> or POST /v1/admin/users/<name>/disable|enable"));
  }
  if (!done.ok()) return ErrorResponse(done);
  spdlog::info("user {}: {} by {}", name, action.empty() ? "delete" : action, admin);
  return JsonResponse(200, {{"name", name}, {"done", action.empty() ? "delete" : action}});
}

http::Response Router::Sessions(const http::Request& request, const std::string& admin) {
  std::string_view path = request.Path();
  core::TimePoint now = service_.clock().Now();
  Store& store = service_.store();
  if (path == kSessionsPath && request.method == "GET") {
    auto open = store.ListLoginSessions(now);
    if (!open.ok()) return ErrorResponse(open.status());
    auto grants = store.ListSessionGrants(now);
    if (!grants.ok()) return ErrorResponse(grants.status());
    json list = json::array();
    for (const LoginSessionRecord& s : *open) list.push_back(SessionJson(s, *grants));
    return JsonResponse(200, {{"sessions", list}});
  }
  if (request.method != "DELETE")
    return MethodNotAllowed(path == kSessionsPath ? "GET, DELETE" : "DELETE");
  crypto::Bytes hash;
  std::string user;
  if (path == kSessionsPath) {
    user = request.QueryParam("user").value_or("");
    if (user.empty()) {
      return ErrorResponse(absl::InvalidArgumentError(
          "DELETE /v1/admin/sessions/<id>, or /v1/admin/sessions?user=<name> for all of a user's"));
    }
  } else {
    absl::StatusOr<crypto::Bytes> id =
        crypto::Base64UrlDecode(path.substr(kSessionsPath.size() + 1));
    if (!id.ok() || id->size() != 32) {
      return ErrorResponse(absl::InvalidArgumentError("a session id is 43 base64url characters"));
    }
    hash = *std::move(id);
  }
  std::string subject = user.empty() ? LoginSessionId(hash) : user;
  auto ended =
      store.EndLoginSessions(hash, user, now, {0, now, admin, "session.revoke", subject, ""});
  if (!ended.ok()) return ErrorResponse(ended.status());
  if (*ended == 0) {
    return ErrorResponse(absl::NotFoundError(fmt::format("no open login session of {}", subject)));
  }
  spdlog::info("{} login session(s) of {} revoked by {}", *ended, subject, admin);
  return JsonResponse(200, {{"revoked", *ended}});
}

}  // namespace bulwark::authority::api
