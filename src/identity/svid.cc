#include "identity/svid.h"

#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"
#include "identity/spiffe_id.h"

namespace bulwark::identity {

absl::StatusOr<Svid> SvidFromPem(std::string_view chain_pem, std::string_view key_pem,
                                 std::string_view bundle_pem) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> chain,
                           crypto::Certificate::ChainFromPem(chain_pem));
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::FromPem(key_pem));
  BULWARK_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> bundle,
                           crypto::Certificate::ChainFromPem(bundle_pem));
  BULWARK_ASSIGN_OR_RETURN(crypto::PublicKey leaf_key, chain.front().SubjectPublicKey());
  if (!leaf_key.Equals(key.Public())) {
    return absl::InvalidArgumentError("the private key does not belong to the SVID");
  }
  std::vector<std::string> uris = chain.front().UriSans();
  if (uris.size() != 1) {
    return absl::InvalidArgumentError("an SVID carries exactly one URI SAN");
  }
  BULWARK_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::Parse(uris.front()));
  std::vector<crypto::Certificate> intermediates(chain.begin() + 1, chain.end());
  absl::Status verified =
      crypto::VerifyChain(chain.front(), intermediates, bundle, core::SystemClock().Now());
  if (!verified.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("the SVID does not verify against the bundle: {}", verified.message()));
  }
  return Svid{id.str(), tls::Credentials{std::move(chain), std::move(key)}, std::move(bundle)};
}

absl::Status WriteSvidFiles(const std::string& dir, const Svid& svid) {
  std::string chain, bundle;
  for (const crypto::Certificate& cert : svid.credentials.chain) {
    chain += cert.ToPem();
  }
  for (const crypto::Certificate& cert : svid.bundle) {
    bundle += cert.ToPem();
  }
  BULWARK_RETURN_IF_ERROR(core::WriteFileAtomic(dir + "/bundle.pem", bundle, 0644));
  BULWARK_RETURN_IF_ERROR(
      core::WriteFileAtomic(dir + "/key.pem", svid.credentials.key.ToPem(), 0600));
  return core::WriteFileAtomic(dir + "/svid.pem", chain, 0644);
}

absl::StatusOr<Svid> ReadSvidFiles(const std::string& dir) {
  BULWARK_ASSIGN_OR_RETURN(std::string chain, core::ReadFile(dir + "/svid.pem", 64 * 1024));
  BULWARK_ASSIGN_OR_RETURN(std::string key, core::ReadSecretFile(dir + "/key.pem", 16 * 1024));
  BULWARK_ASSIGN_OR_RETURN(std::string bundle, core::ReadFile(dir + "/bundle.pem", 256 * 1024));
  return SvidFromPem(chain, key, bundle);
}

absl::StatusOr<std::string> BundleTrustDomain(const std::vector<crypto::Certificate>& bundle) {
  constexpr std::string_view kScheme = "spiffe://";
  for (const crypto::Certificate& root : bundle) {
    for (const std::string& uri : root.UriSans()) {
      if (uri.starts_with(kScheme) && uri.find('/', kScheme.size()) == std::string::npos &&
          ValidateTrustDomain(uri.substr(kScheme.size())).ok()) {
        return uri.substr(kScheme.size());
      }
    }
  }
  return absl::InvalidArgumentError(
      "the bundle names no trust domain (no root certificate with a spiffe://<td> URI SAN)");
}

}  // namespace bulwark::identity
