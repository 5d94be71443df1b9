// Evaluation of compiled `when:` expressions (semantics: docs/policy.md, "Evaluation").
#include "policy/internal/expr_eval.h"

#include <cstdint>
#include <forward_list>
#include <limits>
#include <string>
#include <string_view>

#include "core/ascii.h"
#include "http/message.h"

namespace bulwark::policy::internal {
namespace {

using Json = nlohmann::json;

enum class Kind : std::uint8_t { kUndefined, kBool, kInt, kString, kList };
enum class ListKind : std::uint8_t { kConst, kScope, kJson };

// A run-time value: views into the program or the request, never owning.
struct Value {
  Kind kind = Kind::kUndefined;
  ListKind list_kind = ListKind::kConst;
  bool boolean = false;
  std::int64_t integer = 0;
  std::string_view string;  // kString; a kScope list's space-separated claim
  const ConstList* constant = nullptr;
  const Json* array = nullptr;
};

Value Undefined() { return Value{}; }

Value Bool(bool b) {
  Value v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}

Value Int(std::int64_t i) {
  Value v;
  v.kind = Kind::kInt;
  v.integer = i;
  return v;
}

Value String(std::string_view s) {
  Value v;
  v.kind = Kind::kString;
  v.string = s;
  return v;
}

Value List(ListKind kind) {
  Value v;
  v.kind = Kind::kList;
  v.list_kind = kind;
  return v;
}

// Converts a JSON value: strings, booleans and integers that fit int64 map to their kinds,
// arrays to lists when `allow_list` (so list elements are never lists), anything else (null,
// objects, floats, a missing value) is undefined. Uses only non-throwing accessors.
Value FromJson(const Json* json, bool allow_list) {
  if (json == nullptr) {
    return Undefined();
  }
  if (const auto* s = json->get_ptr<const Json::string_t*>()) {
    return String(*s);
  }
  if (const auto* b = json->get_ptr<const Json::boolean_t*>()) {
    return Bool(*b);
  }
  if (const auto* u = json->get_ptr<const Json::number_unsigned_t*>()) {
    if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Undefined();
    }
    return Int(static_cast<std::int64_t>(*u));
  }
  if (const auto* i = json->get_ptr<const Json::number_integer_t*>()) {
    return Int(*i);
  }
  if (allow_list && json->is_array()) {
    Value v = List(ListKind::kJson);
    v.array = json;
    return v;
  }
  return Undefined();
}

// Walks the elements of a list value, whatever holds it.
class ListCursor {
 public:
  explicit ListCursor(const Value& list) : list_(list) {}

  // Sets `out` to the next element; returns false at the end.
  bool Next(Value& out) {
    switch (list_.list_kind) {
      case ListKind::kConst:
        if (index_ >= list_.constant->size()) {
          return false;
        }
        out = list_.constant->is_string ? String(list_.constant->strings[index_])
                                        : Int(list_.constant->ints[index_]);
        ++index_;
        return true;
      case ListKind::kScope:
        return NextScope(out);
      case ListKind::kJson:
        if (index_ >= list_.array->size()) {
          return false;
        }
        out = FromJson(&(*list_.array)[index_], /*allow_list=*/false);
        ++index_;
        return true;
    }
    return false;
  }

 private:
  // RFC 6749 §3.3: scope tokens are separated by spaces; runs of spaces yield no empty token.
  bool NextScope(Value& out) {
    std::string_view scope = list_.string;
    while (index_ < scope.size() && scope[index_] == ' ') {
      ++index_;
    }
    if (index_ >= scope.size()) {
      return false;
    }
    std::size_t end = scope.find(' ', index_);
    if (end == std::string_view::npos) {
      end = scope.size();
    }
    out = String(scope.substr(index_, end - index_));
    index_ = end;
    return true;
  }

  const Value& list_;
  std::size_t index_ = 0;
};

enum class Truth { kFalse, kTrue, kUndefined };

Truth Equal(const Value& a, const Value& b) {
  if (a.kind == Kind::kUndefined || a.kind != b.kind) {
    return Truth::kUndefined;
  }
  switch (a.kind) {
    case Kind::kBool:
      return a.boolean == b.boolean ? Truth::kTrue : Truth::kFalse;
    case Kind::kInt:
      return a.integer == b.integer ? Truth::kTrue : Truth::kFalse;
    case Kind::kString:
      return a.string == b.string ? Truth::kTrue : Truth::kFalse;
    case Kind::kList: {
      // Elements are scalars (FromJson makes nested arrays undefined), so this recurses once.
      ListCursor left(a);
      ListCursor right(b);
      Value x;
      Value y;
      while (true) {
        bool has_x = left.Next(x);
        bool has_y = right.Next(y);
        if (!has_x || !has_y) {
          return has_x == has_y ? Truth::kTrue : Truth::kFalse;
        }
        Truth element = Equal(x, y);
        if (element != Truth::kTrue) {
          return element;
        }
      }
    }
    case Kind::kUndefined:
      break;
  }
  return Truth::kUndefined;
}

Value FromTruth(Truth truth) {
  return truth == Truth::kUndefined ? Undefined() : Bool(truth == Truth::kTrue);
}

// Counts the code points of UTF-8 text (bytes that do not continue a sequence), as CEL's size().
std::int64_t CodePoints(std::string_view s) {
  std::int64_t count = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++count;
    }
  }
  return count;
}

bool NeedsDecoding(std::string_view s) { return s.find_first_of("%+") != std::string_view::npos; }

// Where a query parameter or header occurs: how often, and the first raw value.
struct Occurrence {
  int count = 0;
  std::string_view value;
};

Occurrence FindQuery(std::string_view query, std::string_view name) {
  Occurrence found;
  if (query.find(';') != std::string_view::npos) {
    // Some servers also split on ';' (`a=1;owner=bob&owner=alice`): which value the service
    // sees is ambiguous, so the name counts as repeated and reads as undefined.
    found.count = 2;
    return found;
  }
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    // Decoding never lengthens a key, so a shorter one cannot match.
    if (key.size() < name.size() ||
        (NeedsDecoding(key) ? http::DecodeQueryComponent(key) != name : key != name)) {
      continue;
    }
    if (++found.count == 1) {
      found.value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
  }
  return found;
}

Occurrence FindHeader(const http::Headers* headers, std::string_view name) {
  Occurrence found;
  if (headers == nullptr) {
    return found;
  }
  for (const http::Header& header : headers->all()) {
    if (core::AsciiEqualsIgnoreCase(header.name, name) && ++found.count == 1) {
      found.value = header.value;
    }
  }
  return found;
}

class Evaluator {
 public:
  Evaluator(const ExprProgram& program, const RequestFacts& request)
      : program_(program), request_(request) {}

  // Recursion is bounded by the tree's depth, which the parser limits (kMaxExprDepth).
  Value Eval(std::uint32_t index) {
    const Node& node = program_.nodes[index];
    switch (node.op) {
      case Op::kBool:
        return Bool(node.value != 0);
      case Op::kInt:
        return Int(node.value);
      case Op::kString:
        return String(program_.strings[node.a]);
      case Op::kList: {
        Value v = List(ListKind::kConst);
        v.constant = &program_.lists[node.a];
        return v;
      }
      case Op::kToken:
      case Op::kScope:
      case Op::kPath:
      case Op::kQuery:
      case Op::kHeader:
      case Op::kPeerId:
      case Op::kPeerService:
        return Variable(node);
      case Op::kHas:
        return Bool(Present(program_.nodes[node.a]));
      case Op::kNot: {
        Value v = Eval(node.a);
        return v.kind == Kind::kBool ? Bool(!v.boolean) : Undefined();
      }
      case Op::kAnd:
      case Op::kOr:
        return Logic(node);
      case Op::kEqual:
        return FromTruth(Equal(Eval(node.a), Eval(node.b)));
      case Op::kNotEqual: {
        Truth equal = Equal(Eval(node.a), Eval(node.b));
        return equal == Truth::kUndefined ? Undefined() : Bool(equal == Truth::kFalse);
      }
      case Op::kLess:
      case Op::kLessEqual:
      case Op::kGreater:
      case Op::kGreaterEqual:
        return Order(node.op, Eval(node.a), Eval(node.b));
      case Op::kIn:
        return In(Eval(node.a), Eval(node.b));
      case Op::kSize:
        return Size(Eval(node.a));
      case Op::kStartsWith:
      case Op::kEndsWith:
        return Affix(node.op, Eval(node.a), Eval(node.b));
    }
    return Undefined();
  }

 private:
  const Json* Claim(std::string_view name) const {
    if (request_.token == nullptr || !request_.token->is_object()) {
      return nullptr;
    }
    auto it = request_.token->find(name);
    return it == request_.token->end() ? nullptr : &*it;
  }

  const Json* Resolve(const std::vector<std::string>& path) const {
    const Json* json = Claim(path.front());
    for (std::size_t i = 1; json != nullptr && i < path.size(); ++i) {
      if (!json->is_object()) {
        return nullptr;
      }
      auto it = json->find(path[i]);
      json = it == json->end() ? nullptr : &*it;
    }
    return json;
  }

  const PathParam* FindPathParam(std::string_view name) const {
    for (const PathParam& param : request_.path) {
      if (param.name == name) {
        return &param;
      }
    }
    return nullptr;
  }

  // A repeated query parameter or header is ambiguous (the service may read another copy than
  // the policy did), so its value is undefined, although has() sees it.
  Value Unique(const Occurrence& found, bool decode) {
    if (found.count != 1) {
      return Undefined();
    }
    if (!decode || !NeedsDecoding(found.value)) {
      return String(found.value);
    }
    decoded_.push_front(http::DecodeQueryComponent(found.value));
    return String(decoded_.front());
  }

  // path.<name> is the segment as the service reads it: percent-decoded once (NormalizePath has
  // refused encoded '/', '\' and control characters, so the value is still one segment).
  Value PathValue(const PathParam* param) {
    if (param == nullptr) {
      return Undefined();
    }
    if (param->value.find('%') == std::string_view::npos) {
      return String(param->value);
    }
    decoded_.push_front(http::DecodePathSegment(param->value));
    return String(decoded_.front());
  }

  Value Variable(const Node& node) {
    switch (node.op) {
      case Op::kToken:
        return FromJson(Resolve(program_.token_paths[node.a]), /*allow_list=*/true);
      case Op::kScope:
        return Scope();
      case Op::kPath:
        return PathValue(FindPathParam(program_.strings[node.a]));
      case Op::kQuery:
        return Unique(FindQuery(request_.query, program_.strings[node.a]), /*decode=*/true);
      case Op::kHeader:
        return Unique(FindHeader(request_.headers, program_.strings[node.a]), /*decode=*/false);
      case Op::kPeerId:
        return request_.peer_id.empty() ? Undefined() : String(request_.peer_id);
      case Op::kPeerService:
        return request_.peer_service.empty() ? Undefined() : String(request_.peer_service);
      default:
        return Undefined();
    }
  }

  // token.scope: the space-separated `scope` claim, or a JSON array of scopes.
  Value Scope() const {
    const Json* claim = Claim("scope");
    if (claim == nullptr) {
      return Undefined();
    }
    if (const auto* s = claim->get_ptr<const Json::string_t*>()) {
      Value v = List(ListKind::kScope);
      v.string = *s;
      return v;
    }
    return claim->is_array() ? FromJson(claim, /*allow_list=*/true) : Undefined();
  }

  bool Present(const Node& variable) const {
    switch (variable.op) {
      case Op::kToken: {
        const Json* json = Resolve(program_.token_paths[variable.a]);
        return json != nullptr && !json->is_null();
      }
      case Op::kScope: {
        const Json* json = Claim("scope");
        return json != nullptr && !json->is_null();
      }
      case Op::kPath:
        return FindPathParam(program_.strings[variable.a]) != nullptr;
      case Op::kQuery:
        return FindQuery(request_.query, program_.strings[variable.a]).count > 0;
      case Op::kHeader:
        return FindHeader(request_.headers, program_.strings[variable.a]).count > 0;
      case Op::kPeerId:
        return !request_.peer_id.empty();
      case Op::kPeerService:
        return !request_.peer_service.empty();
      default:
        return false;
    }
  }

  // && and || as in CEL: a false (for ||, a true) operand decides whatever the others are;
  // otherwise an undefined operand makes the result undefined.
  Value Logic(const Node& node) {
    bool decisive = node.op == Op::kOr;
    bool undefined = false;
    for (std::uint32_t i = 0; i < node.b; ++i) {
      Value v = Eval(program_.operands[node.a + i]);
      if (v.kind != Kind::kBool) {
        undefined = true;
      } else if (v.boolean == decisive) {
        return Bool(decisive);
      }
    }
    return undefined ? Undefined() : Bool(!decisive);
  }

  static Value Order(Op op, const Value& a, const Value& b) {
    int sign;
    if (a.kind == Kind::kInt && b.kind == Kind::kInt) {
      sign = a.integer < b.integer ? -1 : (a.integer > b.integer ? 1 : 0);
    } else if (a.kind == Kind::kString && b.kind == Kind::kString) {
      int c = a.string.compare(b.string);
      sign = c < 0 ? -1 : (c > 0 ? 1 : 0);
    } else {
      return Undefined();
    }
    switch (op) {
      case Op::kLess:
        return Bool(sign < 0);
      case Op::kLessEqual:
        return Bool(sign <= 0);
      case Op::kGreater:
        return Bool(sign > 0);
      default:
        return Bool(sign >= 0);
    }
  }

  static Value In(const Value& needle, const Value& haystack) {
    if (needle.kind == Kind::kUndefined || needle.kind == Kind::kList) {
      return Undefined();
    }
    if (haystack.kind == Kind::kString) {
      return needle.kind == Kind::kString
                 ? Bool(haystack.string.find(needle.string) != std::string_view::npos)
                 : Undefined();
    }
    if (haystack.kind != Kind::kList) {
      return Undefined();
    }
    if (haystack.list_kind == ListKind::kConst) {
      const ConstList& list = *haystack.constant;
      if (needle.kind != (list.is_string ? Kind::kString : Kind::kInt)) {
        return Undefined();
      }
      if (list.has_set()) {
        return Bool(list.is_string ? list.string_set.contains(absl::string_view(
                                         needle.string.data(), needle.string.size()))
                                   : list.int_set.contains(needle.integer));
      }
    }
    // Elements of another type than the needle simply do not match.
    ListCursor cursor(haystack);
    Value element;
    while (cursor.Next(element)) {
      if (Equal(needle, element) == Truth::kTrue) {
        return Bool(true);
      }
    }
    return Bool(false);
  }

  static Value Size(const Value& v) {
    if (v.kind == Kind::kString) {
      return Int(CodePoints(v.string));
    }
    if (v.kind != Kind::kList) {
      return Undefined();
    }
    std::int64_t count = 0;
    ListCursor cursor(v);
    Value element;
    while (cursor.Next(element)) {
      ++count;
    }
    return Int(count);
  }

  static Value Affix(Op op, const Value& text, const Value& affix) {
    if (text.kind != Kind::kString || affix.kind != Kind::kString) {
      return Undefined();
    }
    return Bool(op == Op::kStartsWith ? text.string.starts_with(affix.string)
                                      : text.string.ends_with(affix.string));
  }

  const ExprProgram& program_;
  const RequestFacts& request_;
  // Percent-decoded query values, alive until the evaluation ends; empty (no allocation) unless
  // a value needed decoding.
  std::forward_list<std::string> decoded_;
};

}  // namespace

bool EvaluateProgram(const ExprProgram& program, const RequestFacts& request) {
  if (program.nodes.empty()) {
    return false;
  }
  Value result = Evaluator(program, request).Eval(program.root);
  return result.kind == Kind::kBool && result.boolean;
}

}  // namespace bulwark::policy::internal
