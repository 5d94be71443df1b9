// Cost of one `when:` expression evaluation (CompiledExpr::Evaluate) on a realistic request:
// the issue's example, allowed and denied, and expressions over headers, the query and a large
// constant list. Results in docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "http/message.h"
#include "policy/expr.h"

namespace bulwark::policy {
namespace {

// A transaction token's claims as the authority issues them, with a few extra claims.
nlohmann::json Claims() {
  return nlohmann::json::parse(R"({
    "iss": "https://authority.dvd.example", "sub": "u-1842", "aud": "user",
    "exp": 1893456000, "iat": 1893455700, "jti": "c3f1a2", "txn": "9b2e-41",
    "scope": "rentals:read rentals:charge profile", "azp": "contract",
    "org": {"id": "o1", "tier": 3}})");
}

CompiledExpr MustCompile(const std::string& text, std::vector<std::string> params) {
  auto expr = CompiledExpr::Compile(mesh::WhenExpression{text, {1, 1}},
                                    ExprScope{std::move(params)}, "bench.yaml");
  if (!expr.ok()) {
    std::abort();
  }
  return *expr;
}

struct Fixture {
  nlohmann::json claims = Claims();
  http::Headers headers;
  PathParam params[1] = {{"id", "u-1842"}};
  RequestFacts facts;

  Fixture() {
    headers.Add("Host", "user.dvd.internal");
    headers.Add("Content-Type", "application/json");
    headers.Add("X-Request-Id", "7f9c2ba4");
    headers.Add("X-Bulwark-Peer-Id", "spiffe://dvd.example/contract");
    facts.token = &claims;
    facts.path = params;
    facts.query = "page=2&per_page=50&sort=title";
    facts.headers = &headers;
    facts.peer_id = "spiffe://dvd.example/contract";
    facts.peer_service = "contract";
  }
};

void Run(benchmark::State& state, const std::string& text, const RequestFacts& facts,
         bool expected) {
  CompiledExpr expr = MustCompile(text, {"id"});
  if (expr.Evaluate(facts) != expected) {
    std::abort();
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(expr.Evaluate(facts));
  }
  state.SetItemsProcessed(state.iterations());
}

const std::string kIssueExample = R"(token.sub == path.id && "rentals:charge" in token.scope)";

void BM_IssueExample(benchmark::State& state) {
  Fixture fixture;
  Run(state, kIssueExample, fixture.facts, true);
}
BENCHMARK(BM_IssueExample);

void BM_IssueExampleOtherId(benchmark::State& state) {
  Fixture fixture;
  PathParam other[] = {{"id", "u-7"}};
  fixture.facts.path = other;
  Run(state, kIssueExample, fixture.facts, false);
}
BENCHMARK(BM_IssueExampleOtherId);

void BM_HeadersQueryPeer(benchmark::State& state) {
  Fixture fixture;
  Run(state,
      R"(headers.x-request-id.startsWith("7f") && query.per_page in ["10", "50", "100"] && )"
      R"(peer.service == "contract")",
      fixture.facts, true);
}
BENCHMARK(BM_HeadersQueryPeer);

void BM_LargeConstantList(benchmark::State& state) {
  Fixture fixture;
  std::string list;
  for (int i = 0; i < 100; ++i) {
    list += (i == 0 ? "\"u-" : ", \"u-") + std::to_string(1800 + i) + "\"";
  }
  Run(state, "token.sub in [" + list + "]", fixture.facts, true);
}
BENCHMARK(BM_LargeConstantList);

}  // namespace
}  // namespace bulwark::policy

BENCHMARK_MAIN();
