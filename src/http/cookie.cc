#include "http/cookie.h"

#include "core/ascii.h"

namespace bulwark::http {

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
      std::string_view pair = core::TrimOws(rest.substr(0, semicolon));
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
