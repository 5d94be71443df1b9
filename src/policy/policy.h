// The compiled authorization policy of one service (docs/policy.md): default deny; a request is
// allowed when one of `services.<name>.allow` names its caller, method and path and that rule's
// `when` holds. Compiled once from mesh.yaml into a matcher (principal -> method -> path trie
// with parameters) and compiled expressions. A ServicePolicy is immutable: Decide is const and
// thread-safe, so one instance is shared by every worker (the sidecar swaps a
// std::shared_ptr<const ServicePolicy> atomically when the policy changes).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "http/message.h"
#include "mesh/config.h"
#include "nlohmann/json.hpp"

namespace bulwark::policy {
namespace internal {
struct CompiledPolicy;
}  // namespace internal

// Why a request was denied; DenyReasonName gives the decision log's spelling.
enum class DenyReason {
  kNone,             // allowed
  kNoRuleForCaller,  // "no_rule_for_caller": no rule names the caller
  kMethod,           // "method": rules name the caller, none with this method
  kPath,             // "path": rules name the caller and the method, no template matches the path
  kCondition,        // "condition": rules match the request, the `when` of each is false
};

// Returns "no_rule_for_caller", "method", "path" or "condition" ("" for kNone).
std::string_view DenyReasonName(DenyReason reason);

// One request as the policy sees it. Views, which must stay valid while Decide runs.
struct DecisionInput {
  std::string_view method;   // as received ("GET"); case-sensitive
  std::string_view path;     // normalized by policy::NormalizePath, without the query
  std::string_view peer_id;  // the caller's verified SPIFFE ID
  // The verified transaction token's claims (a JSON object); null when the request has none.
  const nlohmann::json* claims = nullptr;
  std::string_view query;                  // without '?'
  const http::Headers* headers = nullptr;  // null: none
};

struct Decision {
  bool allowed = false;
  DenyReason reason = DenyReason::kNoRuleForCaller;
  // Allowed: the rule that allowed the request (its index in services.<name>.allow; the first
  // such rule in file order). Denied with kCondition: the first rule that matched the request
  // but whose `when` was false. Otherwise -1.
  int rule = -1;
};

class ServicePolicy {
 public:
  // Compiles the allow rules of `service` in `mesh`: resolves `from` (service names to
  // spiffe://<trust_domain>/svc/<name>, `gateway` to spiffe://<trust_domain>/gateway, SPIFFE IDs
  // and patterns as written), parses the path templates and compiles every `when` with the
  // parameters that all of the rule's templates bind. Errors: NotFound for an undeclared
  // service; InvalidArgument "<file>:<line>:<column>: services.<name>.allow[i]...: <message>"
  // for a bad template or `when` (the expression compiler's own message for the latter).
  static absl::StatusOr<ServicePolicy> Compile(const mesh::MeshConfig& mesh,
                                               std::string_view service);

  ServicePolicy(ServicePolicy&&) noexcept;
  ServicePolicy& operator=(ServicePolicy&&) noexcept;
  ~ServicePolicy();

  // Decides one request. Does not allocate unless a request matches more than 16 templates or
  // its path has more than 16 segments.
  Decision Decide(const DecisionInput& input) const;

  // The service this policy protects.
  const std::string& service() const;
  // The number of rules (services.<name>.allow).
  std::size_t rule_count() const;
  // Returns a one-line description of rule `index` (< rule_count()) for `policy explain` and
  // the decision log: "from contract; methods POST; paths /users/{id}/charge; when ...".
  const std::string& RuleDescription(std::size_t index) const;

 private:
  explicit ServicePolicy(std::unique_ptr<const internal::CompiledPolicy> compiled);
  std::unique_ptr<const internal::CompiledPolicy> compiled_;
};

}  // namespace bulwark::policy
