#include "authority/api/internal/responses.h"

#include <charconv>

#include "authority/api/router.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace bulwark::authority::api::internal {
namespace {

const char* ErrorCode(int status) {
  switch (status) {
    case 400:
      return "invalid_request";
    case 401:
      return "unauthenticated";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    default:
      return "internal_error";
  }
}

}  // namespace

http::Response JsonResponse(int status, const nlohmann::json& body) {
  http::Response response;
  response.status = status;
  response.headers.Add("Content-Type", "application/json");
  response.headers.Add("Cache-Control", "no-store");
  response.body = body.dump();
  return response;
}

http::Response ErrorResponse(const absl::Status& status) {
  int code = HttpStatusFor(status.code());
  std::string description(status.message());
  if (code >= 500) {
    spdlog::error("internal error: {}", description);
    description = "internal error; see the authority's log";
  }
  return JsonResponse(code, {{"error", ErrorCode(code)}, {"error_description", description}});
}

http::Response MethodNotAllowed(std::string_view allowed) {
  http::Response response =
      JsonResponse(405, {{"error", "method_not_allowed"},
                         {"error_description", fmt::format("use {} for this resource", allowed)}});
  response.headers.Add("Allow", std::string(allowed));
  return response;
}

absl::StatusOr<std::int64_t> IntParam(const http::Request& request, std::string_view name,
                                      std::int64_t fallback) {
  std::optional<std::string> text = request.QueryParam(name);
  if (!text) return fallback;
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size() || value < 0) {
    return absl::InvalidArgumentError(
        fmt::format("query parameter '{}' must be a non-negative integer", name));
  }
  return value;
}

std::string ChainPem(const std::vector<crypto::Certificate>& chain) {
  std::string pem;
  for (const crypto::Certificate& cert : chain) pem += cert.ToPem();
  return pem;
}

}  // namespace bulwark::authority::api::internal
