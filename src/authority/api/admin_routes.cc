// The admin part of the Router: join tokens, revocation, listings, CA and token-key rotation. Every
// call needs a client certificate with an admin SPIFFE ID (spiffe://<td>/admin/...).
#include "authority/api/internal/responses.h"
#include "authority/api/json_body.h"
#include "authority/api/router.h"
#include "core/units.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace bulwark::authority::api {
namespace {

using internal::ErrorResponse;
using internal::JsonResponse;
using internal::MethodNotAllowed;
using nlohmann::json;

json IssuedJson(const IssuedRecord& r, bool revoked) {
  return {{"serial", r.serial},
          {"spiffe_id", r.spiffe_id},
          {"kind", r.kind},
          {"not_before", core::ToUnixSeconds(r.not_before)},
          {"not_after", core::ToUnixSeconds(r.not_after)},
          {"revoked", revoked}};
}

}  // namespace

http::Response Router::Admin(const http::Request& request, const http::ConnectionInfo& conn) {
  absl::StatusOr<identity::SpiffeId> admin = service_.AuthenticateAdmin(conn.peer_certificate);
  if (!admin.ok()) return ErrorResponse(admin.status());
  std::string_view path = request.Path();
  const std::string& method = request.method;
  if (path == "/v1/admin/join-tokens") {
    return method == "POST" ? CreateJoinToken(request, admin->str()) : MethodNotAllowed("POST");
  }
  if (path == "/v1/admin/revocations") {
    return method == "POST" ? Revoke(request, admin->str()) : MethodNotAllowed("POST");
  }
  if (path == "/v1/admin/svids") {
    return method == "GET" ? ListSvids(request) : MethodNotAllowed("GET");
  }
  if (path == "/v1/admin/audit") {
    return method == "GET" ? ListAudit(request) : MethodNotAllowed("GET");
  }
  if (path == "/v1/admin/apikeys" || path.starts_with("/v1/admin/apikeys/")) {
    return ApiKeys(request, admin->str());
  }
  if (path == "/v1/admin/clients" || path.starts_with("/v1/admin/clients/")) {  // OIDC clients
    return OidcClients(request, admin->str());
  }
  // ---- SSO users
  if (path == "/v1/admin/users" || path.starts_with("/v1/admin/users/")) {
    return Users(request, admin->str());
  }
  if (path == "/v1/admin/sessions" || path.starts_with("/v1/admin/sessions/")) {
    return Sessions(request, admin->str());
  }
  // ---- end of SSO users
  if (path == "/v1/admin/ca/rotate") {
    return method == "POST" ? RotateCa(admin->str()) : MethodNotAllowed("POST");
  }
  if (path == "/v1/admin/keys/rotate") {
    return method == "POST" ? RotateTokenKeys(admin->str()) : MethodNotAllowed("POST");
  }
  return ErrorResponse(absl::NotFoundError("no such admin endpoint; see docs/api.md"));
}

http::Response Router::CreateJoinToken(const http::Request& request, const std::string& admin) {
  auto fields = ParseStringFields(request.body, {{"spiffe_id", true, 2048}, {"ttl", false, 16}});
  if (!fields.ok()) return ErrorResponse(fields.status());
  std::optional<core::Seconds> ttl;
  if (fields->contains("ttl")) {
    absl::StatusOr<core::Seconds> parsed = core::ParseDuration((*fields)["ttl"]);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    ttl = *parsed;
  }
  auto token = service_.CreateJoinToken(admin, (*fields)["spiffe_id"], ttl);
  if (!token.ok()) return ErrorResponse(token.status());
  return JsonResponse(200, {{"join_token", token->token},
                            {"spiffe_id", token->spiffe_id},
                            {"expires_at", core::ToUnixSeconds(token->expires_at)}});
}

http::Response Router::Revoke(const http::Request& request, const std::string& admin) {
  auto fields =
      ParseStringFields(request.body, {{"serial", false, 64}, {"spiffe_id", false, 2048}});
  if (!fields.ok()) return ErrorResponse(fields.status());
  auto revoked = service_.Revoke(admin, (*fields)["serial"], (*fields)["spiffe_id"]);
  if (!revoked.ok()) return ErrorResponse(revoked.status());
  json list = json::array();
  std::int64_t version = feed_.version();
  for (const RevocationRecord& r : *revoked) {
    list.push_back({{"serial", r.serial}, {"spiffe_id", r.spiffe_id}, {"version", r.version}});
    version = std::max(version, r.version);
  }
  feed_.Notify(version);
  return JsonResponse(200, {{"version", version}, {"revoked", list}});
}

http::Response Router::ListSvids(const http::Request& request) {
  bool all = request.QueryParam("all").value_or("false") == "true";
  core::TimePoint now = service_.clock().Now();
  auto issued = service_.store().ListIssued(all ? std::nullopt : std::optional(now));
  if (!issued.ok()) return ErrorResponse(issued.status());
  json list = json::array();
  for (const IssuedRecord& r : *issued) {
    absl::StatusOr<bool> revoked = service_.store().IsRevoked(r.serial);
    if (!revoked.ok()) return ErrorResponse(revoked.status());
    list.push_back(IssuedJson(r, *revoked));
  }
  return JsonResponse(200, {{"svids", list}});
}

http::Response Router::ListAudit(const http::Request& request) {
  absl::StatusOr<std::int64_t> limit = internal::IntParam(request, "limit", 100);
  if (!limit.ok()) {
    return ErrorResponse(limit.status());
  }
  if (*limit == 0) {
    return ErrorResponse(absl::InvalidArgumentError("query parameter 'limit' must be positive"));
  }
  auto entries =
      service_.store().ListAudit(static_cast<std::size_t>(std::min<std::int64_t>(*limit, 100'000)));
  if (!entries.ok()) return ErrorResponse(entries.status());
  json list = json::array();
  for (const AuditEntry& e : *entries) {
    list.push_back({{"id", e.id},
                    {"at", core::ToUnixSeconds(e.at)},
                    {"actor", e.actor},
                    {"action", e.action},
                    {"subject", e.subject},
                    {"detail", e.detail}});
  }
  return JsonResponse(200, {{"entries", list}});
}

http::Response Router::RotateCa(const std::string& admin) {
  absl::StatusOr<bool> rotated = service_.ca().Rotate(/*force=*/true, admin);
  if (!rotated.ok()) return ErrorResponse(rotated.status());
  crypto::Certificate active = service_.ca().ActiveSigningCa();
  return JsonResponse(200, {{"rotated", *rotated},
                            {"active_serial", active.SerialHex()},
                            {"active_not_after", core::ToUnixSeconds(active.NotAfter())}});
}

}  // namespace bulwark::authority::api
