// An X.509-SVID held by a workload: its chain, private key and the trust bundle, plus reading
// and writing them as the files other tools expect (svid.pem, key.pem 0600, bundle.pem).
// Immutable once made; share across threads as std::shared_ptr<const Svid>.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/key.h"
#include "crypto/x509.h"
#include "tls/context.h"

namespace bulwark::identity {

struct Svid {
  std::string spiffe_id;
  tls::Credentials credentials;  // chain (leaf first, then intermediates) and key
  std::vector<crypto::Certificate> bundle;

  const crypto::Certificate& leaf() const { return credentials.chain.front(); }
};

// Builds an Svid from PEM texts, checking that the key matches the leaf, that the leaf has one
// SPIFFE ID and that it chains to the bundle now.
absl::StatusOr<Svid> SvidFromPem(std::string_view chain_pem, std::string_view key_pem,
                                 std::string_view bundle_pem);
// Writes `dir`/svid.pem, `dir`/key.pem (0600) and `dir`/bundle.pem, each atomically.
absl::Status WriteSvidFiles(const std::string& dir, const Svid& svid);
// Reads the three files written by WriteSvidFiles (key.pem must not be readable by others).
absl::StatusOr<Svid> ReadSvidFiles(const std::string& dir);
// Returns the trust domain named by the bundle's spiffe://<td> root certificate.
absl::StatusOr<std::string> BundleTrustDomain(const std::vector<crypto::Certificate>& bundle);

}  // namespace bulwark::identity
