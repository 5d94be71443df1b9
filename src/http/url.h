// Parsing of the absolute https:// URLs that bulwark's clients are given. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace bulwark::http {

struct Url {
  std::string scheme;  // "https" or "http"
  std::string host;    // without brackets for IPv6
  std::uint16_t port = 0;
  std::string target;  // path and query, "/" when empty
};

// Parses "https://host[:port][/path[?query]]" (IPv6 hosts in brackets). Userinfo and fragments
// are refused.
absl::StatusOr<Url> ParseUrl(std::string_view text);

}  // namespace bulwark::http
