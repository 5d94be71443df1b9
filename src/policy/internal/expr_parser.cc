// Recursive-descent parser of `when:` expressions (grammar: docs/policy.md).
#include "policy/internal/expr_parser.h"

#include <algorithm>
#include <limits>

#include "core/status.h"
#include "policy/internal/expr_lexer.h"

namespace bulwark::policy::internal {
namespace {

constexpr std::string_view kFunctions = "has, size, startsWith and endsWith";

using NodePtr = std::unique_ptr<AstNode>;

class Parser {
 public:
  Parser(const ExprSource& source, std::vector<Token> tokens)
      : source_(source), tokens_(std::move(tokens)) {}

  absl::StatusOr<NodePtr> Run() {
    BULWARK_ASSIGN_OR_RETURN(NodePtr root, ParseOr());
    if (Current().kind != TokenKind::kEnd) {
      return Unexpected(Current(), "an operator or the end of the expression");
    }
    return root;
  }

 private:
  // Counts the parser's nesting (parentheses, lists, arguments, '!') so that hostile input
  // cannot exhaust the stack.
  class DepthGuard {
   public:
    explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
    ~DepthGuard() { --depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    int& depth_;
  };

  const Token& Current() const { return tokens_[pos_]; }
  const Token& Ahead(std::size_t n) const {
    return tokens_[std::min(pos_ + n, tokens_.size() - 1)];
  }
  const Token& Advance() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  absl::Status TooDeep(std::size_t offset) const {
    return source_.Error(offset,
                         fmt::format("expression nested more than {} levels deep", kMaxExprDepth));
  }

  absl::Status Unexpected(const Token& token, std::string_view expected) const {
    std::string found = token.kind == TokenKind::kEnd ? std::string(Describe(TokenKind::kEnd))
                                                      : fmt::format("'{}'", token.spelling);
    std::string hint;
    if (token.kind == TokenKind::kMinus) {
      hint = " (there is no subtraction; a name with '-' is written headers[\"x-name\"])";
    }
    return source_.Error(token.offset,
                         fmt::format("expected {}, found {}{}", expected, found, hint));
  }

  absl::Status Expect(TokenKind kind) {
    if (Current().kind != kind) {
      return Unexpected(Current(), Describe(kind));
    }
    Advance();
    return absl::OkStatus();
  }

  // Builds a node over `children`, refusing trees deeper than kMaxExprDepth.
  absl::StatusOr<NodePtr> Make(AstKind kind, std::size_t offset, std::size_t op_offset,
                               std::vector<NodePtr> children) const {
    auto node = std::make_unique<AstNode>();
    node->kind = kind;
    node->offset = offset;
    node->op_offset = op_offset;
    for (const NodePtr& child : children) {
      node->depth = std::max(node->depth, child->depth + 1);
    }
    if (node->depth > kMaxExprDepth) {
      return TooDeep(op_offset);
    }
    node->children = std::move(children);
    return node;
  }

  // or := and { '||' and } ; and := relation { '&&' relation }. A chain becomes one node with
  // all operands, so long chains do not deepen the tree.
  // Every nested expression (in parentheses, a list, an argument) starts here.
  absl::StatusOr<NodePtr> ParseOr() {
    DepthGuard guard(depth_);
    if (depth_ > kMaxExprDepth) {
      return TooDeep(Current().offset);
    }
    return ParseChain(TokenKind::kOr);
  }

  absl::StatusOr<NodePtr> ParseChain(TokenKind op) {
    auto operand = [&]() -> absl::StatusOr<NodePtr> {
      return op == TokenKind::kOr ? ParseChain(TokenKind::kAnd) : ParseRelation();
    };
    BULWARK_ASSIGN_OR_RETURN(NodePtr first, operand());
    if (Current().kind != op) {
      return first;
    }
    std::size_t op_offset = Current().offset;
    std::size_t offset = first->offset;
    std::vector<NodePtr> operands;
    operands.push_back(std::move(first));
    while (Current().kind == op) {
      Advance();
      BULWARK_ASSIGN_OR_RETURN(NodePtr next, operand());
      operands.push_back(std::move(next));
    }
    return Make(op == TokenKind::kOr ? AstKind::kOr : AstKind::kAnd, offset, op_offset,
                std::move(operands));
  }

  static bool ToRelation(TokenKind kind, Relation& relation) {
    switch (kind) {
      case TokenKind::kEqual:
        relation = Relation::kEqual;
        return true;
      case TokenKind::kNotEqual:
        relation = Relation::kNotEqual;
        return true;
      case TokenKind::kLess:
        relation = Relation::kLess;
        return true;
      case TokenKind::kLessEqual:
        relation = Relation::kLessEqual;
        return true;
      case TokenKind::kGreater:
        relation = Relation::kGreater;
        return true;
      case TokenKind::kGreaterEqual:
        relation = Relation::kGreaterEqual;
        return true;
      case TokenKind::kIn:
        relation = Relation::kIn;
        return true;
      default:
        return false;
    }
  }

  // relation := unary { ('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in') unary }, left to right.
  absl::StatusOr<NodePtr> ParseRelation() {
    BULWARK_ASSIGN_OR_RETURN(NodePtr left, ParseUnary());
    Relation relation;
    while (ToRelation(Current().kind, relation)) {
      std::size_t op_offset = Advance().offset;
      BULWARK_ASSIGN_OR_RETURN(NodePtr right, ParseUnary());
      std::size_t offset = left->offset;
      std::vector<NodePtr> operands;
      operands.push_back(std::move(left));
      operands.push_back(std::move(right));
      BULWARK_ASSIGN_OR_RETURN(left,
                               Make(AstKind::kRelation, offset, op_offset, std::move(operands)));
      left->relation = relation;
    }
    return left;
  }

  // unary := '!' unary | '-' integer | member
  absl::StatusOr<NodePtr> ParseUnary() {
    if (Current().kind == TokenKind::kNot) {
      DepthGuard guard(depth_);
      if (depth_ > kMaxExprDepth) {
        return TooDeep(Current().offset);
      }
      std::size_t offset = Advance().offset;
      BULWARK_ASSIGN_OR_RETURN(NodePtr operand, ParseUnary());
      std::vector<NodePtr> operands;
      operands.push_back(std::move(operand));
      return Make(AstKind::kNot, offset, offset, std::move(operands));
    }
    if (Current().kind == TokenKind::kMinus) {
      std::size_t offset = Advance().offset;
      if (Current().kind != TokenKind::kInt) {
        return Unexpected(Current(), "an integer after '-' (only integer literals can be negated)");
      }
      return IntLiteral(Advance(), offset, /*negative=*/true);
    }
    return ParseMember();
  }

  absl::StatusOr<NodePtr> IntLiteral(const Token& token, std::size_t offset, bool negative) const {
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (token.magnitude > kMax + (negative ? 1 : 0)) {
      return source_.Error(offset, "integer literal out of the 64-bit range");
    }
    auto node = std::make_unique<AstNode>();
    node->kind = AstKind::kInt;
    node->offset = offset;
    node->op_offset = offset;
    // Negating in unsigned arithmetic keeps -2^63 defined.
    node->int_value = static_cast<std::int64_t>(negative ? 0 - token.magnitude : token.magnitude);
    return node;
  }

  // member := primary { '.' name | '.' method '(' expr ')' | '[' string ']' }
  absl::StatusOr<NodePtr> ParseMember() {
    BULWARK_ASSIGN_OR_RETURN(NodePtr node, ParsePrimary());
    while (true) {
      if (Current().kind == TokenKind::kDot) {
        Advance();
        if (Current().kind != TokenKind::kIdent) {
          return Unexpected(Current(), "a name after '.'");
        }
        const Token& name = Advance();
        if (Current().kind == TokenKind::kLParen) {
          BULWARK_ASSIGN_OR_RETURN(node, ParseMethod(std::move(node), name));
          continue;
        }
        BULWARK_RETURN_IF_ERROR(AddSegment(*node, name, std::string(name.spelling)));
        GlueHeaderName(*node);
      } else if (Current().kind == TokenKind::kLBracket) {
        Advance();
        if (Current().kind != TokenKind::kString) {
          return Unexpected(Current(), "a string literal as index, as in headers[\"x-id\"]");
        }
        const Token& index = Advance();
        BULWARK_RETURN_IF_ERROR(AddSegment(*node, index, index.value));
        BULWARK_RETURN_IF_ERROR(Expect(TokenKind::kRBracket));
      } else {
        return node;
      }
    }
  }

  absl::Status AddSegment(AstNode& node, const Token& token, std::string name) const {
    if (node.kind != AstKind::kVariable) {
      return source_.Error(token.offset, "only variables have members");
    }
    node.segments.push_back(Segment{std::move(name), token.offset});
    return absl::OkStatus();
  }

  // Header names may contain '-': in headers.x-request-id the parts the lexer split at '-' are
  // joined again, as long as nothing separates them.
  void GlueHeaderName(AstNode& node) {
    if (node.segments.size() != 2 || node.segments[0].name != "headers") {
      return;
    }
    Segment& name = node.segments[1];
    std::size_t end = name.offset + name.name.size();
    while (Current().kind == TokenKind::kMinus && Current().offset == end &&
           (Ahead(1).kind == TokenKind::kIdent || Ahead(1).kind == TokenKind::kInt) &&
           Ahead(1).offset == end + 1) {
      Advance();
      const Token& part = Advance();
      name.name += '-';
      name.name += part.spelling;
      end = part.offset + part.length;
    }
  }

  absl::StatusOr<NodePtr> ParseMethod(NodePtr receiver, const Token& name) {
    AstKind kind;
    if (name.spelling == "startsWith") {
      kind = AstKind::kStartsWith;
    } else if (name.spelling == "endsWith") {
      kind = AstKind::kEndsWith;
    } else {
      return source_.Error(name.offset, fmt::format("unknown method '{}' (the functions are {})",
                                                    name.spelling, kFunctions));
    }
    BULWARK_ASSIGN_OR_RETURN(NodePtr argument, ParseArgument(name));
    std::size_t offset = receiver->offset;
    std::vector<NodePtr> operands;
    operands.push_back(std::move(receiver));
    operands.push_back(std::move(argument));
    return Make(kind, offset, name.offset, std::move(operands));
  }

  // '(' expr ')' after a function name: every function takes exactly one argument.
  absl::StatusOr<NodePtr> ParseArgument(const Token& name) {
    BULWARK_RETURN_IF_ERROR(Expect(TokenKind::kLParen));
    if (Current().kind == TokenKind::kRParen) {
      return source_.Error(Current().offset, fmt::format("{}() takes one argument", name.spelling));
    }
    BULWARK_ASSIGN_OR_RETURN(NodePtr argument, ParseOr());
    if (Current().kind == TokenKind::kComma) {
      return source_.Error(Current().offset, fmt::format("{}() takes one argument", name.spelling));
    }
    BULWARK_RETURN_IF_ERROR(Expect(TokenKind::kRParen));
    return argument;
  }

  // primary := literal | list | '(' expr ')' | function '(' expr ')' | variable
  absl::StatusOr<NodePtr> ParsePrimary() {
    const Token& token = Current();
    switch (token.kind) {
      case TokenKind::kTrue:
      case TokenKind::kFalse: {
        auto node = Leaf(AstKind::kBool, Advance());
        node->bool_value = token.kind == TokenKind::kTrue;
        return node;
      }
      case TokenKind::kInt:
        return IntLiteral(Advance(), token.offset, /*negative=*/false);
      case TokenKind::kString: {
        auto node = Leaf(AstKind::kString, Advance());
        node->string_value = token.value;
        return node;
      }
      case TokenKind::kLParen: {
        Advance();
        BULWARK_ASSIGN_OR_RETURN(NodePtr inner, ParseOr());
        BULWARK_RETURN_IF_ERROR(Expect(TokenKind::kRParen));
        return inner;
      }
      case TokenKind::kLBracket:
        return ParseList();
      case TokenKind::kIdent:
        return Ahead(1).kind == TokenKind::kLParen ? ParseFunction() : Variable(Advance());
      default:
        return Unexpected(token, "a value, a variable or '('");
    }
  }

  NodePtr Leaf(AstKind kind, const Token& token) const {
    auto node = std::make_unique<AstNode>();
    node->kind = kind;
    node->offset = token.offset;
    node->op_offset = token.offset;
    return node;
  }

  NodePtr Variable(const Token& root) const {
    NodePtr node = Leaf(AstKind::kVariable, root);
    node->segments.push_back(Segment{std::string(root.spelling), root.offset});
    return node;
  }

  // list := '[' [ expr { ',' expr } [','] ] ']'
  absl::StatusOr<NodePtr> ParseList() {
    std::size_t offset = Advance().offset;
    std::vector<NodePtr> elements;
    while (Current().kind != TokenKind::kRBracket) {
      BULWARK_ASSIGN_OR_RETURN(NodePtr element, ParseOr());
      elements.push_back(std::move(element));
      if (Current().kind != TokenKind::kComma) {
        break;
      }
      Advance();
    }
    BULWARK_RETURN_IF_ERROR(Expect(TokenKind::kRBracket));
    return Make(AstKind::kList, offset, offset, std::move(elements));
  }

  absl::StatusOr<NodePtr> ParseFunction() {
    const Token& name = Advance();
    AstKind kind;
    if (name.spelling == "has") {
      kind = AstKind::kHas;
    } else if (name.spelling == "size") {
      kind = AstKind::kSize;
    } else if (name.spelling == "startsWith" || name.spelling == "endsWith") {
      return source_.Error(name.offset,
                           fmt::format("{0} is a method: write x.{0}(prefix)", name.spelling));
    } else {
      return source_.Error(name.offset, fmt::format("unknown function '{}' (the functions are {})",
                                                    name.spelling, kFunctions));
    }
    BULWARK_ASSIGN_OR_RETURN(NodePtr argument, ParseArgument(name));
    if (kind == AstKind::kHas && argument->kind != AstKind::kVariable) {
      return source_.Error(argument->offset, "has() takes a variable, as in has(token.email)");
    }
    std::vector<NodePtr> operands;
    operands.push_back(std::move(argument));
    return Make(kind, name.offset, name.offset, std::move(operands));
  }

  const ExprSource& source_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = -1;  // the whole expression is level 0
};

}  // namespace

absl::StatusOr<std::unique_ptr<AstNode>> ParseExpr(const ExprSource& source) {
  if (source.text.size() > kMaxExprText) {
    return source.Error(0, fmt::format("expression longer than {} bytes", kMaxExprText));
  }
  BULWARK_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source));
  if (tokens.front().kind == TokenKind::kEnd) {
    return source.Error(0, "empty expression");
  }
  return Parser(source, std::move(tokens)).Run();
}

std::string_view Spelling(Relation relation) {
  switch (relation) {
    case Relation::kEqual:
      return "==";
    case Relation::kNotEqual:
      return "!=";
    case Relation::kLess:
      return "<";
    case Relation::kLessEqual:
      return "<=";
    case Relation::kGreater:
      return ">";
    case Relation::kGreaterEqual:
      return ">=";
    case Relation::kIn:
      return "in";
  }
  return "?";
}

}  // namespace bulwark::policy::internal
