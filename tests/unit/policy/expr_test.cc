#include "policy/expr.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "mesh/config.h"

// Counts heap allocations on this thread, to check that evaluation does not allocate. Replacing
// the global operator new is left out of sanitizer builds, whose allocator must stay in charge.
#if !defined(__SANITIZE_ADDRESS__)
namespace {
thread_local long allocations = 0;
}  // namespace

// GCC cannot see that these replace the global pair, and flags malloc/free under new/delete.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#define BULWARK_COUNTS_ALLOCATIONS 1
#endif

namespace bulwark::policy {
namespace {

constexpr mesh::SourcePosition kAt{10, 15};

absl::StatusOr<CompiledExpr> Compile(std::string_view text,
                                     std::vector<std::string> params = {"id", "name"}) {
  return CompiledExpr::Compile(mesh::WhenExpression{std::string(text), kAt},
                               ExprScope{std::move(params)}, "mesh.yaml");
}

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

// One request with something of every kind to read.
class Request {
 public:
  Request() {
    token_ = nlohmann::json::parse(R"({
      "sub": "u1", "scope": "rentals:read  rentals:charge", "age": 42, "neg": -5,
      "big": 18446744073709551615, "ratio": 1.5, "admin": true, "nothing": null,
      "groups": ["a", "b"], "nums": [1, 2, 3], "mixed": ["a", 1, {"x": 1}, ["a"]],
      "org": {"id": "o1", "tier": {"level": 3}}, "email": "alice@example.com",
      "https://x.test/roles": ["r1"]})");
    headers_.Add("X-Request-Id", "abc");
    headers_.Add("Content-Type", "application/json");
    headers_.Add("x-dup", "1");
    headers_.Add("X-Dup", "2");
    facts_.token = &token_;
    facts_.path = params_;
    facts_.query = "page=2&q=hello%20world&plus=a+b&dup=1&dup=2&flag&bad=%zz&enc%5Fkey=v";
    facts_.headers = &headers_;
    facts_.peer_id = "spiffe://dvd.example/ns/default/sa/contract";
    facts_.peer_service = "contract";
  }

  RequestFacts& facts() { return facts_; }

 private:
  nlohmann::json token_;
  http::Headers headers_;
  PathParam params_[2] = {{"id", "u1"}, {"name", "bob"}};
  RequestFacts facts_;
};

struct EvalCase {
  std::string_view text;
  bool expected;
};

void ExpectEvaluations(const std::vector<EvalCase>& cases, const RequestFacts& facts) {
  for (const EvalCase& c : cases) {
    absl::StatusOr<CompiledExpr> expr = Compile(c.text);
    ASSERT_TRUE(expr.ok()) << c.text << ": " << expr.status();
    EXPECT_EQ(expr->Evaluate(facts), c.expected) << c.text;
  }
}

TEST(ExprTest, IssueExampleAllowsOnlyTheTokenSubjectWithTheScope) {
  Request request;
  absl::StatusOr<CompiledExpr> expr =
      Compile(R"(token.sub == path.id && "rentals:charge" in token.scope)", {"id"});
  ASSERT_TRUE(expr.ok()) << expr.status();
  EXPECT_TRUE(expr->Evaluate(request.facts()));

  PathParam other[] = {{"id", "u2"}};
  RequestFacts facts = request.facts();
  facts.path = other;
  EXPECT_FALSE(expr->Evaluate(facts));

  nlohmann::json no_scope = {{"sub", "u1"}, {"scope", "rentals:read"}};
  facts = request.facts();
  facts.token = &no_scope;
  EXPECT_FALSE(expr->Evaluate(facts));

  facts.token = nullptr;
  EXPECT_FALSE(expr->Evaluate(facts));
  EXPECT_EQ(expr->text(), R"(token.sub == path.id && "rentals:charge" in token.scope)");
}

TEST(ExprTest, LiteralsAndOperators) {
  Request request;
  ExpectEvaluations(
      {
          {"true", true},
          {"false", false},
          {"!false", true},
          {"!!true", true},
          {"true && false", false},
          {"false || true", true},
          {"true && true && true", true},
          {"false || false || true", true},
          {"1 < 2", true},
          {"2 <= 2", true},
          {"3 > 2", true},
          {"2 >= 3", false},
          {"-5 < 0", true},
          {"1 == 1", true},
          {"1 != 2", true},
          {"1 != 1", false},
          {"true == true", true},
          {"true != false", true},
          {"-9223372036854775808 < 9223372036854775807", true},
          {R"("a" < "b")", true},
          {R"("b" <= "a")", false},
          {R"("b" > "a")", true},
          {R"("a" >= "a")", true},
          {R"('abc' == "abc")", true},
          {R"('a\'b' == "a'b")", true},
          {R"("q\"\\" == 'q"\\')", true},
          {R"("tab\there".startsWith("tab\t"))", true},
          {R"("x\ny".endsWith("\ny"))", true},
          {R"("héllo".startsWith("hé"))", true},
          {R"(size("héllo") == 5)", true},  // code points, not bytes
          {R"(size('') == 0)", true},
          {R"(size(["a", "b", "c"]) == 3)", true},
          {R"("b" in ["a", "b"])", true},
          {R"("c" in ["a", "b"])", false},
          {"2 in [1, 2]", true},
          {"-1 in [1, -1]", true},
          {"3 in [1, 2]", false},
          {R"("ell" in "hello")", true},
          {R"("elo" in "hello")", false},
          {R"("k" in ["a","b","c","d","e","f","g","h","i","j","k"])", true},  // the hash-set path
          {R"("z" in ["a","b","c","d","e","f","g","h","i","j","k"])", false},
          {"11 in [1,2,3,4,5,6,7,8,9,10,11]", true},
          {"12 in [1,2,3,4,5,6,7,8,9,10,11]", false},
          {R"(["a", "b"] == ["a", "b"])", true},
          {R"(["a", "b"] != ["b", "a"])", true},
          {"[1, 2,] == [1, 2]", true},  // a trailing comma
          {"(((true)))", true},
      },
      request.facts());
}

TEST(ExprTest, PrecedenceFollowsCel) {
  Request request;
  ExpectEvaluations(
      {
          {"true || false && false", true},  // && binds tighter than ||
          {"(true || false) && false", false},
          {"false && false || true", true},
          {"!true || true", true},  // ! binds tighter than ||
          {"!(true || true)", false},
          {"!false && false", false},
          {"1 < 2 == true", true},  // relations: one level, left to right
          {"2 < 1 == false", true},
          {R"("a" in ["a"] == true)", true},
          {"1 == 1 && 2 == 2", true},
          {"!has(token.missing) && true", true},
          {R"(token.email.endsWith("example.com") && !token.email.startsWith("bob"))", true},
      },
      request.facts());
}

TEST(ExprTest, Variables) {
  Request request;
  ExpectEvaluations(
      {
          {R"(token.sub == "u1")", true},
          {"token.sub == path.id", true},
          {"token.sub == path.name", false},
          {"token.sub == token.sub", true},
          {R"(path.name == "bob")", true},
          {R"("rentals:read" in token.scope)", true},
          {R"("rentals:write" in token.scope)", false},
          {R"("rentals" in token.scope)", false},  // tokens, not a substring
          {"size(token.scope) == 2", true},
          {R"(token.scope == ["rentals:read", "rentals:charge"])", true},
          {"token.age == 42", true},
          {"token.age > 40", true},
          {"token.neg < 0", true},
          {"token.admin", true},
          {"token.admin == true", true},
          {"!token.admin", false},
          {R"(token.org.id == "o1")", true},
          {"token.org.tier.level >= 3", true},
          {R"(token["org"]["id"] == "o1")", true},
          {R"(token["https://x.test/roles"] == ["r1"])", true},
          {R"("r1" in token["https://x.test/roles"])", true},
          {R"("a" in token.groups)", true},
          {R"("z" in token.groups)", false},
          {"2 in token.nums", true},
          {"size(token.groups) == 2", true},
          {R"(token.groups == ["a", "b"])", true},
          {R"("a" in token.mixed && 1 in token.mixed)", true},
          {R"("x" in token.mixed)", false},
          {R"(token.email.endsWith("@example.com"))", true},
          {R"(token.email.startsWith("bob"))", false},
          {R"("example" in token.email)", true},
          {R"(size(token.email) == 17)", true},
          {R"(peer.service == "contract")", true},
          {R"(peer.id.startsWith("spiffe://dvd.example/"))", true},
          {R"(peer.id == "spiffe://dvd.example/ns/default/sa/contract")", true},
      },
      request.facts());
}

TEST(ExprTest, HasTellsPresence) {
  Request request;
  ExpectEvaluations(
      {
          {"has(token.sub)", true},
          {"has(token.missing)", false},
          {"has(token.nothing)", false},  // null counts as absent
          {"has(token.org.id)", true},
          {"has(token.org.missing)", false},
          {"has(token.sub.x)", false},  // sub is a string
          {"has(token.scope)", true},
          {"has(path.id)", true},
          {"has(query.page)", true},
          {"has(query.flag)", true},
          {"has(query.none)", false},
          {"has(headers.x-request-id)", true},
          {"has(headers.absent)", false},
          {"has(peer.id) && has(peer.service)", true},
      },
      request.facts());

  Request empty;
  RequestFacts facts;
  ExpectEvaluations({{"has(token.sub)", false},
                     {"has(token.scope)", false},
                     {"has(path.id)", false},
                     {"has(query.page)", false},
                     {"has(headers.x-request-id)", false},
                     {"has(peer.id)", false},
                     {"has(peer.service)", false}},
                    facts);
}

TEST(ExprTest, HeaderNamesAreCaseInsensitive) {
  Request request;
  ExpectEvaluations(
      {
          {R"(headers.x-request-id == "abc")", true},
          {R"(headers.X-REQUEST-ID == 'abc')", true},
          {R"(headers["X-Request-ID"] == "abc")", true},
          {R"(headers["content-type"].startsWith("application/"))", true},
          {R"(headers.content-type == "Application/json")", false},  // values are exact
          {R"(headers.x-request-id== "abc")", true},
      },
      request.facts());
}

TEST(ExprTest, QueryValuesAreDecoded) {
  Request request;
  ExpectEvaluations(
      {
          {R"(query.page == "2")", true},
          {R"(query.q == "hello world")", true},
          {R"(query.plus == "a b")", true},
          {R"(query.flag == "")", true},
          {R"(query.enc_key == "v")", true},  // the name is decoded too
          {R"(query.bad == "%zz")", true},    // a malformed escape stays as written
          {R"(query.Page == "2")", false},    // query names are case-sensitive
      },
      request.facts());
}

// A repeated header or query parameter could be read differently by the service; its value is
// undefined, so no comparison on it allows.
TEST(ExprTest, RepeatedHeadersAndParametersAreAmbiguous) {
  Request request;
  ExpectEvaluations(
      {
          {R"(headers.x-dup == "1")", false},
          {R"(headers.x-dup == "2")", false},
          {R"(headers.x-dup != "1")", false},
          {R"(!(headers.x-dup == "1"))", false},
          {R"(query.dup == "1")", false},
          {R"(query.dup != "3")", false},
          {"has(headers.x-dup) && has(query.dup)", true},
      },
      request.facts());
}

// A missing value or a claim of another type than the operation needs makes the result
// undefined: it denies, also under != and !, unless another operand decides (CEL's rules).
// `a=1;owner=bob&owner=alice`: a service that also splits on ';' could read owner=bob, so a
// query with ';' has no value for any name.
TEST(ExprTest, AQueryWithSemicolonsIsAmbiguous) {
  Request request;
  RequestFacts facts = request.facts();
  facts.query = "x=1;owner=bob&owner=alice";
  ExpectEvaluations(
      {
          {R"(query.owner == "alice")", false},
          {R"(query.owner == "bob")", false},
          {R"(query.x == "1")", false},
      },
      facts);
}

TEST(ExprTest, RuntimeMismatchesDeny) {
  Request request;
  ExpectEvaluations(
      {
          {R"(token.missing == "x")", false},
          {R"(token.missing != "x")", false},
          {R"(!(token.missing == "x"))", false},
          {"token.sub == 5", false},
          {"token.sub != 5", false},
          {"!(token.sub == 5)", false},
          {R"(token.age == "42")", false},
          {R"(token.age != "42")", false},
          {"token.big > 0", false},  // beyond int64
          {"token.big != 0", false},
          {"token.ratio == 1", false},  // floats are not ints
          {R"(token.nothing == "")", false},
          {R"(token.org == "o1")", false},
          {R"(token.org != "o1")", false},
          {"size(token.age) == 2", false},
          {R"(token.age.startsWith("4"))", false},
          {R"("4" in token.age)", false},
          {R"(token.age in ["42"])", false},
          {R"(!(token.age in ["42"]))", false},
          {"token.sub < 5", false},
          {"token.sub >= 5", false},
          {"token.email", false},  // a string where a bool is needed
          {"!token.email", false},
          {"token.missing || false", false},
          {"token.missing && true", false},
          {"!(token.missing && true)", false},
          {"token.missing || true", true},      // true decides ||
          {"!(token.missing && false)", true},  // false decides &&
          {"token.missing == token.missing", false},
      },
      request.facts());
}

TEST(ExprTest, AbsentRequestPartsDeny) {
  RequestFacts facts;  // no token, parameters, query, headers or peer
  ExpectEvaluations(
      {
          {"token.sub == path.id", false},
          {R"(token.sub != "x")", false},
          {R"("a" in token.scope)", false},
          {R"(!("a" in token.scope))", false},
          {R"(path.name != "x")", false},
          {R"(query.page != "x")", false},
          {R"(headers.x-request-id != "x")", false},
          {R"(peer.service != "billing")", false},
          {R"(peer.id != "")", false},
          {"!has(token.sub)", true},
      },
      facts);

  nlohmann::json not_an_object = nlohmann::json::array({"sub"});
  facts.token = &not_an_object;
  ExpectEvaluations({{R"(token.sub != "x")", false}, {"has(token.sub)", false}}, facts);

  nlohmann::json scope_array = {{"scope", {"a", "b", 3}}};
  facts.token = &scope_array;
  ExpectEvaluations({{R"("b" in token.scope)", true}, {"size(token.scope) == 3", true}}, facts);
  nlohmann::json scope_number = {{"scope", 7}};
  facts.token = &scope_number;
  ExpectEvaluations({{R"("a" in token.scope)", false}, {R"(!("a" in token.scope))", false}}, facts);
}

struct ErrorCase {
  std::string_view text;
  std::string_view message;  // the whole status message
};

void ExpectErrors(const std::vector<ErrorCase>& cases,
                  std::vector<std::string> params = {"id", "name"}) {
  for (const ErrorCase& c : cases) {
    absl::StatusOr<CompiledExpr> expr = Compile(c.text, params);
    ASSERT_FALSE(expr.ok()) << c.text;
    EXPECT_EQ(expr.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(Message(expr.status()), c.message) << c.text;
  }
}

TEST(ExprTest, TypeErrorsCiteFileLineAndColumn) {
  ExpectErrors({
      {"1 && true", "mesh.yaml:10:15: '&&' needs a bool, this is int"},
      {"true && 'x'", "mesh.yaml:10:23: '&&' needs a bool, this is string"},
      {"false || [1]", "mesh.yaml:10:24: '||' needs a bool, this is list<int>"},
      {"!5", "mesh.yaml:10:16: '!' needs a bool, this is int"},
      {"path.id == 5", "mesh.yaml:10:23: '==' cannot compare string with int"},
      {"true != 'a'", "mesh.yaml:10:20: '!=' cannot compare bool with string"},
      {"token.scope == 'a'", "mesh.yaml:10:27: '==' cannot compare list<string> with string"},
      {"'a' < true", "mesh.yaml:10:19: '<' orders ints or strings, not bool"},
      {"[1] <= [2]", "mesh.yaml:10:19: '<=' orders ints or strings, not list<int>"},
      {"1 < 'a'", "mesh.yaml:10:17: '<' cannot compare int with string"},
      {"1 in 5", "mesh.yaml:10:20: 'in' needs a list or a string on its right, this is int"},
      {"1 in ['a']", "mesh.yaml:10:17: 'in' cannot look for int in list<string>"},
      {"'a' in [1]", "mesh.yaml:10:19: 'in' cannot look for string in list<int>"},
      {"1 in 'abc'", "mesh.yaml:10:17: 'in' cannot look for int in string"},
      {"token.scope in ['a']",
       "mesh.yaml:10:15: 'in' looks for a single value, this is list<string>"},
      {"size(1) == 1", "mesh.yaml:10:20: size() takes a string or a list, this is int"},
      {"size('a') == 'a'", "mesh.yaml:10:25: '==' cannot compare int with string"},
      {"path.id.startsWith(1)", "mesh.yaml:10:34: startsWith() takes a string, this is int"},
      {"(1).endsWith('a')", "mesh.yaml:10:16: endsWith() applies to a string, this is int"},
      {"token.scope.endsWith('a')",
       "mesh.yaml:10:15: endsWith() applies to a string, this is list<string>"},
      {"'abc'", "mesh.yaml:10:15: the expression must be a bool, this is string"},
      {"size(token.sub)", "mesh.yaml:10:15: the expression must be a bool, this is int"},
  });
}

TEST(ExprTest, NameErrorsCiteFileLineAndColumn) {
  ExpectErrors({
      {"tokn.sub == 1",
       "mesh.yaml:10:15: unknown variable 'tokn' (the variables are token.*, path.*, query.*, "
       "headers.*, peer.id and peer.service)"},
      {"token.sub == path.uid",
       "mesh.yaml:10:33: unknown path parameter 'uid' (the rule's paths bind: id, name)"},
      {"token == 'x'", "mesh.yaml:10:15: 'token' needs a claim after it, as in token.sub"},
      {"path == 'x'", "mesh.yaml:10:15: 'path' needs a name after it, as in path.id"},
      {"headers == 'x'",
       "mesh.yaml:10:15: 'headers' needs a name after it, as in headers.x-request-id"},
      {"token.scope.x == 1",
       "mesh.yaml:10:27: token.scope is a list of strings and has no members"},
      {"query.a.b == 'x'", "mesh.yaml:10:23: query.a is a string and has no members"},
      {"peer.name == 'x'",
       "mesh.yaml:10:20: unknown peer attribute 'name' (peer has id and service)"},
      {"headers['x y'] == 'a'", "mesh.yaml:10:23: 'x y' is not a valid header name"},
      {"headers[''] == 'a'", "mesh.yaml:10:23: '' is not a valid header name"},
      {"foo(1)",
       "mesh.yaml:10:15: unknown function 'foo' (the functions are has, size, startsWith and "
       "endsWith)"},
      {"token.sub.contains('a')",
       "mesh.yaml:10:25: unknown method 'contains' (the functions are has, size, startsWith and "
       "endsWith)"},
      {"startsWith('a')", "mesh.yaml:10:15: startsWith is a method: write x.startsWith(prefix)"},
      {"has(1)", "mesh.yaml:10:19: has() takes a variable, as in has(token.email)"},
      {"has(token.sub == 'a')", "mesh.yaml:10:19: has() takes a variable, as in has(token.email)"},
      {"size()", "mesh.yaml:10:20: size() takes one argument"},
      {"has(token.a, token.b)", "mesh.yaml:10:26: has() takes one argument"},
      {"'a'.b == 1", "mesh.yaml:10:19: only variables have members"},
      {"'a' in []", "mesh.yaml:10:22: an empty list (it would never match)"},
      {"'a' in ['a', 1]",
       "mesh.yaml:10:28: a list mixes strings and integers (elements must have one type)"},
      {"'a' in [token.sub]", "mesh.yaml:10:23: list elements must be string or integer literals"},
      {"true in [true]", "mesh.yaml:10:24: list elements must be string or integer literals"},
  });
  ExpectErrors({{"path.id == 'x'",
                 "mesh.yaml:10:20: unknown path parameter 'id' (the rule's paths bind no "
                 "parameters)"}},
               {});
}

TEST(ExprTest, SyntaxErrorsCiteFileLineAndColumn) {
  ExpectErrors({
      {"", "mesh.yaml:10:15: empty expression"},
      {"  \n ", "mesh.yaml:10:15: empty expression"},
      {"token.sub = 'x'", "mesh.yaml:10:25: '=' is not an operator (compare with '==')"},
      {"true & false", "mesh.yaml:10:20: '&' is not an operator (write '&&')"},
      {"true | false", "mesh.yaml:10:20: '|' is not an operator (write '||')"},
      {"token.sub-id == 'x'",
       "mesh.yaml:10:24: expected an operator or the end of the expression, found '-' (there is "
       "no subtraction; a name with '-' is written headers[\"x-name\"])"},
      {"(true", "mesh.yaml:10:20: expected ')', found the end of the expression"},
      {"true)", "mesh.yaml:10:19: expected an operator or the end of the expression, found ')'"},
      {"true true",
       "mesh.yaml:10:20: expected an operator or the end of the expression, found 'true'"},
      {"true &&",
       "mesh.yaml:10:22: expected a value, a variable or '(', found the end of the "
       "expression"},
      {"== 1", "mesh.yaml:10:15: expected a value, a variable or '(', found '=='"},
      {"token.", "mesh.yaml:10:21: expected a name after '.', found the end of the expression"},
      {"token[1] == 1",
       "mesh.yaml:10:21: expected a string literal as index, as in headers[\"x-id\"], found '1'"},
      {"token['a' == 1", "mesh.yaml:10:25: expected ']', found '=='"},
      {"- token.sub == 1",
       "mesh.yaml:10:17: expected an integer after '-' (only integer literals can be negated), "
       "found 'token'"},
      {"1.5 == 1", "mesh.yaml:10:15: malformed number (only decimal integers are supported)"},
      {"1x == 1", "mesh.yaml:10:15: malformed number (only decimal integers are supported)"},
      {"9223372036854775808 == 1", "mesh.yaml:10:15: integer literal out of the 64-bit range"},
      {"-9223372036854775809 == 1", "mesh.yaml:10:16: integer literal out of the 64-bit range"},
      {"99999999999999999999999 == 1", "mesh.yaml:10:15: integer literal out of the 64-bit range"},
      {"null == token.x",
       "mesh.yaml:10:15: null is not part of the language; use has() to test presence"},
      {"'abc", "mesh.yaml:10:15: unterminated string"},
      {"token.sub == \"abc", "mesh.yaml:10:28: unterminated string"},
      {"'a\nb' == 'x'", "mesh.yaml:10:17: unterminated string (strings stay on one line)"},
      {R"('a\qb' == 'x')",
       R"(mesh.yaml:10:17: unknown escape in a string (the escapes are \\ \" \' \n \t))"},
      {R"('a\)", R"(mesh.yaml:10:17: unknown escape in a string (the escapes are \\ \" \' \n \t))"},
      {"'a\x01' == 'x'", "mesh.yaml:10:17: control character in a string (write \\n or \\t)"},
      {"'a\tb' == 'x'", "mesh.yaml:10:17: control character in a string (write \\n or \\t)"},
      {"'a\x7f' == 'x'", "mesh.yaml:10:17: control character in a string (write \\n or \\t)"},
      {"token.sub == $", "mesh.yaml:10:28: unexpected character '$'"},
      {"tökén == 'x'", "mesh.yaml:10:16: unexpected byte 0xc3"},
  });
}

TEST(ExprTest, PositionsInMultiLineText) {
  // A literal block scalar keeps its newlines; its lines share the column of the first one.
  ExpectErrors({
      {"token.sub == path.id &&\n  'x' in 5",
       "mesh.yaml:11:24: 'in' needs a list or a string on its right, this is int"},
      {"true &&\n\n true &&\ntokn",
       "mesh.yaml:13:15: unknown variable 'tokn' (the variables are "
       "token.*, path.*, query.*, headers.*, peer.id and peer.service)"},
  });
}

TEST(ExprTest, ErrorPositionMatchesTheMeshFile) {
  const std::string yaml = R"(trust_domain: td
services:
  user:
    port: 9001
    allow:
      - from: [user]
        paths: ["/users/{id}"]
        when: token.sub == path.uid
)";
  absl::StatusOr<mesh::MeshConfig> config = mesh::ParseMeshConfig(yaml, "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const mesh::WhenExpression& when = *config->services[0].allow[0].when;
  absl::StatusOr<CompiledExpr> expr = CompiledExpr::Compile(when, {{"id"}}, config->file_name);
  ASSERT_FALSE(expr.ok());
  // Line 8 is `        when: token.sub == path.uid`; 'uid' starts in column 33.
  EXPECT_EQ(Message(expr.status()),
            "mesh.yaml:8:33: unknown path parameter 'uid' (the rule's paths bind: id)");
}

TEST(ExprTest, ErrorPositionMatchesAQuotedValueInTheMeshFile) {
  const std::string yaml = R"(trust_domain: td
services:
  user:
    port: 9001
    allow:
      - from: [user]
        paths: ["/users/{id}"]
        when: "token.sub == path.uid"
      - from: [user]
        when: 'peer.id == path.id'
)";
  absl::StatusOr<mesh::MeshConfig> config = mesh::ParseMeshConfig(yaml, "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<CompiledExpr> expr =
      CompiledExpr::Compile(*config->services[0].allow[0].when, {{"id"}}, config->file_name);
  ASSERT_FALSE(expr.ok());
  // Line 8 is `        when: "token.sub == path.uid"`; 'uid' starts in column 34.
  EXPECT_EQ(Message(expr.status()),
            "mesh.yaml:8:34: unknown path parameter 'uid' (the rule's paths bind: id)");
  expr = CompiledExpr::Compile(*config->services[0].allow[1].when, {}, config->file_name);
  ASSERT_FALSE(expr.ok());
  // Line 10 is `        when: 'peer.id == path.id'`; 'id' of path.id starts in column 32.
  EXPECT_TRUE(Message(expr.status()).starts_with("mesh.yaml:10:32: ")) << Message(expr.status());
}

TEST(ExprTest, ExampleMeshFileCompiles) {
  absl::StatusOr<mesh::MeshConfig> config =
      mesh::LoadMeshConfig(std::string(BULWARK_SOURCE_DIR) + "/examples/mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  int compiled = 0;
  for (const mesh::ServiceConfig& service : config->services) {
    for (const mesh::AllowRule& rule : service.allow) {
      if (rule.when) {
        absl::StatusOr<CompiledExpr> expr =
            CompiledExpr::Compile(*rule.when, {{"id"}}, config->file_name);
        EXPECT_TRUE(expr.ok()) << expr.status();
        ++compiled;
      }
    }
  }
  EXPECT_GE(compiled, 1);
}

std::string Repeat(std::string_view piece, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += piece;
  }
  return out;
}

TEST(ExprTest, HostileInputsAreErrorsNotCrashes) {
  Request request;
  // Nesting: 64 levels compile, the 65th is refused before the stack is at risk.
  std::string parens64 = Repeat("(", 64) + "true" + Repeat(")", 64);
  ASSERT_TRUE(Compile(parens64).ok()) << Compile(parens64).status();
  EXPECT_TRUE(Compile(parens64)->Evaluate(request.facts()));
  ExpectErrors({{Repeat("(", 65) + "true" + Repeat(")", 65),
                 "mesh.yaml:10:80: expression nested more than 64 levels deep"}});
  std::string nots64 = Repeat("!", 64) + "true";
  ASSERT_TRUE(Compile(nots64).ok());
  EXPECT_TRUE(Compile(nots64)->Evaluate(request.facts()));
  ExpectErrors(
      {{Repeat("!", 65) + "true", "mesh.yaml:10:79: expression nested more than 64 levels deep"}});
  // A chain of relations nests to the left: the 65th '==' (at offset 8 * 65 - 3) is refused.
  ASSERT_TRUE(Compile("true" + Repeat(" == true", 64)).ok());
  ExpectErrors({{"true" + Repeat(" == true", 65),
                 "mesh.yaml:10:532: expression nested more than 64 levels deep"}});
  ExpectErrors({{Repeat("[", 70) + "1" + Repeat("]", 70),
                 "mesh.yaml:10:80: expression nested more than 64 levels deep"}});
  ExpectErrors({{Repeat("size(", 70) + "'a'" + Repeat(")", 70),
                 "mesh.yaml:10:340: expression nested more than 64 levels deep"}});
  // Long && / || chains are one node each, not deep trees.
  std::string chain = "false" + Repeat(" || false", 400) + " || true";
  ASSERT_TRUE(Compile(chain).ok()) << Compile(chain).status();
  EXPECT_TRUE(Compile(chain)->Evaluate(request.facts()));

  // Length: 4 KiB of text compile, one byte more does not.
  std::string longest = "'" + std::string(4096 - 9, 'a') + "' == 'a'";
  ASSERT_EQ(longest.size(), 4096u);
  EXPECT_TRUE(Compile(longest).ok());
  ExpectErrors({{"'" + std::string(4096 - 8, 'a') + "' == 'a'",
                 "mesh.yaml:10:15: expression longer than 4096 bytes"},
                {std::string(100000, '('), "mesh.yaml:10:15: expression longer than 4096 bytes"}});

  // NUL and invalid UTF-8.
  using namespace std::string_literals;
  ExpectErrors({
      {"true\0"s, "mesh.yaml:10:19: unexpected byte 0x00"},
      {"'a\0b' == 'x'"s, "mesh.yaml:10:17: control character in a string (write \\n or \\t)"},
      {"'\xff' == 'x'", "mesh.yaml:10:16: invalid UTF-8 in a string"},
      {"'\xc0\xaf' == 'x'", "mesh.yaml:10:16: invalid UTF-8 in a string"},          // overlong
      {"'\xe0\x80\xaf' == 'x'", "mesh.yaml:10:16: invalid UTF-8 in a string"},      // overlong
      {"'\xed\xa0\x80' == 'x'", "mesh.yaml:10:16: invalid UTF-8 in a string"},      // surrogate
      {"'\xf4\x90\x80\x80' == 'x'", "mesh.yaml:10:16: invalid UTF-8 in a string"},  // > U+10FFFF
      {"'\xe2\x82' == 'x'", "mesh.yaml:10:16: invalid UTF-8 in a string"},          // truncated
      {"'a\x80' == 'x'", "mesh.yaml:10:17: invalid UTF-8 in a string"},             // stray
  });
  EXPECT_TRUE(Compile("'\xf0\x9f\x94\x92' == '\xf0\x9f\x94\x92'").ok());  // U+1F512
}

TEST(ExprTest, CopiesShareTheCompiledProgram) {
  Request request;
  absl::StatusOr<CompiledExpr> expr = Compile("token.sub == path.id");
  ASSERT_TRUE(expr.ok());
  CompiledExpr copy = *expr;
  EXPECT_TRUE(copy.Evaluate(request.facts()));
  EXPECT_EQ(copy.text(), "token.sub == path.id");
}

#if defined(BULWARK_COUNTS_ALLOCATIONS)
TEST(ExprTest, EvaluationDoesNotAllocateInTheCommonCase) {
  Request request;
  std::vector<std::string> texts = {
      R"(token.sub == path.id && "rentals:charge" in token.scope)",
      R"(headers.x-request-id == "abc" && query.page == "2" && peer.service == "contract")",
      R"(token.org.tier.level >= 3 && "a" in token.groups && size(token.scope) == 2)",
      R"("k" in ["a","b","c","d","e","f","g","h","i","j","k"] && has(token.email))",
      R"(token.email.endsWith("@example.com") || token.missing == "x")",
  };
  for (const std::string& text : texts) {
    absl::StatusOr<CompiledExpr> expr = Compile(text);
    ASSERT_TRUE(expr.ok()) << expr.status();
    long before = allocations;
    bool allowed = expr->Evaluate(request.facts());
    EXPECT_EQ(allocations - before, 0) << text;
    EXPECT_TRUE(allowed) << text;
  }
  // Decoding a query value is the exception, and it does allocate.
  absl::StatusOr<CompiledExpr> decoded = Compile(R"(query.q == "hello world")");
  ASSERT_TRUE(decoded.ok());
  long before = allocations;
  EXPECT_TRUE(decoded->Evaluate(request.facts()));
  EXPECT_GT(allocations - before, 0);
}
#endif

}  // namespace
}  // namespace bulwark::policy
