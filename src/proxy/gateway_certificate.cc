// Fetching and renewing the authority-issued gateway certificate.
#include "proxy/gateway_certificate.h"

#include <algorithm>
#include <vector>

#include "core/status.h"
#include "crypto/csr.h"
#include "crypto/key.h"
#include "crypto/x509.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "tls/context.h"

namespace bulwark::proxy {
namespace {

constexpr std::chrono::seconds kExchangeTimeout{10};

// Checks the authority's answer and builds the public TLS context for it and `key`.
absl::StatusOr<PublicTlsCertificate> FromAnswer(const nlohmann::json& answer,
                                                crypto::PrivateKey key,
                                                const std::vector<crypto::Certificate>& bundle) {
  if (!answer.is_object() || !answer.contains("cert_pem") || !answer["cert_pem"].is_string()) {
    return absl::UnavailableError("the authority's answer has no cert_pem");
  }
  absl::StatusOr<std::vector<crypto::Certificate>> chain =
      crypto::Certificate::ChainFromPem(answer["cert_pem"].get<std::string>());
  if (!chain.ok()) {
    return absl::UnavailableError(
        fmt::format("the authority's cert_pem: {}", chain.status().message()));
  }
  BULWARK_ASSIGN_OR_RETURN(crypto::PublicKey leaf_key, chain->front().SubjectPublicKey());
  if (!leaf_key.Equals(key.Public())) {
    return absl::UnavailableError(
        "the authority's certificate is not for the key it was asked for");
  }
  std::vector<crypto::Certificate> intermediates(chain->begin() + 1, chain->end());
  if (absl::Status s =
          crypto::VerifyChain(chain->front(), intermediates, bundle, core::SystemClock().Now());
      !s.ok()) {
    return absl::UnavailableError(
        fmt::format("the authority's certificate does not chain to the bundle: {}", s.message()));
  }
  PublicTlsCertificate out;
  out.serial = chain->front().SerialHex();
  out.not_before = chain->front().NotBefore();
  out.not_after = chain->front().NotAfter();
  BULWARK_ASSIGN_OR_RETURN(out.context, tls::MakePublicServerContext(
                                            tls::Credentials{*std::move(chain), std::move(key)}));
  return out;
}

}  // namespace

absl::StatusOr<PublicTlsCertificate> FetchGatewayCertificate(
    const identity::AuthorityClient& client, const SvidProvider& svid,
    const mesh::GatewayCertificateNames& names) {
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                           crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  BULWARK_ASSIGN_OR_RETURN(crypto::CertificateRequest csr,
                           crypto::CertificateRequest::Create(key, "gateway"));
  std::shared_ptr<const identity::Svid> current = svid();
  nlohmann::json body = {{"csr", csr.ToPem()}, {"dns", names.dns}, {"ips", names.ips}};
  BULWARK_ASSIGN_OR_RETURN(nlohmann::json answer,
                           client.CallJson("POST", "/v1/gateway/certificate", body,
                                           &current->credentials, kExchangeTimeout));
  return FromAnswer(answer, std::move(key), current->bundle);
}

GatewayCertificateRenewer::GatewayCertificateRenewer(identity::AuthorityClient client,
                                                     SvidProvider svid,
                                                     mesh::GatewayCertificateNames names,
                                                     const PublicTlsCertificate& current,
                                                     Install install)
    : client_(std::move(client)),
      svid_(std::move(svid)),
      names_(std::move(names)),
      install_(std::move(install)) {
  thread_ =
      std::thread([this, from = current.not_before, to = current.not_after] { Run(from, to); });
}

GatewayCertificateRenewer::~GatewayCertificateRenewer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void GatewayCertificateRenewer::Run(core::TimePoint not_before, core::TimePoint not_after) {
  auto life = not_after - not_before;
  core::TimePoint due = not_before + life / 2;
  std::unique_lock lock(mu_);
  while (!wake_.wait_until(lock, due, [this] { return stop_; })) {
    lock.unlock();
    absl::StatusOr<PublicTlsCertificate> next = FetchGatewayCertificate(client_, svid_, names_);
    if (next.ok()) {
      life = next->not_after - next->not_before;
      due = next->not_before + life / 2;
      spdlog::info("gateway: TLS certificate renewed (serial {}); new connections use it",
                   next->serial);
      install_(*std::move(next));
    } else {
      auto retry = std::clamp<core::TimePoint::duration>(life / 10, std::chrono::seconds(1),
                                                         std::chrono::seconds(60));
      due = core::SystemClock().Now() + retry;
      spdlog::error("gateway: TLS certificate renewal failed (retrying in {} s): {}",
                    std::chrono::duration_cast<std::chrono::seconds>(retry).count(),
                    next.status().message());
    }
    lock.lock();
  }
}

}  // namespace bulwark::proxy
