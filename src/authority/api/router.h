// The authority's HTTPS JSON API (documented in docs/api.md): maps each request to an
// AuthorityService call and its result or Status to a response. Thread-safe; one Router serves
// every connection.
#pragma once

#include <atomic>
#include <chrono>

#include "asio/awaitable.hpp"
#include "authority/api/policy_feed.h"
#include "authority/api/revocation_feed.h"
#include "authority/oauth/oauth_service.h"
#include "authority/service.h"
#include "authority/sso/login_pages.h"
#include "http/message.h"
#include "http/server.h"

namespace bulwark::authority::api {

// Longest long-poll a client may ask for with ?wait=.
inline constexpr std::chrono::seconds kMaxLongPoll{60};

class Router {
 public:
  // `policy` (may be null: no policy is distributed) serves GET /v1/policy; `login` (may be
  // null: no users) serves the login pages and the admin's users and sessions.
  Router(AuthorityService& service, RevocationFeed& feed, oauth::OAuthService& oauth,
         PolicyFeed* policy = nullptr, LoginPages* login = nullptr)
      : service_(service),
        feed_(feed),
        oauth_(oauth),
        policy_(policy),
        login_(login),
        // Versions start at the start time in milliseconds so that they keep increasing across
        // restarts (a gateway holding an older run's version is answered at once).
        apikey_version_(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count()),
        apikeys_(apikey_version_.load()) {}

  // Answers one request. Never throws; internal errors become a 500 without details (they are
  // logged instead).
  asio::awaitable<http::Response> Handle(http::Request request, const http::ConnectionInfo& conn);

 private:
  http::Response IssueSvid(const http::Request& request);
  http::Response RenewSvid(const http::Request& request, const http::ConnectionInfo& conn);
  http::Response Bundle(bool jwks);
  asio::awaitable<http::Response> Revocations(const http::Request& request,
                                              const http::ConnectionInfo& conn);
  asio::awaitable<http::Response> Policy(const http::Request& request,
                                         const http::ConnectionInfo& conn);
  http::Response CreateJoinToken(const http::Request& request, const std::string& admin);
  http::Response Revoke(const http::Request& request, const std::string& admin);
  http::Response ListSvids(const http::Request& request);
  http::Response ListAudit(const http::Request& request);
  http::Response RotateCa(const std::string& admin);
  http::Response RotateTokenKeys(const std::string& admin);
  http::Response Admin(const http::Request& request, const http::ConnectionInfo& conn);
  // /v1/admin/apikeys[/<id>] and GET /v1/apikeys/feed (apikey_routes.cc).
  http::Response ApiKeys(const http::Request& request, const std::string& admin);
  http::Response CreateApiKey(const http::Request& request, const std::string& admin);
  asio::awaitable<http::Response> ApiKeyFeed(const http::Request& request,
                                             const http::ConnectionInfo& conn);
  // POST /v1/txn-keys: the gateway registers a delegated transaction-token key
  // (txn_key_routes.cc).
  http::Response RegisterTxnKey(const http::Request& request, const http::ConnectionInfo& conn);
  // POST /v1/gateway/certificate: the gateway's public TLS certificate (gateway_cert_routes.cc).
  http::Response IssueGatewayCertificate(const http::Request& request,
                                         const http::ConnectionInfo& conn);
  // ---- SSO users: /v1/admin/users[/<name>[/disable|enable]] and
  // /v1/admin/sessions[/<id>] (user_routes.cc).
  http::Response Users(const http::Request& request, const std::string& admin);
  http::Response Sessions(const http::Request& request, const std::string& admin);
  // ---- end of SSO users
  // ---- OpenID Connect provider (oidc_routes.cc) ----
  // Answers /oauth2/authorize, /oauth2/userinfo and /oauth2/logout; nullopt for any other path.
  std::optional<http::Response> Oidc(const http::Request& request);
  http::Response OidcAuthorize(const http::Request& request);
  http::Response OidcUserInfo(const http::Request& request);
  http::Response OidcLogout(const http::Request& request);
  // /v1/admin/clients[/<id>]: list, add and remove OpenID Connect clients.
  http::Response OidcClients(const http::Request& request, const std::string& admin);
  http::Response AddOidcClient(const http::Request& request, const std::string& admin);
  // ---- end OpenID Connect provider ----
  // Answers the OAuth 2.0 endpoints (oauth_routes.cc); nullopt for any other path.
  std::optional<http::Response> OAuth(const http::Request& request,
                                      const http::ConnectionInfo& conn);

  AuthorityService& service_;
  RevocationFeed& feed_;
  oauth::OAuthService& oauth_;
  PolicyFeed* policy_;
  LoginPages* login_;                         // SSO users
  std::atomic<std::int64_t> apikey_version_;  // bumped on every API key change
  VersionFeed apikeys_;                       // the API key feed's long-polls
};

// Returns the API key feed's answer: {version, keys: [{id, hash (base64url SHA-256), client,
// scopes}]} for the keys of `keys` that are not revoked.
nlohmann::json ApiKeyFeedJson(std::int64_t version, const std::vector<ApiKeyRecord>& keys);

// Returns ?wait= as a duration of at most kMaxLongPoll (0 when absent).
absl::StatusOr<std::chrono::seconds> WaitParam(const http::Request& request);

// Returns the HTTP status for a Status code (InvalidArgument 400, Unauthenticated 401, ...).
int HttpStatusFor(absl::StatusCode code);

}  // namespace bulwark::authority::api
