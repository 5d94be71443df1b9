// Gateway API keys (docs/api.md#api-keys): the admin creates (the key is answered once and
// stored only as its SHA-256), lists and revokes them; the gateway follows the live keys' hashes
// by long-poll on GET /v1/apikeys/feed, woken on every change.
#include <algorithm>

#include "authority/api/internal/responses.h"
#include "authority/api/json_body.h"
#include "authority/api/router.h"
#include "core/status.h"
#include "core/units.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "tokens/api_key.h"
#include "tokens/scope.h"

namespace bulwark::authority::api {
namespace {

using internal::ErrorResponse;
using internal::JsonResponse;
using internal::MethodNotAllowed;
using nlohmann::json;

constexpr std::string_view kAdminPath = "/v1/admin/apikeys";

// Client names become the `sub` of transaction tokens: keep them plain.
absl::Status CheckClientName(std::string_view client) {
  bool plain = std::all_of(client.begin(), client.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '@' || c == ':';
  });
  if (client.empty() || !plain) {
    return absl::InvalidArgumentError(
        "field 'client' must be 1 to 128 characters of A-Z a-z 0-9 - _ . @ :");
  }
  return absl::OkStatus();
}

json ApiKeyJson(const ApiKeyRecord& k) {
  return {{"id", k.id},
          {"client", k.client},
          {"scopes", k.scopes},
          {"created_at", core::ToUnixSeconds(k.created_at)},
          {"revoked_at", k.revoked_at ? json(core::ToUnixSeconds(*k.revoked_at)) : json(nullptr)}};
}

}  // namespace

json ApiKeyFeedJson(std::int64_t version, const std::vector<ApiKeyRecord>& keys) {
  json list = json::array();
  for (const ApiKeyRecord& k : keys) {
    if (k.revoked_at.has_value()) {
      continue;
    }
    list.push_back({{"id", k.id},
                    {"hash", crypto::Base64UrlEncode(k.hash)},
                    {"client", k.client},
                    {"scopes", k.scopes}});
  }
  return {{"version", version}, {"keys", list}};
}

http::Response Router::ApiKeys(const http::Request& request, const std::string& admin) {
  std::string_view path = request.Path();
  if (path == kAdminPath) {
    if (request.method == "POST") {
      return CreateApiKey(request, admin);
    }
    if (request.method != "GET") {
      return MethodNotAllowed("GET, POST");
    }
    auto keys = service_.store().ListApiKeys();
    if (!keys.ok()) return ErrorResponse(keys.status());
    json list = json::array();
    for (const ApiKeyRecord& k : *keys) {
      list.push_back(ApiKeyJson(k));
    }
    return JsonResponse(200, {{"apikeys", list}});
  }
  std::string id(path.substr(kAdminPath.size() + 1));  // after "/v1/admin/apikeys/"
  if (request.method != "DELETE") {
    return MethodNotAllowed("DELETE");
  }
  if (id.empty() || id.size() > 64 || id.find('/') != std::string::npos) {
    return ErrorResponse(absl::InvalidArgumentError("DELETE /v1/admin/apikeys/<id>"));
  }
  core::TimePoint now = service_.clock().Now();
  AuditEntry audit{0, now, admin, "apikey.revoke", id, ""};
  if (absl::Status s = service_.store().RevokeApiKey(id, now, audit); !s.ok()) {
    return ErrorResponse(s);
  }
  apikeys_.Notify(++apikey_version_);
  spdlog::info("API key {} revoked by {}", id, admin);
  return JsonResponse(200, {{"id", id}, {"revoked", true}});
}

http::Response Router::CreateApiKey(const http::Request& request, const std::string& admin) {
  auto fields = ParseStringFields(request.body, {{"client", true, 128}, {"scopes", false, 2048}});
  if (!fields.ok()) return ErrorResponse(fields.status());
  const std::string& client = (*fields)["client"];
  if (absl::Status s = CheckClientName(client); !s.ok()) return ErrorResponse(s);
  std::vector<std::string> scopes;
  if (!(*fields)["scopes"].empty()) {
    absl::StatusOr<std::vector<std::string>> parsed = tokens::ParseScope((*fields)["scopes"]);
    if (!parsed.ok()) {
      return ErrorResponse(
          absl::InvalidArgumentError(fmt::format("field 'scopes': {}", parsed.status().message())));
    }
    scopes = *std::move(parsed);
  }
  tokens::NewApiKey key = tokens::MakeApiKey();
  core::TimePoint now = service_.clock().Now();
  ApiKeyRecord record{key.id, key.hash, client, scopes, now, std::nullopt};
  AuditEntry audit{0,      now,
                   admin,  "apikey.create",
                   key.id, fmt::format("client {} scopes '{}'", client, tokens::JoinScope(scopes))};
  if (absl::Status s = service_.store().CreateApiKey(record, audit); !s.ok()) {
    return ErrorResponse(s);
  }
  apikeys_.Notify(++apikey_version_);
  spdlog::info("API key {} created for client {} by {}", key.id, client, admin);
  return JsonResponse(201,
                      {{"id", key.id}, {"key", key.key}, {"client", client}, {"scopes", scopes}});
}

asio::awaitable<http::Response> Router::ApiKeyFeed(const http::Request& request,
                                                   const http::ConnectionInfo& conn) {
  if (!conn.peer_certificate) {
    co_return ErrorResponse(absl::UnauthenticatedError(
        "the API key feed is served to the gateway: present its SVID as client certificate"));
  }
  auto caller = service_.AuthenticatePeer(*conn.peer_certificate);
  if (!caller.ok()) co_return ErrorResponse(caller.status());
  if (caller->path() != oauth::kGatewayPath) {
    co_return ErrorResponse(absl::PermissionDeniedError(
        fmt::format("only the gateway may read the API key feed, not {}", caller->str())));
  }
  auto after = internal::IntParam(request, "after", 0);
  if (!after.ok()) co_return ErrorResponse(after.status());
  auto wait = WaitParam(request);
  if (!wait.ok()) co_return ErrorResponse(wait.status());
  if (wait->count() > 0 && apikeys_.version() == *after) {
    co_await apikeys_.WaitBeyond(*after, *wait);
  }
  // The version is read before the keys: a change committed in between is answered now and
  // again on the next poll, never missed.
  std::int64_t version = apikeys_.version();
  auto keys = service_.store().ListApiKeys();
  if (!keys.ok()) co_return ErrorResponse(keys.status());
  co_return JsonResponse(200, ApiKeyFeedJson(version, *keys));
}

}  // namespace bulwark::authority::api
