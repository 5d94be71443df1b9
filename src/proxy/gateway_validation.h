// Request-body validation for gateway routes (docs/gateway.md#request-validation): a body's
// Content-Type against the route's content_types (415) and a JSON body against the route's JSON
// Schema (400 with the JSON pointer of the first failure). Schemas are loaded with the
// configuration and shared read-only by the request handlers; thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "http/message.h"
#include "mesh/config.h"
#include "schema/json_schema.h"

namespace bulwark::proxy {

// The compiled schema of each route of gateway.routes, by index; null for a route without one.
using RouteSchemas = std::vector<std::shared_ptr<const schema::JsonSchema>>;

// Reads and compiles every route's `schema` file (relative paths are relative to the directory
// of mesh.file_name). Errors (InvalidArgument): "gateway.routes[i].schema: <path>: <why>" for a
// file that is missing, unreadable, over 1 MiB or not a schema of the supported subset.
absl::StatusOr<RouteSchemas> LoadRouteSchemas(const mesh::MeshConfig& mesh);

// Checks the body of `request` for `route`; `schema` is the route's (nullable). Returns the
// refusal, or nullopt when the request may go on. A request without a body is not checked.
// 415: the route lists content_types and the Content-Type is missing, repeated, malformed,
// not listed, or a JSON type with a charset other than utf-8. 400: the schema's route got a
// body that is not strict JSON (32 levels at most, no repeated keys) or does not match; the
// answer's `pointer` names where.
std::optional<http::Response> ValidateBody(const mesh::RouteConfig& route,
                                           const schema::JsonSchema* schema,
                                           const http::Request& request);

}  // namespace bulwark::proxy
