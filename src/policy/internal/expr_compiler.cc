// Type checking and flattening of `when:` expressions (types and rules: docs/policy.md).
#include "policy/internal/expr_compiler.h"

#include <algorithm>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "core/status.h"

namespace bulwark::policy::internal {
namespace {

enum class Type { kBool, kInt, kString, kStringList, kIntList, kDyn };

std::string_view Name(Type type) {
  switch (type) {
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kString:
      return "string";
    case Type::kStringList:
      return "list<string>";
    case Type::kIntList:
      return "list<int>";
    case Type::kDyn:
      return "dyn";
  }
  return "?";
}

bool IsList(Type type) { return type == Type::kStringList || type == Type::kIntList; }

// dyn (a token claim) matches any type at compile time; the evaluator checks it per request.
bool Matches(Type type, Type wanted) { return type == wanted || type == Type::kDyn; }

bool Compatible(Type a, Type b) { return a == b || a == Type::kDyn || b == Type::kDyn; }

// RFC 9110 token characters: what a header name may contain.
bool IsHeaderNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

struct Typed {
  Type type;
  std::uint32_t node;
};

class Compiler {
 public:
  Compiler(const ExprSource& source, const ExprScope& scope) : source_(source), scope_(scope) {}

  absl::StatusOr<ExprProgram> Run(const AstNode& root) {
    BULWARK_ASSIGN_OR_RETURN(Typed top, Compile(root));
    if (!Matches(top.type, Type::kBool)) {
      return source_.Error(
          root.offset, fmt::format("the expression must be a bool, this is {}", Name(top.type)));
    }
    program_.root = top.node;
    return std::move(program_);
  }

 private:
  std::uint32_t Emit(Op op, std::uint32_t a = 0, std::uint32_t b = 0, std::int64_t value = 0) {
    program_.nodes.push_back(Node{op, a, b, value});
    return static_cast<std::uint32_t>(program_.nodes.size() - 1);
  }

  std::uint32_t AddString(std::string value) {
    program_.strings.push_back(std::move(value));
    return static_cast<std::uint32_t>(program_.strings.size() - 1);
  }

  absl::StatusOr<Typed> Compile(const AstNode& node) {
    switch (node.kind) {
      case AstKind::kBool:
        return Typed{Type::kBool, Emit(Op::kBool, 0, 0, node.bool_value ? 1 : 0)};
      case AstKind::kInt:
        return Typed{Type::kInt, Emit(Op::kInt, 0, 0, node.int_value)};
      case AstKind::kString:
        return Typed{Type::kString, Emit(Op::kString, AddString(node.string_value))};
      case AstKind::kList:
        return CompileList(node);
      case AstKind::kVariable:
        return CompileVariable(node);
      case AstKind::kNot:
        return CompileNot(node);
      case AstKind::kAnd:
      case AstKind::kOr:
        return CompileLogic(node);
      case AstKind::kRelation:
        return CompileRelation(node);
      case AstKind::kHas:
        return CompileHas(node);
      case AstKind::kSize:
        return CompileSize(node);
      case AstKind::kStartsWith:
      case AstKind::kEndsWith:
        return CompileAffix(node);
    }
    return source_.Error(node.offset, "unsupported expression");
  }

  // Compiles `node` and checks that it has type `wanted` (or dyn); `what` names the position
  // for the message ("'&&' needs a bool").
  absl::StatusOr<Typed> CompileAs(const AstNode& node, Type wanted, std::string_view what) {
    BULWARK_ASSIGN_OR_RETURN(Typed typed, Compile(node));
    if (!Matches(typed.type, wanted)) {
      return source_.Error(node.offset,
                           fmt::format("{} {}, this is {}", what, Name(wanted), Name(typed.type)));
    }
    return typed;
  }

  absl::StatusOr<Typed> CompileList(const AstNode& node) {
    if (node.children.empty()) {
      return source_.Error(node.offset, "an empty list (it would never match)");
    }
    ConstList list;
    list.is_string = node.children.front()->kind == AstKind::kString;
    for (const auto& element : node.children) {
      AstKind want = list.is_string ? AstKind::kString : AstKind::kInt;
      if (element->kind != AstKind::kString && element->kind != AstKind::kInt) {
        return source_.Error(element->offset, "list elements must be string or integer literals");
      }
      if (element->kind != want) {
        return source_.Error(element->offset,
                             "a list mixes strings and integers (elements must have one type)");
      }
      if (list.is_string) {
        list.strings.push_back(element->string_value);
      } else {
        list.ints.push_back(element->int_value);
      }
    }
    if (list.has_set()) {
      list.string_set.insert(list.strings.begin(), list.strings.end());
      list.int_set.insert(list.ints.begin(), list.ints.end());
    }
    program_.lists.push_back(std::move(list));
    auto index = static_cast<std::uint32_t>(program_.lists.size() - 1);
    return Typed{program_.lists.back().is_string ? Type::kStringList : Type::kIntList,
                 Emit(Op::kList, index)};
  }

  absl::StatusOr<Typed> CompileVariable(const AstNode& node) {
    const std::vector<Segment>& segments = node.segments;
    std::string_view root = segments[0].name;
    if (root == "token") {
      return CompileToken(node);
    }
    if (root != "path" && root != "query" && root != "headers" && root != "peer") {
      return source_.Error(segments[0].offset,
                           fmt::format("unknown variable '{}' (the variables are token.*, path.*, "
                                       "query.*, headers.*, peer.id and peer.service)",
                                       root));
    }
    if (segments.size() == 1) {
      return source_.Error(segments[0].offset,
                           fmt::format("'{}' needs a name after it, as in {}", root,
                                       root == "path"      ? "path.id"
                                       : root == "query"   ? "query.page"
                                       : root == "headers" ? "headers.x-request-id"
                                                           : "peer.id"));
    }
    if (segments.size() > 2) {
      return source_.Error(segments[2].offset, fmt::format("{}.{} is a string and has no members",
                                                           root, segments[1].name));
    }
    const Segment& name = segments[1];
    if (root == "path") {
      return CompilePathParam(name);
    }
    if (root == "query") {
      return Typed{Type::kString, Emit(Op::kQuery, AddString(name.name))};
    }
    if (root == "headers") {
      if (name.name.empty() || !std::all_of(name.name.begin(), name.name.end(), IsHeaderNameChar)) {
        return source_.Error(name.offset,
                             fmt::format("'{}' is not a valid header name", name.name));
      }
      return Typed{Type::kString, Emit(Op::kHeader, AddString(absl::AsciiStrToLower(name.name)))};
    }
    if (name.name == "id") {
      return Typed{Type::kString, Emit(Op::kPeerId)};
    }
    if (name.name == "service") {
      return Typed{Type::kString, Emit(Op::kPeerService)};
    }
    return source_.Error(
        name.offset,
        fmt::format("unknown peer attribute '{}' (peer has id and service)", name.name));
  }

  absl::StatusOr<Typed> CompileToken(const AstNode& node) {
    const std::vector<Segment>& segments = node.segments;
    if (segments.size() == 1) {
      return source_.Error(segments[0].offset, "'token' needs a claim after it, as in token.sub");
    }
    if (segments[1].name == "scope") {
      if (segments.size() > 2) {
        return source_.Error(segments[2].offset,
                             "token.scope is a list of strings and has no members");
      }
      return Typed{Type::kStringList, Emit(Op::kScope)};
    }
    std::vector<std::string> path;
    for (std::size_t i = 1; i < segments.size(); ++i) {
      path.push_back(segments[i].name);
    }
    program_.token_paths.push_back(std::move(path));
    return Typed{Type::kDyn,
                 Emit(Op::kToken, static_cast<std::uint32_t>(program_.token_paths.size() - 1))};
  }

  absl::StatusOr<Typed> CompilePathParam(const Segment& name) {
    const std::vector<std::string>& declared = scope_.path_params;
    if (std::find(declared.begin(), declared.end(), name.name) == declared.end()) {
      std::string known = declared.empty() ? "the rule's paths bind no parameters"
                                           : fmt::format("the rule's paths bind: {}",
                                                         absl::StrJoin(declared, ", "));
      return source_.Error(name.offset,
                           fmt::format("unknown path parameter '{}' ({})", name.name, known));
    }
    return Typed{Type::kString, Emit(Op::kPath, AddString(name.name))};
  }

  absl::StatusOr<Typed> CompileNot(const AstNode& node) {
    BULWARK_ASSIGN_OR_RETURN(Typed operand,
                             CompileAs(*node.children[0], Type::kBool, "'!' needs a"));
    return Typed{Type::kBool, Emit(Op::kNot, operand.node)};
  }

  absl::StatusOr<Typed> CompileLogic(const AstNode& node) {
    bool is_and = node.kind == AstKind::kAnd;
    std::string what = fmt::format("'{}' needs a", is_and ? "&&" : "||");
    std::vector<std::uint32_t> operands;
    for (const auto& child : node.children) {
      BULWARK_ASSIGN_OR_RETURN(Typed operand, CompileAs(*child, Type::kBool, what));
      operands.push_back(operand.node);
    }
    auto first = static_cast<std::uint32_t>(program_.operands.size());
    program_.operands.insert(program_.operands.end(), operands.begin(), operands.end());
    return Typed{Type::kBool, Emit(is_and ? Op::kAnd : Op::kOr, first,
                                   static_cast<std::uint32_t>(operands.size()))};
  }

  absl::StatusOr<Typed> CompileRelation(const AstNode& node) {
    BULWARK_ASSIGN_OR_RETURN(Typed left, Compile(*node.children[0]));
    BULWARK_ASSIGN_OR_RETURN(Typed right, Compile(*node.children[1]));
    std::string_view op = Spelling(node.relation);
    switch (node.relation) {
      case Relation::kEqual:
      case Relation::kNotEqual:
        if (!Compatible(left.type, right.type)) {
          return source_.Error(node.op_offset, fmt::format("'{}' cannot compare {} with {}", op,
                                                           Name(left.type), Name(right.type)));
        }
        break;
      case Relation::kLess:
      case Relation::kLessEqual:
      case Relation::kGreater:
      case Relation::kGreaterEqual:
        BULWARK_RETURN_IF_ERROR(CheckOrdered(node, left.type, right.type));
        break;
      case Relation::kIn:
        BULWARK_RETURN_IF_ERROR(CheckIn(node, left.type, right.type));
        break;
    }
    return Typed{Type::kBool, Emit(ToOp(node.relation), left.node, right.node)};
  }

  absl::Status CheckOrdered(const AstNode& node, Type left, Type right) const {
    std::string_view op = Spelling(node.relation);
    for (Type type : {left, right}) {
      if (type != Type::kInt && type != Type::kString && type != Type::kDyn) {
        return source_.Error(node.op_offset,
                             fmt::format("'{}' orders ints or strings, not {}", op, Name(type)));
      }
    }
    if (!Compatible(left, right)) {
      return source_.Error(node.op_offset, fmt::format("'{}' cannot compare {} with {}", op,
                                                       Name(left), Name(right)));
    }
    return absl::OkStatus();
  }

  // `x in list<T>` needs x of type T; `x in string` is a substring test; dyn defers to run time.
  absl::Status CheckIn(const AstNode& node, Type left, Type right) const {
    if (IsList(left)) {
      return source_.Error(node.children[0]->offset,
                           fmt::format("'in' looks for a single value, this is {}", Name(left)));
    }
    bool ok = false;
    switch (right) {
      case Type::kStringList:
        ok = Matches(left, Type::kString);
        break;
      case Type::kIntList:
        ok = Matches(left, Type::kInt);
        break;
      case Type::kString:
        ok = Matches(left, Type::kString);
        break;
      case Type::kDyn:
        ok = true;
        break;
      default:
        return source_.Error(
            node.children[1]->offset,
            fmt::format("'in' needs a list or a string on its right, this is {}", Name(right)));
    }
    if (!ok) {
      return source_.Error(node.op_offset,
                           fmt::format("'in' cannot look for {} in {}", Name(left), Name(right)));
    }
    return absl::OkStatus();
  }

  static Op ToOp(Relation relation) {
    switch (relation) {
      case Relation::kEqual:
        return Op::kEqual;
      case Relation::kNotEqual:
        return Op::kNotEqual;
      case Relation::kLess:
        return Op::kLess;
      case Relation::kLessEqual:
        return Op::kLessEqual;
      case Relation::kGreater:
        return Op::kGreater;
      case Relation::kGreaterEqual:
        return Op::kGreaterEqual;
      case Relation::kIn:
        return Op::kIn;
    }
    return Op::kEqual;
  }

  absl::StatusOr<Typed> CompileHas(const AstNode& node) {
    BULWARK_ASSIGN_OR_RETURN(Typed variable, Compile(*node.children[0]));
    return Typed{Type::kBool, Emit(Op::kHas, variable.node)};
  }

  absl::StatusOr<Typed> CompileSize(const AstNode& node) {
    const AstNode& argument = *node.children[0];
    BULWARK_ASSIGN_OR_RETURN(Typed operand, Compile(argument));
    if (operand.type != Type::kString && operand.type != Type::kDyn && !IsList(operand.type)) {
      return source_.Error(
          argument.offset,
          fmt::format("size() takes a string or a list, this is {}", Name(operand.type)));
    }
    return Typed{Type::kInt, Emit(Op::kSize, operand.node)};
  }

  absl::StatusOr<Typed> CompileAffix(const AstNode& node) {
    bool starts = node.kind == AstKind::kStartsWith;
    std::string_view name = starts ? "startsWith" : "endsWith";
    BULWARK_ASSIGN_OR_RETURN(Typed receiver, CompileAs(*node.children[0], Type::kString,
                                                       fmt::format("{}() applies to a", name)));
    BULWARK_ASSIGN_OR_RETURN(Typed argument, CompileAs(*node.children[1], Type::kString,
                                                       fmt::format("{}() takes a", name)));
    return Typed{Type::kBool,
                 Emit(starts ? Op::kStartsWith : Op::kEndsWith, receiver.node, argument.node)};
  }

  const ExprSource& source_;
  const ExprScope& scope_;
  ExprProgram program_;
};

}  // namespace

absl::StatusOr<ExprProgram> CompileAst(const AstNode& root, const ExprSource& source,
                                       const ExprScope& scope) {
  return Compiler(source, scope).Run(root);
}

}  // namespace bulwark::policy::internal
