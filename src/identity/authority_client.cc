#include "identity/authority_client.h"

#include "core/status.h"
#include "crypto/csr.h"
#include "fmt/format.h"
#include "http/client.h"
#include "identity/spiffe_id.h"

namespace bulwark::identity {
namespace {

absl::Status StatusForHttp(int status, std::string message) {
  switch (status) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 401:
      return absl::UnauthenticatedError(message);
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 409:
      return absl::FailedPreconditionError(message);
    default:
      return absl::UnavailableError(message);
  }
}

}  // namespace

absl::StatusOr<AuthorityClient> AuthorityClient::Create(std::string url,
                                                        std::vector<crypto::Certificate> bundle,
                                                        std::chrono::milliseconds timeout) {
  BULWARK_ASSIGN_OR_RETURN(std::string trust_domain, BundleTrustDomain(bundle));
  while (url.ends_with("/")) {
    url.pop_back();
  }
  return AuthorityClient(std::move(url), std::move(bundle),
                         fmt::format("{}/authority", TrustDomainId(trust_domain)), timeout);
}

absl::StatusOr<http::Response> AuthorityClient::Exchange(const std::string& path,
                                                         http::Request request,
                                                         const tls::Credentials* credentials,
                                                         std::chrono::milliseconds timeout) const {
  http::ClientOptions options;
  options.roots = bundle_;
  options.credentials = credentials;
  options.expected_server_id = authority_id_;
  options.timeout = timeout;
  return http::Send(url_ + path, std::move(request), options);
}

absl::StatusOr<http::Response> AuthorityClient::Get(const std::string& path) const {
  http::Request request;
  request.method = "GET";
  return Exchange(path, std::move(request), nullptr, timeout_);
}

absl::StatusOr<nlohmann::json> AuthorityClient::CallJson(const std::string& method,
                                                         const std::string& path,
                                                         const nlohmann::json& body,
                                                         const tls::Credentials* credentials,
                                                         std::chrono::milliseconds timeout) const {
  http::Request request;
  request.method = method;
  if (!body.is_null()) {
    request.headers.Add("Content-Type", "application/json");
    request.body = body.dump();
  }
  BULWARK_ASSIGN_OR_RETURN(http::Response response,
                           Exchange(path, std::move(request), credentials, timeout));
  nlohmann::json answer = nlohmann::json::parse(response.body, nullptr, false);
  if (response.status / 100 != 2) {
    std::string description = answer.is_object() && answer.contains("error_description")
                                  ? answer["error_description"].get<std::string>()
                                  : response.body.substr(0, 200);
    return StatusForHttp(response.status,
                         fmt::format("authority answered {}: {}", response.status, description));
  }
  if (answer.is_discarded()) {
    return absl::DataLossError(fmt::format("authority sent invalid JSON for {}", path));
  }
  return answer;
}

absl::StatusOr<Svid> AuthorityClient::IssueFrom(const std::string& path, nlohmann::json body,
                                                crypto::PrivateKey key,
                                                const tls::Credentials* credentials) const {
  BULWARK_ASSIGN_OR_RETURN(crypto::CertificateRequest csr,
                           crypto::CertificateRequest::Create(key, "bulwark workload"));
  body["csr"] = csr.ToPem();
  BULWARK_ASSIGN_OR_RETURN(nlohmann::json answer,
                           CallJson("POST", path, body, credentials, timeout_));
  if (!answer.contains("svid_pem") || !answer["svid_pem"].is_string() ||
      !answer.contains("bundle_pem") || !answer["bundle_pem"].is_string()) {
    return absl::DataLossError("authority's answer lacks svid_pem or bundle_pem");
  }
  return SvidFromPem(answer["svid_pem"].get<std::string>(), key.ToPem(),
                     answer["bundle_pem"].get<std::string>());
}

absl::StatusOr<Svid> AuthorityClient::FetchWithJoinToken(std::string_view join_token) const {
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                           crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  return IssueFrom("/v1/svids", {{"join_token", std::string(join_token)}}, std::move(key), nullptr);
}

absl::StatusOr<Svid> AuthorityClient::Renew(const Svid& current) const {
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                           crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  return IssueFrom("/v1/svids/renew", nlohmann::json::object(), std::move(key),
                   &current.credentials);
}

absl::StatusOr<RevocationList> AuthorityClient::Revocations(const Svid& current, std::int64_t since,
                                                            std::chrono::seconds wait) const {
  std::string path = fmt::format("/v1/revocations?since={}", since);
  if (wait.count() > 0) {
    path += fmt::format("&wait={}s", wait.count());
  }
  BULWARK_ASSIGN_OR_RETURN(
      nlohmann::json answer,
      CallJson("GET", path, nullptr, &current.credentials,
               timeout_ + std::chrono::duration_cast<std::chrono::milliseconds>(wait)));
  RevocationList list;
  try {
    list.version = answer.at("version").get<std::int64_t>();
    for (const nlohmann::json& entry : answer.at("revocations")) {
      list.entries.push_back({entry.at("version").get<std::int64_t>(),
                              entry.at("serial").get<std::string>(),
                              entry.at("spiffe_id").get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(fmt::format("malformed revocation list: {}", e.what()));
  }
  return list;
}

}  // namespace bulwark::identity
