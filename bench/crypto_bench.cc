// Hot crypto paths through bulwark's wrappers: ECDSA P-256 and Ed25519 sign/verify, SVID
// signing by the CA, CSR parsing, transaction tokens uncached and as token-cache hits. Compared
// with `openssl speed` in the same run by bench/run.
#include <benchmark/benchmark.h>

#include "authority/ca/ca.h"
#include "authority/store/sqlite_store.h"
#include "crypto/csr.h"
#include "crypto/jwk.h"
#include "crypto/jwt.h"
#include "crypto/key.h"
#include "crypto/random.h"
#include "proxy/bearer_auth.h"
#include "proxy/token_filter.h"
#include "tests/support/temp_dir.h"
#include "tokens/txn_token.h"
#include "tokens/user_token.h"

namespace bulwark {
namespace {

using crypto::KeyType;
using crypto::PrivateKey;

void BM_Sign(benchmark::State& state, KeyType type) {
  PrivateKey key = PrivateKey::Generate(type).value();
  std::string message(32, 'm');  // as openssl speed: a 32-byte digest-sized input
  for (auto _ : state) {
    benchmark::DoNotOptimize(key.Sign(message));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Verify(benchmark::State& state, KeyType type) {
  PrivateKey key = PrivateKey::Generate(type).value();
  crypto::PublicKey pub = key.Public();
  std::string message(32, 'm');
  crypto::Bytes signature = key.Sign(message).value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(pub.Verify(message, signature));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_Sign, p256, KeyType::kP256);
BENCHMARK_CAPTURE(BM_Verify, p256, KeyType::kP256);
BENCHMARK_CAPTURE(BM_Sign, ed25519, KeyType::kEd25519);
BENCHMARK_CAPTURE(BM_Verify, ed25519, KeyType::kEd25519);

void BM_ParseCsr(benchmark::State& state) {
  PrivateKey key = PrivateKey::Generate(KeyType::kP256).value();
  std::string pem = crypto::CertificateRequest::Create(key, "w").value().ToPem();
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::CertificateRequest::FromPem(pem));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseCsr);

// Verifying a JWT end to end (split, strict base64url and JSON, alg pinning, signature,
// claims): the uncached cost the token filter will pay, next to the raw Verify above.
void BM_VerifyJwt(benchmark::State& state, KeyType type, crypto::JwsAlgorithm alg) {
  PrivateKey key = PrivateKey::Generate(type).value();
  auto keys = crypto::Jwks::FromKeys({{"k1", alg, key.Public()}}).value();
  core::TimePoint now = core::SystemClock().Now();
  nlohmann::json claims = {{"iss", "https://issuer.test"},
                           {"aud", "api"},
                           {"sub", "user-1"},
                           {"exp", core::ToUnixSeconds(now) + 3600},
                           {"scope", "rentals:read rentals:charge"}};
  std::string token = crypto::SignJwt(nlohmann::json::object(), claims, key, "k1").value();
  crypto::JwtExpectations expect{"https://issuer.test", "api"};
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::VerifyJwt(token, keys, expect, now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_VerifyJwt, es256, KeyType::kP256, crypto::JwsAlgorithm::kES256);
BENCHMARK_CAPTURE(BM_VerifyJwt, eddsa, KeyType::kEd25519, crypto::JwsAlgorithm::kEdDSA);

// A transaction token as the sidecar's filter sees it: uncached (the full profile check) and a
// hit in the verified-token cache (SHA-256 of the token, one sharded lookup), which must stay
// under 1 µs.
struct TxnTokenFixture {
  TxnTokenFixture() {
    PrivateKey key = PrivateKey::Generate(KeyType::kP256).value();
    crypto::Jwk jwk = crypto::JwkForKey(key.Public()).value();
    keys = std::make_shared<const tokens::IssuerKeys>(
        tokens::IssuerKeys{"https://authority.test", crypto::Jwks::FromKeys({jwk}).value()});
    tokens::TxnTokenClaims c{"https://authority.test",
                             "spiffe://bench",
                             "dHhu",
                             "user-1",
                             "local",
                             {"rentals:read"},
                             "spiffe://bench/gateway",
                             std::nullopt,
                             core::SystemClock().Now(),
                             core::SystemClock().Now() + std::chrono::seconds(60)};
    token =
        crypto::SignJwt({{"typ", "txntoken+jwt"}}, tokens::TxnTokenClaimsToJson(c), key, jwk.kid)
            .value();
  }
  std::shared_ptr<const tokens::IssuerKeys> keys;
  std::string token;
};

void BM_VerifyTxnToken(benchmark::State& state) {
  TxnTokenFixture f;
  core::TimePoint now = core::SystemClock().Now();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        tokens::VerifyTransactionToken(f.token, f.keys->jwks, "bench", f.keys->issuer, now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyTxnToken);

void BM_TokenCacheHit(benchmark::State& state) {
  // Shared by the benchmark's threads, as the filter is by the sidecar's workers.
  static TxnTokenFixture fixture;
  static proxy::TokenFilter filter({[] { return fixture.keys; }, nullptr}, "bench");
  TxnTokenFixture* f = &fixture;
  if (!filter.Verify(f->token, std::chrono::seconds(60)).ok()) {
    state.SkipWithError("the token does not verify");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(filter.Verify(f->token, std::chrono::seconds(60)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenCacheHit)->Threads(1)->Threads(2);

// A partner IdP's ES256 access token at the gateway: verified (VerifyUserToken, uncached) and
// authenticated from the BearerAuthenticator's cache (header parse, SHA-256, one lookup).
struct BearerFixture {
  BearerFixture() {
    PrivateKey key = PrivateKey::Generate(KeyType::kP256).value();
    crypto::Jwk jwk = crypto::JwkForKey(key.Public()).value();
    auto keys = std::make_shared<const tokens::IssuerKeys>(
        tokens::IssuerKeys{"https://partner.test", crypto::Jwks::FromKeys({jwk}).value()});
    mesh::IssuerConfig partner;
    partner.name = "partner";
    partner.issuer = "https://partner.test";
    partner.jwks = "file:unused";
    partner.audiences = {"api://bench"};
    mesh.trust_domain = "bench";
    mesh.gateway.emplace().issuers = {partner};
    issuers = {tokens::TrustedIssuerFromConfig(partner, "bench", {[keys] { return keys; }, {}})};
    long long exp = core::ToUnixSeconds(core::SystemClock().Now()) + 3600;
    std::string token = crypto::SignJwt({{"typ", "at+jwt"}},
                                        {{"iss", "https://partner.test"},
                                         {"aud", "api://bench"},
                                         {"sub", "alice"},
                                         {"exp", exp},
                                         {"scope", "rentals:read"}},
                                        key, jwk.kid)
                            .value();
    request.method = "GET";
    request.headers.Add("Authorization", "Bearer " + token);
    this->token = token;
  }
  mesh::MeshConfig mesh;
  std::vector<tokens::TrustedIssuer> issuers;
  std::string token;
  http::Request request;
};

void BM_VerifyUserToken(benchmark::State& state) {
  BearerFixture f;
  core::TimePoint now = core::SystemClock().Now();
  for (auto _ : state) {
    benchmark::DoNotOptimize(tokens::VerifyUserToken(f.token, f.issuers, now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyUserToken);

void BM_BearerCacheHit(benchmark::State& state) {
  static BearerFixture fixture;
  static std::unique_ptr<proxy::BearerAuthenticator> auth =
      proxy::BearerAuthenticator::Create(fixture.mesh, fixture.issuers).value();
  core::TimePoint now = core::SystemClock().Now();
  if (!auth->Authenticate(fixture.request, now).ok()) {
    state.SkipWithError("the token does not verify");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(auth->Authenticate(fixture.request, now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BearerCacheHit)->Threads(1)->Threads(2);

// Signing one X.509-SVID by the CA (no store write): the CPU cost of an issuance.
void BM_SignSvid(benchmark::State& state) {
  testing::TempDir dir;
  authority::StorePtr store = authority::OpenSqliteStore(dir.File("b.db")).value();
  auto ca = authority::CertificateAuthority::Initialize(*store, crypto::RandomBytes(32), "bench",
                                                        core::SystemClock(), {})
                .value();
  crypto::PublicKey subject = PrivateKey::Generate(KeyType::kP256).value().Public();
  auto id = identity::SpiffeId::Parse("spiffe://bench/svc/a").value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(ca->Sign(subject, id, std::chrono::hours(1)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignSvid);

}  // namespace
}  // namespace bulwark

BENCHMARK_MAIN();
