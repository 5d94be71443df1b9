// Hop-by-hop removal and outbound target resolution.
#include "proxy/headers.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "core/ascii.h"
#include "fmt/format.h"
#include "http/url.h"

namespace bulwark::proxy {
namespace {

constexpr std::string_view kHopByHop[] = {"Connection", "Keep-Alive",        "TE",
                                          "Trailer",    "Transfer-Encoding", "Upgrade"};

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

void RemoveHopByHop(http::Headers& headers) {
  std::vector<std::string> doomed;
  for (const http::Header& header : headers.all()) {
    if (absl::StartsWithIgnoreCase(header.name, "Proxy-")) {
      doomed.push_back(header.name);
    }
    if (core::AsciiEqualsIgnoreCase(header.name, "Connection")) {
      for (absl::string_view option : absl::StrSplit(header.value, ',')) {
        std::string name(absl::StripAsciiWhitespace(option));
        if (!name.empty()) {
          doomed.push_back(std::move(name));
        }
      }
    }
  }
  for (std::string_view name : kHopByHop) {
    headers.Remove(name);
  }
  for (const std::string& name : doomed) {
    headers.Remove(name);
  }
}

void RemoveUnderscoreSpellings(http::Headers& headers) {
  std::vector<std::string> doomed;
  for (const http::Header& header : headers.all()) {
    if (header.name.find('_') == std::string::npos) {
      continue;
    }
    std::string dashed = header.name;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    if (core::AsciiEqualsIgnoreCase(dashed, kPeerIdHeader) ||
        core::AsciiEqualsIgnoreCase(dashed, "Txn-Token")) {
      doomed.push_back(header.name);
    }
  }
  for (const std::string& name : doomed) {
    headers.Remove(name);
  }
}

absl::StatusOr<std::string> TargetService(http::Request& request) {
  if (!request.target.starts_with("/")) {
    absl::StatusOr<http::Url> url = http::ParseUrl(request.target);
    if (!url.ok() || url->scheme != "http") {
      return absl::InvalidArgumentError(
          fmt::format("request target '{}' is neither a path nor an http:// URL", request.target));
    }
    request.target = url->target;
    return url->host;
  }
  std::optional<std::string_view> host = request.headers.Get("Host");
  std::string name = Lower(host.value_or("").substr(0, host.value_or("").find(':')));
  if (name.empty()) {
    return absl::InvalidArgumentError(
        "the Host header must name the service to call (http://<service>/path)");
  }
  return name;
}

}  // namespace bulwark::proxy
