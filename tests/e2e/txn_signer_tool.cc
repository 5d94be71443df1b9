// The gateway role for tests/e2e/test_txn_signer.py: with the gateway's SVID files, registers a
// delegated transaction-token key with a real authority (proxy::TxnSigner over mTLS), mints a
// token for SUBJECT, and signs a forged one with the same key whose req_wl is FORGED_REQ_WL.
// Prints {"kid", "token", "forged"} as JSON on the last line of stdout (after log lines); exits
// 1 with the error on stderr.
// Usage: txn_signer_tool AUTHORITY_URL BUNDLE SVID KEY SUBJECT FORGED_REQ_WL
#include <cstdio>
#include <memory>
#include <string>

#include "core/files.h"
#include "core/status.h"
#include "crypto/jwk.h"
#include "identity/authority_client.h"
#include "identity/spiffe_id.h"
#include "proxy/txn_signer.h"
#include "tokens/txn_token.h"

namespace {

using namespace bulwark;

absl::StatusOr<nlohmann::json> Run(char** argv) {
  BULWARK_ASSIGN_OR_RETURN(std::string bundle_pem, core::ReadFile(argv[2]));
  BULWARK_ASSIGN_OR_RETURN(std::string chain_pem, core::ReadFile(argv[3]));
  BULWARK_ASSIGN_OR_RETURN(std::string key_pem, core::ReadFile(argv[4]));
  BULWARK_ASSIGN_OR_RETURN(auto svid, identity::SvidFromPem(chain_pem, key_pem, bundle_pem));
  auto shared = std::make_shared<const identity::Svid>(std::move(svid));
  BULWARK_ASSIGN_OR_RETURN(identity::AuthorityClient client,
                           identity::AuthorityClient::Create(argv[1], shared->bundle));
  BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId self, identity::SpiffeId::Parse(shared->spiffe_id));
  BULWARK_ASSIGN_OR_RETURN(http::Response metadata,
                           client.Get("/.well-known/oauth-authorization-server"));
  nlohmann::json doc = nlohmann::json::parse(metadata.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("issuer") || !doc["issuer"].is_string()) {
    return absl::DataLossError("the authority's metadata has no issuer");
  }
  // Keep a copy of the key the signer generates, to forge a token with it below.
  std::shared_ptr<std::string> copy = std::make_shared<std::string>();
  proxy::TxnSignerOptions options;
  options.issuer = doc["issuer"].get<std::string>();
  options.trust_domain = self.trust_domain();
  options.generate_key = [copy]() -> absl::StatusOr<crypto::PrivateKey> {
    BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                             crypto::PrivateKey::Generate(crypto::KeyType::kP256));
    *copy = key.ToPem();
    return key;
  };
  BULWARK_ASSIGN_OR_RETURN(
      proxy::TxnSignerPtr signer,
      proxy::TxnSigner::Create(options,
                               proxy::AuthorityTxnKeyRegistrar(client, [shared] { return shared; }),
                               core::SystemClock()));
  BULWARK_ASSIGN_OR_RETURN(std::string token,
                           signer->Mint({"idp", argv[5], {"rentals:read"}}, "ZTJlLXR4bg", ""));
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::FromPem(*copy));
  tokens::TxnTokenClaims forged;
  forged.issuer = options.issuer;
  forged.audience = identity::TrustDomainId(options.trust_domain);
  forged.txn = "Zm9yZ2Vk";
  forged.subject = argv[5];
  forged.subject_issuer = "local";
  forged.requesting_workload = argv[6];
  forged.issued_at = core::SystemClock().Now();
  forged.expires_at = forged.issued_at + core::Seconds(60);
  BULWARK_ASSIGN_OR_RETURN(std::string forged_token,
                           tokens::SignTransactionToken(forged, key, signer->CurrentKid()));
  return nlohmann::json{{"kid", signer->CurrentKid()}, {"token", token}, {"forged", forged_token}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s AUTHORITY_URL BUNDLE SVID KEY SUBJECT FORGED_REQ_WL\n",
                 argv[0]);
    return 2;
  }
  absl::StatusOr<nlohmann::json> out = Run(argv);
  if (!out.ok()) {
    std::fprintf(stderr, "%s\n", out.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", out->dump().c_str());
  return 0;
}
