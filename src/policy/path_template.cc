#include "policy/path_template.h"

#include <algorithm>

#include "core/status.h"
#include "fmt/format.h"
#include "policy/path.h"

namespace bulwark::policy {
namespace {

bool IsIdentifier(std::string_view name) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return !name.empty() && alpha(name.front()) && std::all_of(name.begin(), name.end(), [&](char c) {
    return alpha(c) || (c >= '0' && c <= '9');
  });
}

absl::Status CheckLiteral(std::string_view segment) {
  if (segment.find_first_of("{}") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        fmt::format("segment '{}': a parameter is a whole segment, as in /users/{{id}}", segment));
  }
  if (segment.find('*') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        fmt::format("segment '{}': '*' is only allowed as a last segment /** (any rest)", segment));
  }
  if (segment == "." || segment == "..") {
    return absl::InvalidArgumentError("'.' and '..' segments never match a normalized path");
  }
  std::string path = fmt::format("/{}", segment);
  absl::StatusOr<std::string> normalized = NormalizePath(path);
  if (!normalized.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("segment '{}' never matches: {}", segment, normalized.status().message()));
  }
  if (*normalized != path) {
    return absl::InvalidArgumentError(
        fmt::format("segment '{}' is not in normalized form and never matches; write '{}'", segment,
                    std::string_view(*normalized).substr(1)));
  }
  return absl::OkStatus();
}

absl::StatusOr<PathTemplate::Segment> ParseParam(std::string_view segment,
                                                 const PathTemplate& so_far) {
  std::string_view name = segment.substr(1, segment.size() - 2);
  if (!IsIdentifier(name)) {
    return absl::InvalidArgumentError(fmt::format(
        "parameter '{}': a name is a letter or '_' followed by letters, digits and '_'", segment));
  }
  std::vector<std::string> names = so_far.ParamNames();
  if (std::find(names.begin(), names.end(), name) != names.end()) {
    return absl::InvalidArgumentError(fmt::format("parameter '{}' appears twice", name));
  }
  if (names.size() == kMaxPathParams) {
    return absl::InvalidArgumentError(
        fmt::format("more than {} parameters in one template", kMaxPathParams));
  }
  return PathTemplate::Segment{std::string(name), true};
}

}  // namespace

std::vector<std::string> PathTemplate::ParamNames() const {
  std::vector<std::string> names;
  for (const Segment& segment : segments) {
    if (segment.is_param) {
      names.push_back(segment.text);
    }
  }
  return names;
}

absl::StatusOr<PathTemplate> ParsePathTemplate(std::string_view text) {
  if (text.empty() || text.front() != '/') {
    return absl::InvalidArgumentError(fmt::format("path template '{}' must start with '/'", text));
  }
  std::vector<std::string_view> raw;
  SplitPathSegments(text, raw);
  PathTemplate result{std::string(text), {}, false};
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::string_view segment = raw[i];
    const bool last = i + 1 == raw.size();
    if (segment == "**") {
      if (!last) {
        return absl::InvalidArgumentError("'**' must be the last segment (as in /files/**)");
      }
      result.any_rest = true;
    } else if (segment.empty()) {
      if (!last) {
        return absl::InvalidArgumentError("empty segment ('//') in path template");
      }
      result.segments.push_back({"", false});
    } else if (segment.size() >= 2 && segment.front() == '{' && segment.back() == '}') {
      absl::StatusOr<PathTemplate::Segment> param = ParseParam(segment, result);
      if (!param.ok()) {
        return param.status();
      }
      result.segments.push_back(*std::move(param));
    } else if (absl::Status s = CheckLiteral(segment); !s.ok()) {
      return s;
    } else {
      result.segments.push_back({std::string(segment), false});
    }
  }
  return result;
}

}  // namespace bulwark::policy
