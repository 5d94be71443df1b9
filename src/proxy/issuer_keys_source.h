// The keys of every mesh.yaml gateway.issuers entry, for the gateway's bearer authentication and
// the authority's token exchange (one loader for both): `self` from the caller (the authority's
// published keys, or a JwksSource over the authority), `jwks: file:<path>` read once at start,
// `jwks: https://...` or `discovery: https://...` fetched and kept fresh by a JwksSource each
// (Cache-Control lifetime, background refresh, rate-limited refetch on an unknown kid, the last
// good keys kept while the issuer is away). Fetches use http::Send: https only, the server
// verified against the issuer's `ca` file or the system trust store, bodies of at most
// tokens::kMaxIssuerDocumentBytes, a deadline per request. Thread-safe after Start; the
// destructor stops the fetchers.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/x509.h"
#include "mesh/config.h"
#include "proxy/jwks_source.h"
#include "tokens/issuer_keys.h"
#include "tokens/user_token.h"

namespace bulwark::proxy {

// Debian's bundle of the system trust store (ca-certificates).
inline constexpr std::string_view kSystemRootsFile = "/etc/ssl/certs/ca-certificates.crt";

struct IssuerFetchOptions {
  std::chrono::milliseconds timeout{10'000};   // per request
  JwksSourceOptions source;                    // unknown-kid interval, retry
  std::string system_roots{kSystemRootsFile};  // used by issuers without `ca`
};

// Returns a fetcher of external issuer `config`'s keys over https: with `discovery`, the
// document (tokens::ParseDiscoveryJwksUri: its issuer must be config.issuer exactly) and then
// its jwks_uri; with an https `jwks`, that URL. Servers must chain to `roots` and match the
// URL's host. A non-200 answer, an oversized body or a JWKS that does not parse is an error;
// the lifetime comes from the JWKS answer's Cache-Control (tokens::JwksLifetime).
absl::StatusOr<KeysFetcher> HttpsIssuerKeysFetcher(const mesh::IssuerConfig& config,
                                                   const std::vector<crypto::Certificate>& roots,
                                                   std::chrono::milliseconds timeout);

class IssuerKeySources {
 public:
  // Loads the keys of `issuers` (trust domain `trust_domain` gives `self` its audience); `self`
  // is the key source of the authority's own keys (may be empty when no issuer is `self`, or
  // when the caller binds it later, as the authority does). Relative `file:` and `ca` paths are
  // relative to `base_dir`. Starts a JwksSource per https issuer (the first fetch runs in the
  // background: their tokens are refused until it succeeds). InvalidArgument naming the issuer
  // ("gateway.issuers[partner]: ...") when a JWKS file or a CA file cannot be read or parsed.
  static absl::StatusOr<std::unique_ptr<IssuerKeySources>> Start(
      const std::vector<mesh::IssuerConfig>& issuers, std::string_view trust_domain,
      const std::string& base_dir, tokens::IssuerKeySource self, IssuerFetchOptions options = {});
  IssuerKeySources(const IssuerKeySources&) = delete;
  IssuerKeySources& operator=(const IssuerKeySources&) = delete;

  // Returns the issuers with their keys, in mesh.yaml order (for tokens::VerifyUserToken). Their
  // key sources refer to this object, which must outlive every copy.
  const std::vector<tokens::TrustedIssuer>& issuers() const { return issuers_; }
  // Returns the background source of issuer `name`; null for `self`, file: and unknown names.
  const JwksSource* Source(std::string_view name) const;

 private:
  IssuerKeySources() = default;
  std::vector<tokens::TrustedIssuer> issuers_;
  std::vector<std::pair<std::string, std::unique_ptr<JwksSource>>> sources_;
};

}  // namespace bulwark::proxy
