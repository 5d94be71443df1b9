// SPIFFE IDs (spiffe://trust-domain/path) and trust domain names, validated per the SPIFFE ID
// specification. Values are immutable; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bulwark::identity {

// Checks a trust domain name: 1-255 chars of lowercase letters, digits, '.', '-' and '_'.
absl::Status ValidateTrustDomain(std::string_view trust_domain);

class SpiffeId {
 public:
  // Parses and validates "spiffe://<trust-domain>/<path>". The path must be non-empty, made of
  // segments of letters, digits, '.', '-' and '_', with no empty, "." or ".." segment and no
  // trailing slash; the whole ID is at most 2048 bytes. Errors say which rule was broken.
  static absl::StatusOr<SpiffeId> Parse(std::string_view text);
  // Builds the ID for `path` (which starts with '/') in `trust_domain`, validating both.
  static absl::StatusOr<SpiffeId> FromParts(std::string_view trust_domain, std::string_view path);

  const std::string& str() const { return text_; }
  std::string_view trust_domain() const;
  std::string_view path() const;
  // Returns whether this ID names an administrator (path under /admin/).
  bool IsAdmin() const { return path().starts_with("/admin/"); }

  friend bool operator==(const SpiffeId& a, const SpiffeId& b) { return a.text_ == b.text_; }

 private:
  SpiffeId(std::string text, std::size_t path_start)
      : text_(std::move(text)), path_start_(path_start) {}
  std::string text_;
  std::size_t path_start_;
};

// A set of SPIFFE IDs named in a policy: one ID ("spiffe://td/svc/a"), every ID exactly one
// segment below a prefix ("spiffe://td/svc/*"), or every ID one or more segments below it
// ("spiffe://td/**"). The prefix is a valid SPIFFE ID or a trust domain's ID ("spiffe://td").
class SpiffeIdPattern {
 public:
  enum class Kind { kExact, kOneSegment, kAnySegments };

  // Parses a pattern. Errors (InvalidArgument): not a SPIFFE ID, a '*' anywhere but a whole
  // last segment "/*" or "/**", an invalid prefix.
  static absl::StatusOr<SpiffeIdPattern> Parse(std::string_view text);

  // Returns whether the valid SPIFFE ID `id` is in the set.
  bool Matches(std::string_view id) const;

  Kind kind() const { return kind_; }
  // The pattern as written.
  const std::string& str() const { return text_; }
  // For an exact pattern the ID; otherwise the prefix before "/*" or "/**".
  std::string_view prefix() const;

 private:
  SpiffeIdPattern(std::string text, Kind kind) : text_(std::move(text)), kind_(kind) {}
  std::string text_;
  Kind kind_;
};

// Returns the ID of the trust domain itself ("spiffe://td"), placed in CA certificates.
std::string TrustDomainId(std::string_view trust_domain);
// Returns the SPIFFE ID of mesh service `name`: spiffe://<trust_domain>/svc/<name>.
std::string ServiceId(std::string_view trust_domain, std::string_view name);
// Returns the SPIFFE ID of the gateway: spiffe://<trust_domain>/gateway.
std::string GatewayId(std::string_view trust_domain);

}  // namespace bulwark::identity
