// The gateway's bearer-token authentication (RFC 6750): the one `Authorization: Bearer <jwt>`
// header of a request, verified against mesh.yaml's gateway.issuers (tokens::VerifyUserToken:
// the authority's own access tokens or external OIDC issuers' keys from IssuerKeySources) and
// turned into the tokens::Subject the transaction token is minted for. Verified tokens are
// cached (VerifiedTokenCache) until their exp. Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "http/message.h"
#include "mesh/config.h"
#include "proxy/verified_token_cache.h"
#include "tokens/subject.h"
#include "tokens/user_token.h"

namespace bulwark::proxy {

// The largest bearer token looked at (a request head holds at most 16 KiB anyway).
inline constexpr std::size_t kMaxBearerTokenBytes = 8 * 1024;

struct BearerAuthOptions {
  core::Seconds skew{60};  // tolerated clock difference for exp, nbf and iat
  TokenCacheOptions cache;
};

class BearerAuthenticator {
 public:
  // Makes an authenticator for the gateway.issuers of `mesh`, verifying with `issuers` (their
  // key sources must outlive the authenticator; IssuerKeySources::issuers()).
  // FailedPrecondition when `mesh` has no gateway or no issuers; InvalidArgument when an issuer
  // of mesh.yaml is missing from `issuers`.
  static absl::StatusOr<std::unique_ptr<BearerAuthenticator>> Create(
      const mesh::MeshConfig& mesh, std::vector<tokens::TrustedIssuer> issuers,
      BearerAuthOptions options = {});

  // Returns the Subject of `request`'s bearer token, verified at `now` or found in the cache:
  // exactly one Authorization header, scheme "Bearer" (any case) followed by spaces and the
  // token. Unauthenticated with the precise reason, for the log (the gateway answers 401 with
  // `WWW-Authenticate: Bearer error="invalid_token"` and never the reason): no or several
  // Authorization headers, another scheme, an empty or oversized token, or any refusal of
  // tokens::VerifyUserToken.
  absl::StatusOr<tokens::Subject> Authenticate(const http::Request& request,
                                               core::TimePoint now) const;

  // Returns how many verified tokens are cached.
  std::size_t cached() const { return cache_.size(); }

 private:
  BearerAuthenticator(std::vector<tokens::TrustedIssuer> issuers, BearerAuthOptions options)
      : issuers_(std::move(issuers)), options_(options), cache_(options.cache) {}

  std::vector<tokens::TrustedIssuer> issuers_;
  BearerAuthOptions options_;
  mutable VerifiedTokenCache<std::shared_ptr<const tokens::Subject>> cache_;
};

// Returns the token of an `Authorization: Bearer <token>` header value (RFC 6750 §2.1: the
// scheme case-insensitive, then one or more spaces, then a b64token). Unauthenticated otherwise.
absl::StatusOr<std::string_view> ParseBearerCredentials(std::string_view value);

}  // namespace bulwark::proxy
