// Nanoseconds per authorization decision (ServicePolicy::Decide) for generated policies of 10,
// 100 and 1000 rules, and the cost of path normalization. `policy_bench --emit DIR` writes the
// same policies and requests as JSON (rules-N.json, requests-N.json) for bench/policy/peers.js,
// which runs them through Cedar and casbin in the same bench/run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "mesh/config.h"
#include "nlohmann/json.hpp"
#include "policy/path.h"
#include "policy/policy.h"

// Counts heap allocations, to report allocations per decision (the target is none). GCC 12
// flags free() in a replaced operator delete once inlined into allocators (a false positive).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::size_t g_allocations = 0;
void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace bulwark::policy {
namespace {

constexpr int kRuleCounts[] = {10, 100, 1000};
constexpr int kRequests = 256;

// One generated rule: caller, methods, templates and whether it has `when: token.sub == path.id`.
struct GeneratedRule {
  std::string caller;
  std::vector<std::string> methods;
  std::vector<std::string> paths;
  bool when = false;
};

struct GeneratedRequest {
  std::string caller;
  std::string method;
  std::string path;
  std::string id;  // the {id} the path binds ("" for /** rules), for the peers' contexts
  nlohmann::json claims;
  bool allowed = false;
};

// Rules of service "api" in a mesh with one caller service per 20 rules (at least 4): methods
// GET, POST or GET+PUT; templates /v1/res<i>/{id} (every other rule also
// /v1/res<i>/{id}/items/{item}, every tenth rule /v1/res<i>/** instead); every fourth rule
// has a `when` binding the token's subject to the path.
std::vector<GeneratedRule> GenerateRules(int count) {
  const int callers = std::max(4, count / 20);
  std::vector<GeneratedRule> rules;
  for (int i = 0; i < count; ++i) {
    GeneratedRule rule;
    rule.caller = fmt::format("svc{}", i % callers);
    rule.methods = i % 3 == 0   ? std::vector<std::string>{"GET"}
                   : i % 3 == 1 ? std::vector<std::string>{"POST"}
                                : std::vector<std::string>{"GET", "PUT"};
    if (i % 10 == 9) {
      rule.paths = {fmt::format("/v1/res{}/**", i)};
    } else {
      rule.paths = {fmt::format("/v1/res{}/{{id}}", i)};
      if (i % 2 == 0) {
        rule.paths.push_back(fmt::format("/v1/res{}/{{id}}/items/{{item}}", i));
      }
    }
    rule.when = i % 4 == 0;
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::string MeshYaml(const std::vector<GeneratedRule>& rules) {
  const int callers = std::max(4, static_cast<int>(rules.size()) / 20);
  std::string yaml = "trust_domain: bench.example\nservices:\n";
  for (int c = 0; c < callers; ++c) {
    yaml += fmt::format("  svc{}:\n    port: {}\n", c, 10000 + c);
  }
  yaml += "  api:\n    port: 9000\n    allow:\n";
  for (const GeneratedRule& rule : rules) {
    yaml += fmt::format("      - from: {}\n        methods: [{}]\n        paths:\n", rule.caller,
                        fmt::join(rule.methods, ", "));
    for (const std::string& path : rule.paths) {
      yaml += fmt::format("          - \"{}\"\n", path);
    }
    if (rule.when) {
      yaml += "        when: token.sub == path.id\n";
    }
  }
  return yaml;
}

// Three in four requests are allowed (by a rule spread over the whole list, its `when`
// satisfied); the others miss: wrong method, unknown sub-path, or another user's id.
std::vector<GeneratedRequest> GenerateRequests(const std::vector<GeneratedRule>& rules) {
  std::vector<GeneratedRequest> requests;
  for (int k = 0; k < kRequests; ++k) {
    const GeneratedRule& rule = rules[(static_cast<std::size_t>(k) * 7919) % rules.size()];
    const std::size_t index = &rule - rules.data();
    GeneratedRequest r{rule.caller,
                       rule.methods.front(),
                       "",
                       fmt::format("u{}", k),
                       {{"sub", fmt::format("u{}", k)}},
                       true};
    r.path = rule.paths.front().ends_with("/**") ? fmt::format("/v1/res{}/a/b", index)
                                                 : fmt::format("/v1/res{}/u{}", index, k);
    if (rule.paths.front().ends_with("/**")) {
      r.id.clear();
    }
    switch (k % 4 == 3 ? k % 3 : -1) {
      case 0:
        r.method = "DELETE";
        r.allowed = false;
        break;
      case 1:
        r.path += "/nope";
        r.allowed = rule.paths.front().ends_with("/**");
        break;
      case 2:
        r.claims["sub"] = "someone-else";
        r.allowed = !rule.when;
        break;
      default:
        break;
    }
    requests.push_back(std::move(r));
  }
  return requests;
}

struct Fixture {
  mesh::MeshConfig mesh;
  std::unique_ptr<ServicePolicy> policy;
  std::vector<GeneratedRequest> requests;
  std::vector<std::string> peer_ids;
};

const Fixture& GetFixture(int rules) {
  static std::map<int, Fixture> fixtures;
  auto it = fixtures.find(rules);
  if (it != fixtures.end()) {
    return it->second;
  }
  Fixture& f = fixtures[rules];
  std::vector<GeneratedRule> generated = GenerateRules(rules);
  f.mesh = *mesh::ParseMeshConfig(MeshYaml(generated), "bench.yaml");
  absl::StatusOr<ServicePolicy> compiled = ServicePolicy::Compile(f.mesh, "api");
  if (!compiled.ok()) {
    std::fprintf(stderr, "%s\n", std::string(compiled.status().message()).c_str());
    std::abort();
  }
  f.policy = std::make_unique<ServicePolicy>(*std::move(compiled));
  f.requests = GenerateRequests(generated);
  for (const GeneratedRequest& r : f.requests) {
    f.peer_ids.push_back(fmt::format("spiffe://bench.example/svc/{}", r.caller));
    Decision d = f.policy->Decide({r.method, r.path, f.peer_ids.back(), &r.claims});
    if (d.allowed != r.allowed) {  // the benchmark measures correct decisions only
      std::fprintf(stderr, "unexpected decision for %s %s\n", r.method.c_str(), r.path.c_str());
      std::abort();
    }
  }
  return f;
}

void BM_Decide(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<int>(state.range(0)));
  std::size_t i = 0;
  const std::size_t allocations_before = g_allocations;
  for (auto _ : state) {
    const GeneratedRequest& r = f.requests[i];
    Decision d = f.policy->Decide({r.method, r.path, f.peer_ids[i], &r.claims});
    benchmark::DoNotOptimize(d);
    i = (i + 1) % f.requests.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_decision"] = static_cast<double>(g_allocations - allocations_before) /
                                          static_cast<double>(state.iterations());
}
BENCHMARK(BM_Decide)->Arg(10)->Arg(100)->Arg(1000);

void BM_NormalizePath(benchmark::State& state) {
  const std::string path = "/v1/res42/u17/items/%7Bx%7d/./../items/9";
  for (auto _ : state) {
    absl::StatusOr<std::string> normalized = NormalizePath(path);
    benchmark::DoNotOptimize(normalized);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NormalizePath);

// Writes rules-N.json and requests-N.json into `dir` for the Cedar and casbin runs.
int Emit(const std::string& dir) {
  for (int count : kRuleCounts) {
    std::vector<GeneratedRule> rules = GenerateRules(count);
    nlohmann::json rules_json = nlohmann::json::array();
    for (const GeneratedRule& rule : rules) {
      rules_json.push_back({{"from", rule.caller},
                            {"methods", rule.methods},
                            {"paths", rule.paths},
                            {"when", rule.when}});
    }
    nlohmann::json requests_json = nlohmann::json::array();
    for (const GeneratedRequest& r : GenerateRequests(rules)) {
      requests_json.push_back({{"from", r.caller},
                               {"method", r.method},
                               {"path", r.path},
                               {"id", r.id},
                               {"sub", r.claims["sub"]},
                               {"allowed", r.allowed}});
    }
    std::ofstream(fmt::format("{}/rules-{}.json", dir, count)) << rules_json.dump();
    std::ofstream(fmt::format("{}/requests-{}.json", dir, count)) << requests_json.dump();
  }
  return 0;
}

}  // namespace
}  // namespace bulwark::policy

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--emit") == 0) {
    return bulwark::policy::Emit(argv[2]);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
