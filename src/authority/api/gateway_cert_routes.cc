// POST /v1/gateway/certificate (docs/api.md#the-gateways-certificate): the gateway,
// authenticated by its SVID over mTLS, sends a CSR for a key it generated and the DNS and IP
// names it derives from gateway.listen and gateway.public_url; the authority answers with a
// short-lived server certificate for them (for local use: browsers do not trust the mesh CA).
#include <string>
#include <vector>

#include "authority/api/internal/responses.h"
#include "authority/api/router.h"
#include "core/status.h"
#include "core/strict_json.h"
#include "core/units.h"
#include "crypto/csr.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace bulwark::authority::api {
namespace {

using internal::ChainPem;
using internal::ErrorResponse;
using internal::JsonResponse;
using nlohmann::json;

constexpr std::size_t kMaxBodyBytes = crypto::kMaxCsrPemBytes + 4096;
constexpr std::size_t kMaxNameBytes = 253;

struct CertificateRequestBody {
  std::string csr;
  mesh::GatewayCertificateNames names;
};

// Reads member `key` (absent: empty) of `doc` as an array of short strings.
absl::StatusOr<std::vector<std::string>> Names(const json& doc, const char* key) {
  std::vector<std::string> out;
  if (!doc.contains(key)) {
    return out;
  }
  const json& list = doc[key];
  if (!list.is_array() || list.size() > mesh::kMaxGatewayCertificateNames) {
    return absl::InvalidArgumentError(fmt::format("\"{}\" must be an array of at most {} names",
                                                  key, mesh::kMaxGatewayCertificateNames));
  }
  for (const json& name : list) {
    if (!name.is_string() || name.get_ref<const std::string&>().size() > kMaxNameBytes) {
      return absl::InvalidArgumentError(
          fmt::format("\"{}\" must hold strings of at most {} bytes", key, kMaxNameBytes));
    }
    out.push_back(name.get<std::string>());
  }
  return out;
}

// Parses {"csr": "<PEM>", "dns": [...], "ips": [...]}; InvalidArgument otherwise.
absl::StatusOr<CertificateRequestBody> ParseBody(std::string_view body) {
  if (body.size() > kMaxBodyBytes) {
    return absl::InvalidArgumentError(
        fmt::format("the body is {} bytes, over the limit of {}", body.size(), kMaxBodyBytes));
  }
  absl::StatusOr<json> doc = core::ParseStrictJson(body, 3);
  if (!doc.ok() || !doc->is_object()) {
    return absl::InvalidArgumentError(
        "the body must be a JSON object {\"csr\": PEM, \"dns\": [names], \"ips\": [addresses]}");
  }
  for (auto it = doc->begin(); it != doc->end(); ++it) {
    if (it.key() != "csr" && it.key() != "dns" && it.key() != "ips") {
      return absl::InvalidArgumentError(fmt::format("unknown field \"{}\"", it.key()));
    }
  }
  if (!doc->contains("csr") || !(*doc)["csr"].is_string()) {
    return absl::InvalidArgumentError("\"csr\" (a PEM certificate request) is required");
  }
  CertificateRequestBody out;
  out.csr = (*doc)["csr"].get<std::string>();
  BULWARK_ASSIGN_OR_RETURN(out.names.dns, Names(*doc, "dns"));
  BULWARK_ASSIGN_OR_RETURN(out.names.ips, Names(*doc, "ips"));
  return out;
}

}  // namespace

http::Response Router::IssueGatewayCertificate(const http::Request& request,
                                               const http::ConnectionInfo& conn) {
  if (!conn.peer_certificate) {
    return ErrorResponse(absl::UnauthenticatedError(
        "the gateway's certificate is issued to the gateway's SVID as TLS client certificate"));
  }
  absl::StatusOr<CertificateRequestBody> body = ParseBody(request.body);
  if (!body.ok()) {
    return ErrorResponse(body.status());
  }
  absl::StatusOr<IssuedSvid> issued =
      service_.IssueGatewayCertificate(*conn.peer_certificate, body->csr, body->names);
  if (!issued.ok()) {
    if (absl::IsPermissionDenied(issued.status())) {
      spdlog::warn("refused a gateway certificate: {}", issued.status().message());
    }
    return ErrorResponse(issued.status());
  }
  spdlog::info("gateway certificate {} issued until {}", issued->serial,
               core::ToUnixSeconds(issued->not_after));
  return JsonResponse(200, {{"serial", issued->serial},
                            {"expires_at", core::ToUnixSeconds(issued->not_after)},
                            {"cert_pem", ChainPem(issued->svid.chain)}});
}

}  // namespace bulwark::authority::api
