// How admin commands reach a running authority: whoever can read the data directory (and so the
// key-encryption key) mints a short-lived admin SVID, spiffe://<td>/admin/<user>, recorded in the
// audit trail, and calls the authority's admin API with it over mTLS.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "identity/authority_client.h"
#include "nlohmann/json.hpp"
#include "tls/context.h"

namespace bulwark::cli {

// Lifetime of a minted admin SVID: long enough for one command.
inline constexpr std::chrono::seconds kAdminSvidTtl{300};

struct AdminSession {
  identity::AuthorityClient client;
  tls::Credentials credentials;
  std::string admin_id;
};

// Opens `data_dir`, mints an admin SVID and connects to `authority_url` (or, when empty, to the
// URL the running authority wrote to `data_dir`/endpoint).
absl::StatusOr<AdminSession> OpenAdminSession(const std::string& data_dir,
                                              const std::string& authority_url);

// Calls the running authority's admin API (`method` `path` with the JSON `body`) as a freshly
// minted admin identity and returns its JSON answer; an error status carries the API's message.
absl::StatusOr<nlohmann::json> AdminRequest(const std::string& data_dir,
                                            const std::string& authority_url,
                                            const std::string& method, const std::string& path,
                                            const nlohmann::json& body);
// Runs AdminRequest and prints the answer (pretty JSON) on stdout; returns the exit code.
int AdminCall(const std::string& data_dir, const std::string& authority_url,
              const std::string& method, const std::string& path, const nlohmann::json& body);

}  // namespace bulwark::cli
