#include "identity/spiffe_id.h"

#include "fmt/format.h"

namespace bulwark::identity {
namespace {

constexpr std::string_view kScheme = "spiffe://";
constexpr std::size_t kMaxIdBytes = 2048;

bool IsTrustDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

absl::Status ValidatePath(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return absl::InvalidArgumentError("SPIFFE ID path must start with '/' (as in /svc/name)");
  }
  std::size_t start = 1;
  while (true) {
    std::size_t end = path.find('/', start);
    std::string_view segment =
        path.substr(start, end == std::string_view::npos ? end : end - start);
    if (segment.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("SPIFFE ID path '{}' has an empty segment or a trailing slash", path));
    }
    if (segment == "." || segment == "..") {
      return absl::InvalidArgumentError(
          fmt::format("SPIFFE ID path '{}' must not contain '.' or '..' segments", path));
    }
    for (char c : segment) {
      if (!IsPathChar(c)) {
        return absl::InvalidArgumentError(fmt::format(
            "SPIFFE ID path '{}' may only contain letters, digits, '.', '-', '_' and '/'", path));
      }
    }
    if (end == std::string_view::npos) {
      return absl::OkStatus();
    }
    start = end + 1;
  }
}

}  // namespace

absl::Status ValidateTrustDomain(std::string_view trust_domain) {
  if (trust_domain.empty() || trust_domain.size() > 255) {
    return absl::InvalidArgumentError("trust domain must be 1 to 255 characters long");
  }
  for (char c : trust_domain) {
    if (!IsTrustDomainChar(c)) {
      return absl::InvalidArgumentError(fmt::format(
          "trust domain '{}' may only contain lowercase letters, digits, '.', '-' and '_'",
          trust_domain));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SpiffeId> SpiffeId::Parse(std::string_view text) {
  if (text.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError("SPIFFE ID is longer than 2048 bytes");
  }
  if (!text.starts_with(kScheme)) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not a SPIFFE ID: it must start with spiffe://", text));
  }
  std::string_view rest = text.substr(kScheme.size());
  std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(fmt::format(
        "SPIFFE ID '{}' has no path: workload IDs look like spiffe://domain/svc/name", text));
  }
  if (absl::Status s = ValidateTrustDomain(rest.substr(0, slash)); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidatePath(rest.substr(slash)); !s.ok()) {
    return s;
  }
  return SpiffeId(std::string(text), kScheme.size() + slash);
}

absl::StatusOr<SpiffeId> SpiffeId::FromParts(std::string_view trust_domain, std::string_view path) {
  return Parse(fmt::format("{}{}{}", kScheme, trust_domain, path));
}

std::string_view SpiffeId::trust_domain() const {
  return std::string_view(text_).substr(kScheme.size(), path_start_ - kScheme.size());
}

std::string_view SpiffeId::path() const { return std::string_view(text_).substr(path_start_); }

std::string TrustDomainId(std::string_view trust_domain) {
  return fmt::format("{}{}", kScheme, trust_domain);
}

}  // namespace bulwark::identity
