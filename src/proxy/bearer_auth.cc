#include "proxy/bearer_auth.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/status.h"
#include "fmt/format.h"

namespace bulwark::proxy {
namespace {

absl::Status Refuse(std::string_view reason) {
  return absl::UnauthenticatedError(fmt::format("bearer token refused: {}", reason));
}

// RFC 6750 §2.1 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "="s.
bool IsB64Token(std::string_view token) {
  std::size_t end = token.find_last_not_of('=');
  if (end == std::string_view::npos) {
    return false;
  }
  return std::all_of(
      token.begin(), token.begin() + static_cast<std::ptrdiff_t>(end) + 1, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
      });
}

}  // namespace

absl::StatusOr<std::string_view> ParseBearerCredentials(std::string_view value) {
  constexpr std::string_view kScheme = "Bearer";
  if (value.size() <= kScheme.size() ||
      !core::AsciiEqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme) ||
      value[kScheme.size()] != ' ') {
    return Refuse("the Authorization header is not 'Bearer <token>'");
  }
  std::string_view token = value.substr(kScheme.size());
  token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
  if (token.empty()) {
    return Refuse("the Authorization header has no token after 'Bearer'");
  }
  if (token.size() > kMaxBearerTokenBytes) {
    return Refuse(
        fmt::format("{} bytes, at most {} are allowed", token.size(), kMaxBearerTokenBytes));
  }
  if (!IsB64Token(token)) {
    return Refuse("the token has characters a bearer token cannot have (RFC 6750 §2.1)");
  }
  return token;
}

absl::StatusOr<std::unique_ptr<BearerAuthenticator>> BearerAuthenticator::Create(
    const mesh::MeshConfig& mesh, std::vector<tokens::TrustedIssuer> issuers,
    BearerAuthOptions options) {
  if (!mesh.gateway.has_value() || mesh.gateway->issuers.empty()) {
    return absl::FailedPreconditionError(
        "bearer authentication needs gateway.issuers in mesh.yaml");
  }
  for (const mesh::IssuerConfig& config : mesh.gateway->issuers) {
    if (std::none_of(issuers.begin(), issuers.end(),
                     [&](const tokens::TrustedIssuer& i) { return i.name == config.name; })) {
      return absl::InvalidArgumentError(
          fmt::format("gateway.issuers[{}] has no key source", config.name));
    }
  }
  return std::unique_ptr<BearerAuthenticator>(new BearerAuthenticator(std::move(issuers), options));
}

absl::StatusOr<tokens::Subject> BearerAuthenticator::Authenticate(const http::Request& request,
                                                                  core::TimePoint now) const {
  std::size_t count = request.headers.Count("Authorization");
  if (count != 1) {
    return Refuse(count == 0
                      ? "no Authorization header"
                      : fmt::format("{} Authorization headers, exactly one is allowed", count));
  }
  absl::StatusOr<std::string_view> token =
      ParseBearerCredentials(*request.headers.Get("Authorization"));
  if (!token.ok()) {
    return token.status();
  }
  std::string digest = TokenDigest(*token);
  if (std::optional<std::shared_ptr<const tokens::Subject>> hit = cache_.Find(digest, now)) {
    return **hit;
  }
  absl::StatusOr<tokens::VerifiedUserToken> verified =
      tokens::VerifyUserToken(*token, issuers_, now, options_.skew);
  if (!verified.ok()) {
    return Refuse(std::string(verified.status().message()));
  }
  auto subject = std::make_shared<const tokens::Subject>(std::move(verified->subject));
  cache_.Insert(std::move(digest), subject, verified->expires_at, now);
  return *subject;
}

}  // namespace bulwark::proxy
