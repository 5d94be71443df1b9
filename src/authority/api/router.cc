#include "authority/api/router.h"

#include "authority/api/internal/responses.h"
#include "authority/api/json_body.h"
#include "core/status.h"
#include "core/units.h"
#include "crypto/bytes.h"
#include "crypto/csr.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace bulwark::authority::api {
namespace {

using internal::ChainPem;
using internal::ErrorResponse;
using internal::IntParam;
using internal::JsonResponse;
using internal::MethodNotAllowed;
using nlohmann::json;

json SvidJson(const IssuedSvid& issued, const std::vector<crypto::Certificate>& roots) {
  return {{"spiffe_id", issued.svid.spiffe_id},
          {"serial", issued.serial},
          {"expires_at", core::ToUnixSeconds(issued.not_after)},
          {"svid_pem", ChainPem(issued.svid.chain)},
          {"bundle_pem", ChainPem(roots)}};
}

json RevocationJson(const RevocationRecord& r) {
  return {{"version", r.version},
          {"serial", r.serial},
          {"spiffe_id", r.spiffe_id},
          {"revoked_at", core::ToUnixSeconds(r.revoked_at)},
          {"not_after", core::ToUnixSeconds(r.not_after)}};
}

// Returns the service named by a workload SVID's ID (spiffe://<td>/svc/<name>), else "".
std::string_view ServiceOf(const identity::SpiffeId& id) {
  std::string_view path = id.path();
  if (!path.starts_with("/svc/") || path.find('/', 5) != std::string_view::npos) {
    return "";
  }
  return path.substr(5);
}

}  // namespace

absl::StatusOr<std::chrono::seconds> WaitParam(const http::Request& request) {
  std::optional<std::string> text = request.QueryParam("wait");
  if (!text.has_value()) {
    return std::chrono::seconds(0);
  }
  BULWARK_ASSIGN_OR_RETURN(core::Seconds parsed, core::ParseDuration(*text));
  return std::min<std::chrono::seconds>(parsed, kMaxLongPoll);
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    default:
      return 500;
  }
}

asio::awaitable<http::Response> Router::Handle(http::Request request,
                                               const http::ConnectionInfo& conn) {
  std::string_view path = request.Path();
  const std::string& method = request.method;
  http::Response response;
  if (path == "/healthz") {
    response = JsonResponse(200, {{"status", "ok"}});
  } else if (path == "/v1/svids") {
    response = method == "POST" ? IssueSvid(request) : MethodNotAllowed("POST");
  } else if (path == "/v1/svids/renew") {
    response = method == "POST" ? RenewSvid(request, conn) : MethodNotAllowed("POST");
  } else if (path == "/v1/bundle" || path == "/v1/bundle/jwks") {
    response = method == "GET" ? Bundle(path.ends_with("jwks")) : MethodNotAllowed("GET");
  } else if (path == "/v1/revocations") {
    if (method == "GET") {
      response = co_await Revocations(request, conn);
    } else {
      response = MethodNotAllowed("GET");
    }
  } else if (path == "/v1/policy") {
    if (method == "GET") {
      response = co_await Policy(request, conn);
    } else {
      response = MethodNotAllowed("GET");
    }
  } else if (path == "/v1/apikeys/feed") {
    if (method == "GET") {
      response = co_await ApiKeyFeed(request, conn);
    } else {
      response = MethodNotAllowed("GET");
    }
  } else if (path == "/v1/txn-keys") {
    response = method == "POST" ? RegisterTxnKey(request, conn) : MethodNotAllowed("POST");
  } else if (path == "/v1/gateway/certificate") {
    response = method == "POST" ? IssueGatewayCertificate(request, conn) : MethodNotAllowed("POST");
  } else if (path.starts_with("/v1/admin/")) {
    response = Admin(request, conn);
  } else if (std::optional<http::Response> oidc = Oidc(request)) {  // OpenID Connect provider
    response = *std::move(oidc);
  } else if (std::optional<http::Response> oauth = OAuth(request, conn)) {
    response = *std::move(oauth);
  } else {
    std::optional<http::Response> page;
    if (login_ != nullptr) {
      page = co_await login_->Handle(request, conn);  // the login pages
    }
    response =
        page ? *std::move(page)
             : JsonResponse(404, {{"error", "not_found"},
                                  {"error_description", "no such endpoint; see docs/api.md"}});
  }
  spdlog::info("{} {} -> {}", method, path, response.status);
  co_return response;
}

http::Response Router::IssueSvid(const http::Request& request) {
  auto fields = ParseStringFields(request.body, {{"join_token", true, 128},
                                                 {"csr", true, crypto::kMaxCsrPemBytes},
                                                 {"spiffe_id", false, 2048}});
  if (!fields.ok()) return ErrorResponse(fields.status());
  auto issued = service_.IssueWithJoinToken((*fields)["join_token"], (*fields)["csr"],
                                            (*fields)["spiffe_id"]);
  if (!issued.ok()) return ErrorResponse(issued.status());
  return JsonResponse(200, SvidJson(*issued, service_.ca().Roots()));
}

http::Response Router::RenewSvid(const http::Request& request, const http::ConnectionInfo& conn) {
  if (!conn.peer_certificate) {
    return ErrorResponse(
        absl::UnauthenticatedError("renewal needs the current SVID as the TLS client certificate"));
  }
  auto fields = ParseStringFields(request.body, {{"csr", true, crypto::kMaxCsrPemBytes}});
  if (!fields.ok()) return ErrorResponse(fields.status());
  auto issued = service_.Renew(*conn.peer_certificate, (*fields)["csr"]);
  if (!issued.ok()) return ErrorResponse(issued.status());
  return JsonResponse(200, SvidJson(*issued, service_.ca().Roots()));
}

http::Response Router::Bundle(bool jwks) {
  std::vector<crypto::Certificate> roots = service_.ca().Roots();
  if (!jwks) {
    http::Response response;
    response.headers.Add("Content-Type", "application/x-pem-file");
    response.headers.Add("Cache-Control", "max-age=300");
    response.body = ChainPem(roots);
    return response;
  }
  json keys = json::array();
  for (const crypto::Certificate& root : roots) {
    absl::StatusOr<crypto::PublicKey> key = root.SubjectPublicKey();
    crypto::Bytes x, y;
    if (!key.ok() || !key->P256Coordinates(x, y).ok()) continue;
    keys.push_back({{"kty", "EC"},
                    {"crv", "P-256"},
                    {"x", crypto::Base64UrlEncode(x)},
                    {"y", crypto::Base64UrlEncode(y)},
                    {"use", "x509-svid"},
                    {"x5c", {crypto::Base64Encode(root.ToDer())}}});
  }
  http::Response response =
      JsonResponse(200, {{"keys", keys}, {"spiffe_sequence", 1}, {"spiffe_refresh_hint", 300}});
  response.headers.Set("Cache-Control", "max-age=300");
  return response;
}

asio::awaitable<http::Response> Router::Revocations(const http::Request& request,
                                                    const http::ConnectionInfo& conn) {
  if (!conn.peer_certificate) {
    co_return ErrorResponse(absl::UnauthenticatedError(
        "the revocation list is served to workloads: present an SVID as client certificate"));
  }
  if (auto id = service_.AuthenticatePeer(*conn.peer_certificate); !id.ok()) {
    co_return ErrorResponse(id.status());
  }
  auto since = IntParam(request, "since", 0);
  if (!since.ok()) co_return ErrorResponse(since.status());
  auto wait = WaitParam(request);
  if (!wait.ok()) co_return ErrorResponse(wait.status());
  if (wait->count() > 0) co_await feed_.WaitBeyond(*since, *wait);
  auto entries = service_.store().RevocationsSince(*since);
  if (!entries.ok()) co_return ErrorResponse(entries.status());
  json list = json::array();
  std::int64_t version = *since;
  for (const RevocationRecord& r : *entries) {
    list.push_back(RevocationJson(r));
    version = std::max(version, r.version);
  }
  // The version is the newest entry returned, so a client that passes it back as ?since= can
  // never skip an entry that committed while this response was being built.
  co_return JsonResponse(200, {{"version", version}, {"revocations", list}});
}

asio::awaitable<http::Response> Router::Policy(const http::Request& request,
                                               const http::ConnectionInfo& conn) {
  if (!conn.peer_certificate) {
    co_return ErrorResponse(absl::UnauthenticatedError(
        "the policy is served to workloads: present an SVID as client certificate"));
  }
  auto id = service_.AuthenticatePeer(*conn.peer_certificate);
  if (!id.ok()) co_return ErrorResponse(id.status());
  if (policy_ == nullptr) {
    co_return ErrorResponse(absl::NotFoundError(
        "this authority distributes no policy: start it with --config mesh.yaml"));
  }
  std::string service(ServiceOf(*id));
  if (service.empty() || !policy_->Current()->rules.contains(service)) {
    co_return ErrorResponse(absl::PermissionDeniedError(
        fmt::format("{} is not a service of the mesh; only services get a policy", id->str())));
  }
  auto after = IntParam(request, "after", 0);
  if (!after.ok()) co_return ErrorResponse(after.status());
  auto wait = WaitParam(request);
  if (!wait.ok()) co_return ErrorResponse(wait.status());
  // Answer at once unless the caller already holds the current version (a caller ahead of us
  // saw the version of an earlier run: it gets the current one at once too).
  if (wait->count() > 0 && policy_->Current()->version == *after) {
    co_await policy_->feed().WaitBeyond(*after, *wait);
  }
  std::shared_ptr<const PolicySnapshot> snapshot = policy_->Current();
  auto rules = snapshot->rules.find(service);
  if (rules == snapshot->rules.end()) {  // removed from the file while we waited
    co_return ErrorResponse(absl::PermissionDeniedError(
        fmt::format("{} is no longer a service of the mesh", id->str())));
  }
  // Only this service's rules: a workload learns nothing about who may call the others.
  co_return JsonResponse(
      200, {{"version", snapshot->version}, {"service", service}, {"allow", rules->second}});
}

}  // namespace bulwark::authority::api
