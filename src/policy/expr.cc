// CompiledExpr: the lexer, parser and compiler in policy/internal/ run once at load time; the
// evaluator runs per request.
#include "policy/expr.h"

#include "core/status.h"
#include "policy/internal/expr_compiler.h"
#include "policy/internal/expr_eval.h"
#include "policy/internal/expr_parser.h"

namespace bulwark::policy {

struct CompiledExpr::Program {
  std::string text;
  internal::ExprProgram code;
};

absl::StatusOr<CompiledExpr> CompiledExpr::Compile(const mesh::WhenExpression& when,
                                                   const ExprScope& scope,
                                                   std::string_view file_name) {
  internal::ExprSource source{when.text, when.position, file_name};
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<internal::AstNode> ast, internal::ParseExpr(source));
  BULWARK_ASSIGN_OR_RETURN(internal::ExprProgram code, internal::CompileAst(*ast, source, scope));
  return CompiledExpr(std::make_shared<const Program>(Program{when.text, std::move(code)}));
}

bool CompiledExpr::Evaluate(const RequestFacts& request) const {
  // A moved-from expression has no program; it denies.
  return program_ != nullptr && internal::EvaluateProgram(program_->code, request);
}

const std::string& CompiledExpr::text() const {
  static const std::string* const kEmpty = new std::string();
  return program_ != nullptr ? program_->text : *kEmpty;
}

}  // namespace bulwark::policy
