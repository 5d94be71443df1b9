// POST /v1/txn-keys (docs/api.md#delegated-transaction-token-keys): the gateway, authenticated by
// its SVID over mTLS, registers the public half of a key it generated to mint transaction tokens
// locally; the authority publishes it in the JWKS, delegated to the gateway, for a lifetime it
// decides.
#include "authority/api/internal/responses.h"
#include "authority/api/router.h"
#include "core/strict_json.h"
#include "core/units.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace bulwark::authority::api {
namespace {

using internal::ErrorResponse;
using internal::JsonResponse;
using nlohmann::json;

constexpr std::size_t kMaxBodyBytes = 4096;

// Returns the "jwk" member of the request body {"jwk": {...}}; InvalidArgument otherwise.
absl::StatusOr<json> JwkOfBody(std::string_view body) {
  if (body.size() > kMaxBodyBytes) {
    return absl::InvalidArgumentError(
        fmt::format("the body is {} bytes, over the limit of {}", body.size(), kMaxBodyBytes));
  }
  absl::StatusOr<json> doc = core::ParseStrictJson(body, 4);
  if (!doc.ok() || !doc->is_object() || doc->size() != 1 || !doc->contains("jwk")) {
    return absl::InvalidArgumentError(
        "the body must be a JSON object whose only member is \"jwk\", the public key");
  }
  return (*doc)["jwk"];
}

}  // namespace

http::Response Router::RegisterTxnKey(const http::Request& request,
                                      const http::ConnectionInfo& conn) {
  if (!conn.peer_certificate) {
    return ErrorResponse(absl::UnauthenticatedError(
        "registering a transaction-token key needs the gateway's SVID as TLS client certificate"));
  }
  absl::StatusOr<identity::SpiffeId> caller = service_.AuthenticatePeer(*conn.peer_certificate);
  if (!caller.ok()) {
    return ErrorResponse(caller.status());
  }
  if (caller->path() != oauth::kGatewayPath) {
    spdlog::warn("refused a transaction-token key from {}: only the gateway may register one",
                 caller->str());
    return ErrorResponse(absl::PermissionDeniedError(fmt::format(
        "only the gateway ({}{}) may register transaction-token keys, not {}",
        identity::TrustDomainId(caller->trust_domain()), oauth::kGatewayPath, caller->str())));
  }
  absl::StatusOr<json> jwk = JwkOfBody(request.body);
  if (!jwk.ok()) {
    return ErrorResponse(jwk.status());
  }
  absl::StatusOr<oauth::DelegatedKeyGrant> grant = oauth_.keys().RegisterDelegated(*caller, *jwk);
  if (!grant.ok()) {
    return ErrorResponse(grant.status());
  }
  spdlog::info("delegated transaction-token key {} registered by {} until {}", grant->kid,
               caller->str(), core::ToUnixSeconds(grant->expires_at));
  return JsonResponse(201, {{"kid", grant->kid},
                            {"signs_from", core::ToUnixSeconds(grant->signs_from)},
                            {"expires_at", core::ToUnixSeconds(grant->expires_at)}});
}

}  // namespace bulwark::authority::api
