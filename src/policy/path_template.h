// Path templates of allow rules (`paths: [/users/{id}/charge, /files/**]`): literal segments,
// whole-segment parameters `{name}` and a trailing `/**` that matches any rest, including none.
// Templates are matched against normalized paths (policy/path.h) segment by segment. Values are
// immutable; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace bulwark::policy {

// The most parameters one template may bind; Decide keeps them on the stack.
inline constexpr std::size_t kMaxPathParams = 16;

struct PathTemplate {
  struct Segment {
    std::string text;  // the literal segment, or the parameter's name
    bool is_param = false;
  };

  std::string text;               // as written
  std::vector<Segment> segments;  // "/" is one empty literal segment; "/a/" ends with one
  bool any_rest = false;          // ends with "/**"

  // Returns the names of the parameters, in template order.
  std::vector<std::string> ParamNames() const;
};

// Parses a template. Errors (InvalidArgument, without a position: the caller adds where the
// template was written): not starting with '/'; an empty segment other than a trailing slash;
// '{' '}' other than a whole `{name}` segment; a name that is empty, not an identifier
// ([A-Za-z_][A-Za-z0-9_]*) or used twice; '*' other than a last `/**` segment; a literal segment
// that is not in normalized form (it could never match); more than kMaxPathParams parameters.
absl::StatusOr<PathTemplate> ParsePathTemplate(std::string_view text);

// Splits a normalized path into the segments templates match: "/a/b" -> {a, b}, "/" -> {""},
// "/a/" -> {a, ""}. Appends views into `path` to `out` (any container with push_back).
template <typename Container>
void SplitPathSegments(std::string_view path, Container& out) {
  std::string_view rest = path.substr(path.empty() ? 0 : 1);
  while (true) {
    std::size_t slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) {
      return;
    }
    rest.remove_prefix(slash + 1);
  }
}

}  // namespace bulwark::policy
