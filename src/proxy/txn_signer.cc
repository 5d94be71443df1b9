#include "proxy/txn_signer.h"

#include <algorithm>

#include "core/status.h"
#include "crypto/jwk.h"
#include "fmt/format.h"
#include "identity/spiffe_id.h"
#include "spdlog/spdlog.h"
#include "tokens/txn_token.h"

namespace bulwark::proxy {
namespace {

// SPIFFE ID path of the gateway, the one workload the authority delegates a key to.
constexpr std::string_view kGatewayPath = "/gateway";

absl::StatusOr<TxnKeyGrant> GrantOf(const nlohmann::json& answer) {
  auto time = [&](const char* name) -> absl::StatusOr<core::TimePoint> {
    auto it = answer.find(name);
    if (it == answer.end() || !it->is_number_integer()) {
      return absl::DataLossError(fmt::format("authority's txn-key answer lacks '{}'", name));
    }
    return core::FromUnixSeconds(it->get<long long>());
  };
  auto kid = answer.is_object() ? answer.find("kid") : answer.end();
  if (!answer.is_object() || kid == answer.end() || !kid->is_string()) {
    return absl::DataLossError("authority's txn-key answer lacks 'kid'");
  }
  BULWARK_ASSIGN_OR_RETURN(core::TimePoint signs_from, time("signs_from"));
  BULWARK_ASSIGN_OR_RETURN(core::TimePoint expires_at, time("expires_at"));
  return TxnKeyGrant{kid->get<std::string>(), signs_from, expires_at};
}

}  // namespace

TxnKeyRegistrar AuthorityTxnKeyRegistrar(
    identity::AuthorityClient client, std::function<std::shared_ptr<const identity::Svid>()> svid) {
  return [client = std::move(client),
          svid = std::move(svid)](const nlohmann::json& jwk) -> absl::StatusOr<TxnKeyGrant> {
    std::shared_ptr<const identity::Svid> current = svid();
    BULWARK_ASSIGN_OR_RETURN(nlohmann::json answer,
                             client.CallJson("POST", "/v1/txn-keys", nlohmann::json{{"jwk", jwk}},
                                             &current->credentials, std::chrono::seconds(10)));
    return GrantOf(answer);
  };
}

TxnSigner::TxnSigner(TxnSignerOptions options, TxnKeyRegistrar registrar, const core::Clock& clock)
    : options_(std::move(options)),
      registrar_(std::move(registrar)),
      clock_(clock),
      gateway_id_(
          fmt::format("{}{}", identity::TrustDomainId(options_.trust_domain), kGatewayPath)),
      audience_(identity::TrustDomainId(options_.trust_domain)),
      keys_(std::make_shared<const Keys>()) {}

TxnSigner::~TxnSigner() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

absl::StatusOr<std::unique_ptr<TxnSigner>> TxnSigner::Create(TxnSignerOptions options,
                                                             TxnKeyRegistrar registrar,
                                                             const core::Clock& clock) {
  if (options.issuer.empty() || options.trust_domain.empty()) {
    return absl::InvalidArgumentError(
        "the transaction-token signer needs an issuer and a trust domain");
  }
  if (options.txn_ttl < core::Seconds(1) || options.txn_ttl > tokens::kMaxTxnTokenLifetime) {
    return absl::InvalidArgumentError(
        fmt::format("the transaction-token lifetime must be 1 to {} s, not {} s",
                    tokens::kMaxTxnTokenLifetime.count(), options.txn_ttl.count()));
  }
  if (!options.generate_key) {
    options.generate_key = [] { return crypto::PrivateKey::Generate(crypto::KeyType::kP256); };
  }
  std::unique_ptr<TxnSigner> signer(new TxnSigner(std::move(options), std::move(registrar), clock));
  std::lock_guard lock(signer->mu_);
  BULWARK_RETURN_IF_ERROR(signer->RegisterKey(clock.Now()));
  return signer;
}

absl::Status TxnSigner::RegisterKey(core::TimePoint now) {
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key, options_.generate_key());
  BULWARK_ASSIGN_OR_RETURN(crypto::Jwk jwk, crypto::JwkForKey(key.Public()));
  BULWARK_ASSIGN_OR_RETURN(nlohmann::json jwk_json, crypto::JwkToJson(jwk));
  absl::StatusOr<TxnKeyGrant> grant = registrar_(jwk_json);
  if (!grant.ok()) {
    return absl::Status(
        grant.status().code(),
        fmt::format("registering a transaction-token key: {}", grant.status().message()));
  }
  if (grant->kid != jwk.kid || grant->expires_at - options_.txn_ttl <= now) {
    return absl::DataLossError(
        fmt::format("the authority granted kid {} until {}, not usable for key {}", grant->kid,
                    core::ToUnixSeconds(grant->expires_at), jwk.kid));
  }
  auto keys = std::make_shared<Keys>(*keys_.load());
  keys->push_back({jwk.kid, std::make_shared<const crypto::PrivateKey>(std::move(key)), now,
                   grant->signs_from, grant->expires_at - options_.txn_ttl, grant->expires_at});
  keys_.store(std::move(keys));
  ++registrations_;
  spdlog::info(
      "transaction-token key {} registered: signs from {} (every verifier has it), "
      "expires {}",
      jwk.kid, core::ToUnixSeconds(grant->signs_from), core::ToUnixSeconds(grant->expires_at));
  return absl::OkStatus();
}

const TxnSigner::Key* TxnSigner::Choose(const Keys& keys, core::TimePoint now) {
  const Key* fallback = nullptr;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    if (now >= it->stop_at) {
      continue;
    }
    if (now >= it->signs_from) {
      return &*it;  // the newest key every verifier has
    }
    if (fallback == nullptr) {
      fallback = &*it;
    }
  }
  // Only keys some verifiers may not have yet (the first key after start): the newest, since a
  // verifier refetches its JWKS on an unknown kid.
  return fallback;
}

absl::StatusOr<std::string> TxnSigner::Mint(const tokens::Subject& subject, std::string_view txn_id,
                                            std::string_view client_ip) const {
  if (txn_id.empty() || subject.subject.empty()) {
    return absl::InvalidArgumentError("a transaction token needs a transaction id and a subject");
  }
  const core::TimePoint now = clock_.Now();
  std::shared_ptr<const Keys> keys = keys_.load();
  const Key* key = Choose(*keys, now);
  if (key == nullptr) {
    return absl::FailedPreconditionError(
        "no usable transaction-token key: registering one with the authority keeps failing");
  }
  tokens::TxnTokenClaims claims;
  claims.issuer = options_.issuer;
  claims.audience = audience_;
  claims.txn = std::string(txn_id);
  claims.subject = subject.subject;
  claims.subject_issuer = subject.issuer;
  claims.scope = subject.scope;
  claims.requesting_workload = gateway_id_;
  if (!client_ip.empty()) {
    claims.request_ip = std::string(client_ip);
  }
  claims.issued_at = now;
  claims.expires_at = now + options_.txn_ttl;
  return tokens::SignTransactionToken(claims, *key->key, key->kid);
}

absl::Status TxnSigner::Maintain() {
  std::lock_guard lock(mu_);
  const core::TimePoint now = clock_.Now();
  std::shared_ptr<const Keys> current = keys_.load();
  auto kept = std::make_shared<Keys>();
  std::copy_if(current->begin(), current->end(), std::back_inserter(*kept),
               [now](const Key& k) { return now < k.stop_at; });
  if (kept->size() != current->size()) {
    keys_.store(kept);
  }
  bool due = kept->empty() || now >= kept->back().registered_at +
                                         (kept->back().expires_at - kept->back().registered_at) / 2;
  if (!due || now < next_attempt_) {
    return absl::OkStatus();
  }
  absl::Status registered = RegisterKey(now);
  next_attempt_ = registered.ok() ? core::TimePoint() : now + options_.retry;
  return registered;
}

void TxnSigner::StartMaintenance(std::chrono::milliseconds interval) {
  thread_ = std::thread([this, interval] {
    std::unique_lock lock(stop_mu_);
    while (!wake_.wait_for(lock, interval, [this] { return stop_; })) {
      lock.unlock();
      if (absl::Status s = Maintain(); !s.ok()) {
        spdlog::error("{}", s.message());
      }
      lock.lock();
    }
  });
}

std::string TxnSigner::CurrentKid() const {
  std::shared_ptr<const Keys> keys = keys_.load();
  const Key* key = Choose(*keys, clock_.Now());
  return key == nullptr ? "" : key->kid;
}

}  // namespace bulwark::proxy
