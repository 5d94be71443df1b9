// The parser of `when:` expressions: tokens to an abstract syntax tree, with CEL's precedence
// (|| below && below the relations == != < <= > >= in, then ! and unary -, then member access
// and calls). Nesting deeper than kMaxExprDepth is an error, so neither the parser nor the later
// passes recurse without bound. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy/internal/expr_source.h"

namespace bulwark::policy::internal {

// Limits on what a policy author may write (docs/policy.md): the text's length, and how deep
// parentheses, lists, arguments and operators may nest.
inline constexpr std::size_t kMaxExprText = 4096;
inline constexpr int kMaxExprDepth = 64;

enum class AstKind {
  kBool,
  kInt,
  kString,
  kList,      // children: the elements
  kVariable,  // segments: the root and its members
  kNot,       // children[0]
  kAnd,       // children: two or more operands
  kOr,
  kRelation,    // children[0] relation children[1]
  kHas,         // children[0] is a kVariable
  kSize,        // children[0]
  kStartsWith,  // children[0].startsWith(children[1])
  kEndsWith,
};

enum class Relation { kEqual, kNotEqual, kLess, kLessEqual, kGreater, kGreaterEqual, kIn };

// A name in a variable: `token`, `sub`, or the string of an index (headers["x-id"]).
struct Segment {
  std::string name;
  std::size_t offset = 0;
};

struct AstNode {
  AstKind kind = AstKind::kBool;
  std::size_t offset = 0;     // where the expression starts in the text
  std::size_t op_offset = 0;  // its operator or function name, for messages
  int depth = 0;              // operators above the deepest leaf
  bool bool_value = false;
  std::int64_t int_value = 0;
  std::string string_value;
  Relation relation = Relation::kEqual;
  std::vector<Segment> segments;
  std::vector<std::unique_ptr<AstNode>> children;
};

// Parses `source.text` (at most kMaxExprText bytes, at most kMaxExprDepth levels deep). Errors
// are InvalidArgument with the file position of the offending token.
absl::StatusOr<std::unique_ptr<AstNode>> ParseExpr(const ExprSource& source);

// Returns the spelling of a relation for messages ("==", "in").
std::string_view Spelling(Relation relation);

}  // namespace bulwark::policy::internal
