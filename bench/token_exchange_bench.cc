// Transaction tokens two ways: a token-exchange round trip to a real `bulwark authority serve`
// (a new TLS 1.3 connection with the gateway's SVID, the form, the subject token's ES256
// verification and the new token's signature) against signing the same claims locally, which is
// what a delegated gateway key will allow. Usage: token_exchange_bench BULWARK_BINARY [COUNT]
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/files.h"
#include "crypto/jwt.h"
#include "fmt/format.h"
#include "http/client.h"
#include "identity/authority_client.h"
#include "tests/support/child_process.h"
#include "tests/support/run_command.h"
#include "tests/support/temp_dir.h"
#include "tokens/txn_token.h"

namespace {

using namespace bulwark;
using Clock = std::chrono::steady_clock;

// Returns the median and the 99th percentile of `us`, in microseconds.
std::pair<double, double> Percentiles(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[std::min(us.size() - 1, us.size() * 99 / 100)]};
}

std::string FormEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BULWARK_BINARY [COUNT]\n", argv[0]);
    return 2;
  }
  std::string binary = argv[1];
  int count = std::clamp(argc > 2 ? std::atoi(argv[2]) : 300, 10, 100'000);
  testing::TempDir dir;
  std::string data = dir.File("data");
  // A user-token issuer whose JWKS the authority reads from a file.
  auto idp = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  auto jwk = crypto::JwkForKey(idp.Public()).value();
  auto jwks = crypto::JwksToJson(crypto::Jwks::FromKeys({jwk}).value()).value();
  (void)core::WriteFileAtomic(dir.File("idp.json"), jwks.dump(), 0644);
  (void)core::WriteFileAtomic(dir.File("mesh.yaml"),
                              "trust_domain: bench\ngateway:\n  issuers:\n    - name: idp\n"
                              "      issuer: https://idp.test\n      jwks: file:idp.json\n"
                              "      audiences: [api]\n",
                              0644);
  if (testing::RunCommand(
          {binary, "authority", "init", "--data-dir", data, "--trust-domain", "bench"})
          .exit_code != 0) {
    return 1;
  }
  testing::ChildProcess serve({binary, "authority", "serve", "--data-dir", data, "--listen",
                               "127.0.0.1:0", "--config", dir.File("mesh.yaml")},
                              dir.File("serve.log"));
  std::string url = testing::WaitForFile(data + "/endpoint", 10'000);
  if (url.empty()) {
    return 1;
  }
  url.pop_back();
  auto created = testing::RunCommand({binary, "authority", "token", "create", "--data-dir", data,
                                      "--spiffe-id", "spiffe://bench/gateway"});
  if (created.exit_code != 0) {
    return 1;
  }
  created.out.pop_back();
  auto bundle = crypto::Certificate::ChainFromPem(core::ReadFile(data + "/bundle.pem").value());
  auto client = identity::AuthorityClient::Create(url, *bundle).value();
  auto gateway = client.FetchWithJoinToken(created.out);
  if (!gateway.ok()) {
    std::fprintf(stderr, "fetch: %s\n", std::string(gateway.status().message()).c_str());
    return 1;
  }
  long long now = core::ToUnixSeconds(core::SystemClock().Now());
  std::string user = crypto::SignJwt(nlohmann::json::object(),
                                     {{"iss", "https://idp.test"},
                                      {"aud", "api"},
                                      {"sub", "u1"},
                                      {"exp", now + 3600},
                                      {"scope", "read write"}},
                                     idp, jwk.kid)
                         .value();
  std::string body =
      fmt::format("grant_type={}&requested_token_type={}&subject_token={}&subject_token_type={}",
                  FormEscape("urn:ietf:params:oauth:grant-type:token-exchange"),
                  FormEscape(std::string(tokens::kTxnTokenTypeUri)), user,
                  FormEscape("urn:ietf:params:oauth:token-type:access_token"));
  http::ClientOptions options;
  options.roots = *bundle;
  options.credentials = &gateway->credentials;
  options.expected_server_id = "spiffe://bench/authority";
  std::vector<double> remote, local;
  int failures = 0;
  for (int i = 0; i < count; ++i) {
    http::Request request;
    request.method = "POST";
    request.headers.Add("Content-Type", "application/x-www-form-urlencoded");
    request.body = body;
    auto start = Clock::now();
    absl::StatusOr<http::Response> response = http::Send(url + "/oauth2/token", request, options);
    remote.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    failures += response.ok() && response->status == 200 ? 0 : 1;
  }
  // Local minting: the same claims, signed in process (the delegated-key path).
  auto key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  std::string kid = crypto::JwkThumbprint(key.Public()).value();
  for (int i = 0; i < count; ++i) {
    auto start = Clock::now();
    tokens::TxnTokenClaims claims{"https://127.0.0.1",
                                  "spiffe://bench",
                                  "txn",
                                  "u1",
                                  "local",
                                  {"read"},
                                  "spiffe://bench/gateway",
                                  std::nullopt,
                                  core::SystemClock().Now(),
                                  core::SystemClock().Now()};
    auto token = crypto::SignJwt({{"typ", std::string(tokens::kTxnTokenType)}},
                                 tokens::TxnTokenClaimsToJson(claims), key, kid);
    local.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    failures += token.ok() ? 0 : 1;
  }
  auto [remote_p50, remote_p99] = Percentiles(remote);
  auto [local_p50, local_p99] = Percentiles(local);
  std::printf("token exchange round trip (new mTLS connection each): p50 %.0f us, p99 %.0f us\n",
              remote_p50, remote_p99);
  std::printf("local transaction-token signing:                      p50 %.0f us, p99 %.0f us\n",
              local_p50, local_p99);
  std::printf("ratio (p50): %.0fx; %d exchanges, %d failed\n", remote_p50 / local_p50, count,
              failures);
  return failures == 0 ? 0 : 1;
}
