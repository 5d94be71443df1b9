// The type checker and code generator of `when:` expressions: checks an AST against the
// language's types (string, int, bool, list<string>, list<int>, and dyn for token claims, whose
// JSON type is known only at run time) and the rule's scope, and flattens it into an
// ExprProgram. Pure functions.
#pragma once

#include "absl/status/statusor.h"
#include "policy/expr.h"
#include "policy/internal/expr_parser.h"
#include "policy/internal/expr_program.h"
#include "policy/internal/expr_source.h"

namespace bulwark::policy::internal {

// Type-checks `root` (parsed from `source`) and compiles it. The expression must be a bool (or
// dyn); path.<name> must be one of `scope.path_params`. Errors are InvalidArgument with the
// file position of the offending token.
absl::StatusOr<ExprProgram> CompileAst(const AstNode& root, const ExprSource& source,
                                       const ExprScope& scope);

}  // namespace bulwark::policy::internal
