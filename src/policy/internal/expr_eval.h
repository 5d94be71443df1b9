// The evaluator of compiled `when:` expressions: walks an ExprProgram over one request's
// RequestFacts. A value that is missing or of another type than the operation needs at run time
// is "undefined", which no operation turns into an allow (CEL's error semantics). Stateless and
// thread-safe; allocates only to percent-decode a query value that needs it.
#pragma once

#include "policy/expr.h"
#include "policy/internal/expr_program.h"

namespace bulwark::policy::internal {

// Returns true only when `program` evaluates to the bool true on `request`. Never throws.
bool EvaluateProgram(const ExprProgram& program, const RequestFacts& request);

}  // namespace bulwark::policy::internal
