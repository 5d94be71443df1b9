// JSON response and query-parameter helpers shared by the API's handlers. Private to
// authority/api.
#pragma once

#include <string_view>
#include <vector>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/x509.h"
#include "http/message.h"
#include "nlohmann/json.hpp"

namespace bulwark::authority::api::internal {

// Returns a response with `body` as JSON and Cache-Control: no-store.
http::Response JsonResponse(int status, const nlohmann::json& body);
// Returns {"error": ..., "error_description": ...} with the status for `status`'s code; internal
// errors are logged and answered without details.
http::Response ErrorResponse(const absl::Status& status);
// Returns a 405 naming the allowed method.
http::Response MethodNotAllowed(std::string_view allowed);
// Returns query parameter `name` as a non-negative integer, `fallback` when it is absent, and
// InvalidArgument naming the parameter otherwise.
absl::StatusOr<std::int64_t> IntParam(const http::Request& request, std::string_view name,
                                      std::int64_t fallback);
// Returns the concatenated PEM of `chain`.
std::string ChainPem(const std::vector<crypto::Certificate>& chain);

}  // namespace bulwark::authority::api::internal
