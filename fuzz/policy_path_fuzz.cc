// Fuzzes path normalization and path templates: any input gives a normalized path or an error,
// never a crash or a hang. A normalized path is a fixed point (normalizing it again returns it
// unchanged) and holds none of what normalization removes or refuses: no empty, "." or ".."
// segment, no '\', no lowercase or unreserved or separator escapes. The same input, read as a
// template, either is refused or matches the normalized path without crashing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ascii.h"
#include "policy/internal/path_trie.h"
#include "policy/path.h"
#include "policy/path_template.h"

namespace {

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Traps unless `path` looks normalized.
void CheckNormalForm(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    __builtin_trap();
  }
  std::vector<std::string_view> segments;
  bulwark::policy::SplitPathSegments(path, segments);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    std::string_view s = segments[i];
    const bool last = i + 1 == segments.size();
    if ((s.empty() && !last) || s == "." || s == "..") {
      __builtin_trap();
    }
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(path[i]);
    if (c < 0x21 || c >= 0x7F || c == '\\' || c == ';' || c == '?' || c == '#') {
      __builtin_trap();
    }
    if (c == '%') {
      if (i + 2 >= path.size()) {
        __builtin_trap();
      }
      const char hi = path[i + 1];
      const char lo = path[i + 2];
      const int value = bulwark::core::HexDigitValue(hi) * 16 + bulwark::core::HexDigitValue(lo);
      if (bulwark::core::HexDigitValue(hi) < 0 || bulwark::core::HexDigitValue(lo) < 0 ||
          (hi >= 'a' && hi <= 'f') || (lo >= 'a' && lo <= 'f') ||
          IsUnreserved(static_cast<char>(value)) || value == '/' || value == '\\' || value < 0x20) {
        __builtin_trap();
      }
      i += 2;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::string> normalized = bulwark::policy::NormalizePath(input);
  if (!normalized.ok()) {
    return 0;
  }
  CheckNormalForm(*normalized);
  absl::StatusOr<std::string> again = bulwark::policy::NormalizePath(*normalized);
  if (!again.ok() || *again != *normalized) {
    __builtin_trap();
  }
  absl::StatusOr<bulwark::policy::PathTemplate> path_template =
      bulwark::policy::ParsePathTemplate(input);
  if (path_template.ok()) {
    bulwark::policy::internal::PathTrie trie;
    trie.Insert(*path_template, 0);
    std::vector<std::string_view> segments;
    bulwark::policy::SplitPathSegments(*normalized, segments);
    bulwark::policy::internal::MatchList matches;
    trie.Match(segments, matches);
    // A template without parameters or "/**" is its own normalized path, so it matches itself.
    if (!path_template->any_rest && path_template->ParamNames().empty() && matches.size() != 1) {
      __builtin_trap();
    }
  }
  return 0;
}
