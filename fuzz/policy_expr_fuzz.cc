// Fuzzes the `when:` expression compiler and evaluator: the input is compiled as an expression;
// an error must be an InvalidArgument citing the file, and an expression that compiles must
// evaluate, deterministically and without crashing, against a few fixed requests (one with
// every kind of value, one with nothing, one whose claims have unexpected types).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/message.h"
#include "policy/expr.h"

namespace {

using bulwark::policy::PathParam;
using bulwark::policy::RequestFacts;

struct Requests {
  nlohmann::json token;
  nlohmann::json odd_token;
  bulwark::http::Headers headers;
  PathParam params[2] = {{"id", "u1"}, {"name", "b%20b"}};
  RequestFacts full;
  RequestFacts empty;
  RequestFacts odd;
};

const Requests& FixedRequests() {
  static const Requests* requests = [] {
    auto* r = new Requests;
    r->token = nlohmann::json::parse(R"({"sub": "u1", "scope": "a b  c", "age": 42,
        "admin": true, "groups": ["a", 1, null, [2], {"x": "y"}], "org": {"id": "o1"},
        "big": 18446744073709551615, "f": 1.5, "n": null})");
    r->odd_token = nlohmann::json::parse(R"({"sub": ["u1"], "scope": {"a": 1}, "age": "42",
        "admin": "true", "org": "o1", "groups": "a"})");
    r->headers.Add("X-Request-Id", "abc");
    r->headers.Add("x-dup", "1");
    r->headers.Add("X-Dup", "2");
    r->full.token = &r->token;
    r->full.path = r->params;
    r->full.query = "page=2&q=a%20b&plus=a+b&dup=1&dup=2&flag&bad=%zz&%=x";
    r->full.headers = &r->headers;
    r->full.peer_id = "spiffe://td/ns/default/sa/contract";
    r->full.peer_service = "contract";
    r->odd = r->full;
    r->odd.token = &r->odd_token;
    return r;
  }();
  return *requests;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bulwark::mesh::WhenExpression when{std::string(reinterpret_cast<const char*>(data), size),
                                     {3, 15}};
  auto expr = bulwark::policy::CompiledExpr::Compile(when, {{"id", "name"}}, "fuzz.yaml");
  if (!expr.ok()) {
    std::string_view message(expr.status().message().data(), expr.status().message().size());
    if (expr.status().code() != absl::StatusCode::kInvalidArgument ||
        !message.starts_with("fuzz.yaml:")) {
      std::abort();
    }
    return 0;
  }
  if (expr->text() != when.text) {
    std::abort();
  }
  const Requests& requests = FixedRequests();
  for (const RequestFacts* facts : {&requests.full, &requests.empty, &requests.odd}) {
    if (expr->Evaluate(*facts) != expr->Evaluate(*facts)) {
      std::abort();
    }
  }
  return 0;
}
