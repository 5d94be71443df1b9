#include "http/cookie.h"

#include "core/ascii.h"

namespace bulwark::http {
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::optional<std::string> FindCookie(const Headers& headers, std::string_view name) {
  std::optional<std::string> found;
  int matches = 0;
  for (const Header& header : headers.all()) {
    if (!core::AsciiEqualsIgnoreCase(header.name, "cookie")) {
      continue;
    }
    std::string_view rest = header.value;
    while (!rest.empty()) {
      std::size_t semicolon = rest.find(';');
      std::string_view pair = TrimSpaces(rest.substr(0, semicolon));
      rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
      std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos || pair.substr(0, eq) != name) {
        continue;
      }
      std::string_view value = pair.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      found = std::string(value);
      ++matches;
    }
  }
  if (matches != 1) {
    return std::nullopt;
  }
  return found;
}

}  // namespace bulwark::http
