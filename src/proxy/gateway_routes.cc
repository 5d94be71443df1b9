// Routes are few (tens): a linear scan in specificity order is simpler than a trie and costs a
// few hundred nanoseconds per request.
#include "proxy/gateway_routes.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "core/status.h"
#include "fmt/format.h"
#include "policy/path.h"

namespace bulwark::proxy {

absl::StatusOr<RouteTable> RouteTable::Compile(const std::vector<mesh::RouteConfig>& routes) {
  RouteTable table;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const mesh::RouteConfig& route = routes[i];
    Entry entry{i, route.match, {}, {}, 0};
    if (route.match == mesh::RouteMatch::kPath) {
      absl::StatusOr<policy::PathTemplate> parsed = policy::ParsePathTemplate(route.pattern);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(fmt::format("gateway.routes[{}].path: '{}': {}", i,
                                                      route.pattern, parsed.status().message()));
      }
      entry.path = *std::move(parsed);
      entry.literal_segments = static_cast<std::size_t>(
          std::count_if(entry.path.segments.begin(), entry.path.segments.end(),
                        [](const policy::PathTemplate::Segment& s) { return !s.is_param; }));
    } else {
      absl::StatusOr<std::string> normal = policy::NormalizePath(route.pattern);
      if (!normal.ok() || *normal != route.pattern) {
        return absl::InvalidArgumentError(fmt::format(
            "gateway.routes[{}].prefix: '{}' is not a normalized path, so no request could match "
            "it{}",
            i, route.pattern, normal.ok() ? fmt::format(" (write '{}')", *normal) : ""));
      }
      entry.prefix = route.pattern;
    }
    table.entries_.push_back(std::move(entry));
  }
  std::stable_sort(table.entries_.begin(), table.entries_.end(),
                   [](const Entry& a, const Entry& b) {
                     if (a.match != b.match) {
                       return a.match == mesh::RouteMatch::kPath;
                     }
                     if (a.match == mesh::RouteMatch::kPrefix) {
                       return a.prefix.size() > b.prefix.size();
                     }
                     if (a.literal_segments != b.literal_segments) {
                       return a.literal_segments > b.literal_segments;
                     }
                     return !a.path.any_rest && b.path.any_rest;
                   });
  return table;
}

bool RouteTable::Matches(const Entry& entry, std::string_view path) {
  if (entry.match == mesh::RouteMatch::kPrefix) {
    if (!path.starts_with(entry.prefix)) {
      return false;
    }
    return path.size() == entry.prefix.size() || entry.prefix.back() == '/' ||
           path[entry.prefix.size()] == '/';
  }
  absl::InlinedVector<std::string_view, 16> segments;
  policy::SplitPathSegments(path, segments);
  const std::vector<policy::PathTemplate::Segment>& pattern = entry.path.segments;
  if (entry.path.any_rest ? segments.size() < pattern.size() : segments.size() != pattern.size()) {
    return false;
  }
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (!pattern[i].is_param && pattern[i].text != segments[i]) {
      return false;
    }
    if (pattern[i].is_param && segments[i].empty()) {
      return false;  // {id} is one non-empty segment
    }
  }
  return true;
}

int RouteTable::Match(std::string_view path) const {
  for (const Entry& entry : entries_) {
    if (Matches(entry, path)) {
      return static_cast<int>(entry.index);
    }
  }
  return -1;
}

std::string ForwardedPath(const mesh::RouteConfig& route, std::string path) {
  if (!route.strip_prefix.has_value()) {
    return path;
  }
  const std::string& strip = *route.strip_prefix;
  if (!path.starts_with(strip) || (path.size() > strip.size() && path[strip.size()] != '/')) {
    return path;  // unreachable for a matched route (see the header); never cut mid-segment
  }
  path.erase(0, strip.size());
  return path.empty() ? "/" : path;
}

}  // namespace bulwark::proxy
