// Content-type and schema checks run after authentication and rate limiting, so that neither
// an anonymous client learns a protected route's schema nor a flood buys parsing work.
#include "proxy/gateway_validation.h"

#include <algorithm>
#include <filesystem>

#include "core/ascii.h"
#include "core/files.h"
#include "core/status.h"
#include "core/strict_json.h"
#include "fmt/format.h"
#include "http/media_type.h"
#include "nlohmann/json.hpp"
#include "proxy/handlers.h"

namespace bulwark::proxy {
namespace {

http::Response Unsupported(std::string_view why) {
  return JsonError(415, "unsupported_media_type", why);
}

// Returns the 415 for a body whose Content-Type the route does not accept, or nullopt.
std::optional<http::Response> CheckContentType(const mesh::RouteConfig& route,
                                               const http::Request& request) {
  std::size_t count = request.headers.Count("Content-Type");
  if (count == 0) {
    return Unsupported(
        fmt::format("a body needs a Content-Type here: {}", fmt::join(route.content_types, ", ")));
  }
  if (count > 1) {
    return Unsupported("more than one Content-Type header");
  }
  absl::StatusOr<http::MediaType> media =
      http::ParseMediaType(*request.headers.Get("Content-Type"));
  if (!media.ok()) {
    return Unsupported(fmt::format("malformed Content-Type: {}", media.status().message()));
  }
  std::string essence = media->Essence();
  if (std::find(route.content_types.begin(), route.content_types.end(), essence) ==
      route.content_types.end()) {
    return Unsupported(fmt::format("Content-Type {} is not accepted here; use {}", essence,
                                   fmt::join(route.content_types, ", ")));
  }
  // JSON is UTF-8 (RFC 8259 §8.1): a body declared in another charset would be read
  // differently by the gateway and by the service.
  std::optional<std::string_view> charset = media->Parameter("charset");
  if (media->IsJson() && charset.has_value() && !core::AsciiEqualsIgnoreCase(*charset, "utf-8")) {
    return Unsupported(fmt::format("JSON must be UTF-8, not charset={}", *charset));
  }
  return std::nullopt;
}

http::Response InvalidBody(std::string_view pointer, std::string_view why) {
  http::Response response = JsonError(400, "invalid_body", why);
  response.body =
      nlohmann::json{{"error", "invalid_body"}, {"error_description", why}, {"pointer", pointer}}
          .dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  return response;
}

}  // namespace

absl::StatusOr<RouteSchemas> LoadRouteSchemas(const mesh::MeshConfig& mesh) {
  RouteSchemas schemas;
  if (!mesh.gateway.has_value()) {
    return schemas;
  }
  std::filesystem::path base = std::filesystem::path(mesh.file_name).parent_path();
  for (std::size_t i = 0; i < mesh.gateway->routes.size(); ++i) {
    const std::optional<std::string>& file = mesh.gateway->routes[i].schema;
    if (!file.has_value()) {
      schemas.push_back(nullptr);
      continue;
    }
    std::string path = (base / *file).string();  // an absolute *file replaces base
    absl::StatusOr<std::string> text = core::ReadFile(path, schema::kMaxSchemaBytes);
    absl::StatusOr<schema::JsonSchema> compiled =
        text.ok() ? schema::JsonSchema::Compile(*text)
                  : absl::StatusOr<schema::JsonSchema>(text.status());
    if (!compiled.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("gateway.routes[{}].schema: {}: {}", i, path, compiled.status().message()));
    }
    schemas.push_back(std::make_shared<const schema::JsonSchema>(*std::move(compiled)));
  }
  return schemas;
}

std::optional<http::Response> ValidateBody(const mesh::RouteConfig& route,
                                           const schema::JsonSchema* schema,
                                           const http::Request& request) {
  if (request.body.empty()) {
    return std::nullopt;
  }
  if (!route.content_types.empty()) {
    if (std::optional<http::Response> refused = CheckContentType(route, request)) {
      return refused;
    }
  }
  if (schema == nullptr) {
    return std::nullopt;
  }
  absl::StatusOr<nlohmann::json> body = core::ParseStrictJson(request.body);
  if (!body.ok()) {
    return InvalidBody("", fmt::format("the body is not valid JSON: {}", body.status().message()));
  }
  if (std::optional<schema::Violation> violation = schema->Validate(*body)) {
    return InvalidBody(violation->pointer,
                       fmt::format("the body does not match the schema at '{}': {}",
                                   violation->pointer, violation->message));
  }
  return std::nullopt;
}

}  // namespace bulwark::proxy
