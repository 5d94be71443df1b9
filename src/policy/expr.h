// The `when:` expression language of allow rules (docs/policy.md): a small, side-effect-free
// CEL subset. An expression is parsed and type-checked once, when the policy loads, into a
// CompiledExpr; evaluating it per request reads the request through RequestFacts and does not
// allocate in the common case. Sans-I/O; a CompiledExpr is immutable and thread-safe.
//
// Language: literals (strings "..." or '...', integers, true, false, lists [a, b]); the
// variables token.<claim>[.<member>...], path.<param>, query.<name>, headers.<name>, peer.id,
// peer.service; == != < <= > >= ; `in` (list membership, or substring for strings); && || ! and
// parentheses; has(x) (whether a claim, parameter or header is present); x.startsWith(s),
// x.endsWith(s), size(x). `token.scope` is the list of the token's scopes (its space-separated
// `scope` claim). No loops, no user functions, no side effects.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "http/message.h"
#include "mesh/config.h"
#include "nlohmann/json.hpp"

namespace bulwark::policy {

// One parameter bound by a path template ({id} in /users/{id}/charge).
struct PathParam {
  std::string_view name;
  std::string_view value;
};

// What one request offers an expression. Views into the request; valid while Evaluate runs.
struct RequestFacts {
  // The verified transaction token's claims (a JSON object); null when the request has none.
  const nlohmann::json* token = nullptr;
  // The parameters the matched path template bound, in template order.
  std::span<const PathParam> path;
  // The query string, without '?' (values are percent-decoded when read).
  std::string_view query;
  // The request headers; null: none.
  const http::Headers* headers = nullptr;
  // The caller's verified SPIFFE ID, and its mesh name ("gateway", a service name, or empty
  // when the ID is not one of the mesh's).
  std::string_view peer_id;
  std::string_view peer_service;
};

// What the rule around an expression declares, for type checking.
struct ExprScope {
  // The parameter names of the rule's path templates that every template binds: path.<name>
  // is an error unless it is listed here.
  std::vector<std::string> path_params;
};

class CompiledExpr {
 public:
  // Parses and type-checks `when` (mesh.yaml's text and position). Errors are InvalidArgument
  // "<file_name>:<line>:<column>: <message>", pointing at the offending token in the file.
  static absl::StatusOr<CompiledExpr> Compile(const mesh::WhenExpression& when,
                                              const ExprScope& scope, std::string_view file_name);

  // Returns whether the request satisfies the expression. A missing value or a type mismatch
  // at run time (a claim that is not a string, say) makes the comparison undefined, which
  // denies: neither `!=` nor `!` turns it into an allow, and `&&`/`||` follow CEL (a false,
  // resp. true, operand still decides). An expression never throws and never allows by error.
  // Does not allocate, except to percent-decode a query value that needs it.
  bool Evaluate(const RequestFacts& request) const;

  // The expression as written, for `policy explain` and the decision log.
  const std::string& text() const;

 private:
  struct Program;
  explicit CompiledExpr(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const Program> program_;
};

}  // namespace bulwark::policy
