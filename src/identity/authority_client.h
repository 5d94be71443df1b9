// The workload side of the authority's API (docs/api.md): first contact with a join token,
// renewal over mTLS, the revocation list, and generic JSON calls for the admin CLI. Each call is
// one blocking HTTPS request with a deadline; the authority is authenticated by its SPIFFE ID
// (spiffe://<td>/authority, td named by the bundle). Thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/x509.h"
#include "http/message.h"
#include "identity/svid.h"
#include "nlohmann/json.hpp"
#include "tls/context.h"

namespace bulwark::identity {

struct RevocationEntry {
  std::int64_t version = 0;
  std::string serial;
  std::string spiffe_id;
};

struct RevocationList {
  std::int64_t version = 0;  // pass back as `since` to get only newer entries
  std::vector<RevocationEntry> entries;
};

class AuthorityClient {
 public:
  // `url` is the authority's base URL ("https://127.0.0.1:7443"); `bundle` its trust bundle.
  static absl::StatusOr<AuthorityClient> Create(
      std::string url, std::vector<crypto::Certificate> bundle,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Generates a P-256 key and a CSR, redeems `join_token` and returns the new SVID.
  absl::StatusOr<Svid> FetchWithJoinToken(std::string_view join_token) const;
  // Renews `current` over mTLS with a new key; returns the new SVID (same SPIFFE ID).
  absl::StatusOr<Svid> Renew(const Svid& current) const;
  // Returns the revocations after version `since`, waiting up to `wait` for one to appear.
  absl::StatusOr<RevocationList> Revocations(const Svid& current, std::int64_t since,
                                             std::chrono::seconds wait) const;
  // Sends `body` (null for none) to `path` with `method` and returns the JSON answer. Non-2xx
  // answers become an error carrying the authority's error_description.
  absl::StatusOr<nlohmann::json> CallJson(const std::string& method, const std::string& path,
                                          const nlohmann::json& body,
                                          const tls::Credentials* credentials,
                                          std::chrono::milliseconds timeout) const;

  // Sends GET `path` without a client certificate and returns the answer whatever its status,
  // headers included (e.g. Cache-Control of /oauth2/jwks). Errors: the exchange failed.
  absl::StatusOr<http::Response> Get(const std::string& path) const;

  const std::string& url() const { return url_; }
  const std::vector<crypto::Certificate>& bundle() const { return bundle_; }

 private:
  AuthorityClient(std::string url, std::vector<crypto::Certificate> bundle,
                  std::string authority_id, std::chrono::milliseconds timeout)
      : url_(std::move(url)),
        bundle_(std::move(bundle)),
        authority_id_(std::move(authority_id)),
        timeout_(timeout) {}
  absl::StatusOr<http::Response> Exchange(const std::string& path, http::Request request,
                                          const tls::Credentials* credentials,
                                          std::chrono::milliseconds timeout) const;
  absl::StatusOr<Svid> IssueFrom(const std::string& path, nlohmann::json body,
                                 crypto::PrivateKey key, const tls::Credentials* credentials) const;

  std::string url_;
  std::vector<crypto::Certificate> bundle_;
  std::string authority_id_;
  std::chrono::milliseconds timeout_;
};

}  // namespace bulwark::identity
