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

absl::StatusOr<SpiffeIdPattern> SpiffeIdPattern::Parse(std::string_view text) {
  Kind kind = Kind::kExact;
  std::string_view prefix = text;
  if (text.ends_with("/**")) {
    kind = Kind::kAnySegments;
    prefix.remove_suffix(3);
  } else if (text.ends_with("/*")) {
    kind = Kind::kOneSegment;
    prefix.remove_suffix(2);
  }
  if (prefix.find('*') != std::string_view::npos) {
    return absl::InvalidArgumentError(fmt::format(
        "'{}': '*' may only be a whole last segment, /* (one segment) or /** (any)", text));
  }
  absl::Status valid = absl::OkStatus();
  if (kind != Kind::kExact && prefix.starts_with(kScheme) &&
      prefix.find('/', kScheme.size()) == std::string_view::npos) {
    valid = ValidateTrustDomain(prefix.substr(kScheme.size()));
  } else {
    valid = SpiffeId::Parse(prefix).status();
  }
  if (!valid.ok()) {
    return valid;
  }
  return SpiffeIdPattern(std::string(text), kind);
}

std::string_view SpiffeIdPattern::prefix() const {
  std::size_t suffix = kind_ == Kind::kExact ? 0 : (kind_ == Kind::kOneSegment ? 2 : 3);
  return std::string_view(text_).substr(0, text_.size() - suffix);
}

bool SpiffeIdPattern::Matches(std::string_view id) const {
  if (kind_ == Kind::kExact) {
    return id == text_;
  }
  std::string_view base = prefix();
  if (id.size() <= base.size() + 1 || !id.starts_with(base) || id[base.size()] != '/') {
    return false;
  }
  return kind_ == Kind::kAnySegments || id.find('/', base.size() + 1) == std::string_view::npos;
}

std::string TrustDomainId(std::string_view trust_domain) {
  return fmt::format("{}{}", kScheme, trust_domain);
}

std::string ServiceId(std::string_view trust_domain, std::string_view name) {
  return fmt::format("{}{}/svc/{}", kScheme, trust_domain, name);
}

std::string GatewayId(std::string_view trust_domain) {
  return fmt::format("{}{}/gateway", kScheme, trust_domain);
}

}  // namespace bulwark::identity
