// SVID issuances per second against a real `bulwark authority serve` over HTTPS: each issuance
// is a TLS 1.3 handshake, a join-token redemption (CSR check, signature, SQLite commit with
// synchronous=FULL) and the answer. Usage: issuance_bench BULWARK_BINARY [COUNT] [THREADS]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/files.h"
#include "identity/authority_client.h"
#include "tests/support/child_process.h"
#include "tests/support/run_command.h"
#include "tests/support/temp_dir.h"

int main(int argc, char** argv) {
  using namespace bulwark;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BULWARK_BINARY [COUNT] [THREADS]\n", argv[0]);
    return 2;
  }
  std::string binary = argv[1];
  int count = argc > 2 ? std::atoi(argv[2]) : 200;
  int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  testing::TempDir dir;
  std::string data = dir.File("data");
  if (testing::RunCommand(
          {binary, "authority", "init", "--data-dir", data, "--trust-domain", "bench"})
          .exit_code != 0) {
    return 1;
  }
  testing::ChildProcess serve(
      {binary, "authority", "serve", "--data-dir", data, "--listen", "127.0.0.1:0"},
      dir.File("serve.log"));
  std::string url = testing::WaitForFile(data + "/endpoint", 10'000);
  if (url.empty()) {
    return 1;
  }
  url.pop_back();
  std::vector<std::string> tokens;
  for (int i = 0; i < count; ++i) {
    auto created = testing::RunCommand({binary, "authority", "token", "create", "--data-dir", data,
                                        "--spiffe-id", "spiffe://bench/svc/w" + std::to_string(i)});
    if (created.exit_code != 0) {
      return 1;
    }
    created.out.pop_back();
    tokens.push_back(created.out);
  }
  auto bundle = crypto::Certificate::ChainFromPem(core::ReadFile(data + "/bundle.pem").value());
  auto client = identity::AuthorityClient::Create(url, *bundle).value();
  std::atomic<int> next{0}, failures{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        if (!client.FetchWithJoinToken(tokens[i]).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("issuance: %d SVIDs in %.2f s with %d client threads: %.1f issuances/s (%d failed)\n",
              count, seconds, threads, count / seconds, failures.load());
  return failures.load() == 0 ? 0 : 1;
}
