#include "tokens/scope.h"

#include <algorithm>

#include "core/status.h"
#include "crypto/jwk.h"
#include "fmt/format.h"

namespace bulwark::tokens {
namespace {

bool IsScopeChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x5b) || (u >= 0x5d && u <= 0x7e);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseScope(std::string_view text, std::size_t max_tokens) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t space = text.find(' ', start);
    std::string_view token =
        text.substr(start, space == std::string_view::npos ? space : space - start);
    if (token.empty()) {
      return absl::InvalidArgumentError(
          "scope must be scope tokens separated by single spaces (RFC 6749 §3.3)");
    }
    for (char c : token) {
      if (!IsScopeChar(c)) {
        return absl::InvalidArgumentError(
            fmt::format("scope token {} has a character RFC 6749 §3.3 does not allow",
                        crypto::internal::QuoteForMessage(token)));
      }
    }
    if (std::find(out.begin(), out.end(), token) != out.end()) {
      return absl::InvalidArgumentError(
          fmt::format("scope token {} is repeated", crypto::internal::QuoteForMessage(token)));
    }
    if (out.size() == max_tokens) {
      return absl::InvalidArgumentError(fmt::format("scope has more than {} tokens", max_tokens));
    }
    out.emplace_back(token);
    if (space == std::string_view::npos) {
      return out;
    }
    start = space + 1;
  }
}

absl::StatusOr<std::vector<std::string>> ScopeClaim(const nlohmann::json& claims) {
  auto scope = claims.find("scope");
  if (scope == claims.end()) {
    return std::vector<std::string>();
  }
  absl::StatusOr<std::vector<std::string>> parsed =
      scope->is_string() ? ParseScope(scope->get<std::string>())
                         : absl::InvalidArgumentError("is not a string");
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(fmt::format("claim 'scope': {}", parsed.status().message()));
  }
  return parsed;
}

std::string JoinScope(const std::vector<std::string>& scopes) {
  std::string out;
  for (const std::string& scope : scopes) {
    if (!out.empty()) {
      out += ' ';
    }
    out += scope;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> NarrowScope(const std::vector<std::string>& granted,
                                                     const std::vector<std::string>& requested) {
  for (const std::string& scope : requested) {
    if (std::find(granted.begin(), granted.end(), scope) == granted.end()) {
      return absl::PermissionDeniedError(fmt::format(
          "scope {} is not granted to the subject token: a transaction token can only narrow "
          "the scope, never widen it",
          crypto::internal::QuoteForMessage(scope)));
    }
  }
  return requested;
}

}  // namespace bulwark::tokens
