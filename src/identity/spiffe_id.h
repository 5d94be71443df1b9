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

// Returns the ID of the trust domain itself ("spiffe://td"), placed in CA certificates.
std::string TrustDomainId(std::string_view trust_domain);

}  // namespace bulwark::identity
