// The gateway's route table (docs/gateway.md#routing): gateway.routes compiled into a matcher of
// normalized request paths. A `path:` route is a path template (policy/path_template.h) and
// matches the whole path; a `prefix:` route matches the prefix itself and anything below it at
// a segment boundary ("/api" matches "/api" and "/api/x", not "/apix"). The most specific match
// wins: any `path:` route before any `prefix:` route; among templates, more literal segments,
// then no trailing `/**`, then the first written; among prefixes, the longest. Immutable once
// compiled; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "mesh/config.h"
#include "policy/path_template.h"

namespace bulwark::proxy {

class RouteTable {
 public:
  // Compiles `routes`. Errors (InvalidArgument naming gateway.routes[i]): a template that does
  // not parse, or a prefix that is not in normalized form (it could never match).
  static absl::StatusOr<RouteTable> Compile(const std::vector<mesh::RouteConfig>& routes);

  // Returns the index (in the routes given to Compile) of the route for the normalized
  // `path`, or -1 when none matches.
  int Match(std::string_view path) const;

 private:
  struct Entry {
    std::size_t index;
    mesh::RouteMatch match;
    std::string prefix;                // kPrefix
    policy::PathTemplate path;         // kPath
    std::size_t literal_segments = 0;  // kPath
  };
  static bool Matches(const Entry& entry, std::string_view path);

  std::vector<Entry> entries_;  // most specific first
};

// Returns the path to forward for the normalized `path` that matched `route`: `path` without the
// route's strip_prefix ("/api/rentals/7" -> "/rentals/7"; "/api" -> "/"), or `path` as it is
// when the route has none. The prefix was checked at load to be whole leading segments of the
// route's pattern, so it is whole leading segments of every path the route matches.
std::string ForwardedPath(const mesh::RouteConfig& route, std::string path);

}  // namespace bulwark::proxy
