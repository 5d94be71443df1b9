// The authority's HTTPS JSON API (documented in docs/api.md): maps each request to an
// AuthorityService call and its result or Status to a response. Thread-safe; one Router serves
// every connection.
#pragma once

#include "asio/awaitable.hpp"
#include "authority/api/policy_feed.h"
#include "authority/api/revocation_feed.h"
#include "authority/oauth/oauth_service.h"
#include "authority/service.h"
#include "http/message.h"
#include "http/server.h"

namespace bulwark::authority::api {

// Longest long-poll a client may ask for with ?wait=.
inline constexpr std::chrono::seconds kMaxLongPoll{60};

class Router {
 public:
  // `policy` (may be null: no policy is distributed) serves GET /v1/policy.
  Router(AuthorityService& service, RevocationFeed& feed, oauth::OAuthService& oauth,
         PolicyFeed* policy = nullptr)
      : service_(service), feed_(feed), oauth_(oauth), policy_(policy) {}

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
  // POST /v1/txn-keys: the gateway registers a delegated transaction-token key
  // (txn_key_routes.cc).
  http::Response RegisterTxnKey(const http::Request& request, const http::ConnectionInfo& conn);
  // Answers the OAuth 2.0 endpoints (oauth_routes.cc); nullopt for any other path.
  std::optional<http::Response> OAuth(const http::Request& request,
                                      const http::ConnectionInfo& conn);

  AuthorityService& service_;
  RevocationFeed& feed_;
  oauth::OAuthService& oauth_;
  PolicyFeed* policy_;
};

// Returns the HTTP status for a Status code (InvalidArgument 400, Unauthenticated 401, ...).
int HttpStatusFor(absl::StatusCode code);

}  // namespace bulwark::authority::api
