// The lexer of `when:` expressions: text to tokens, with string escapes decoded and integer
// literals read. Rejects what no expression may contain (raw control characters, invalid UTF-8
// in strings, unterminated strings, unknown characters). Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "policy/internal/expr_source.h"

namespace bulwark::policy::internal {

enum class TokenKind {
  kEnd,
  kIdent,
  kInt,     // magnitude in Token::magnitude (a leading '-' is a separate token)
  kString,  // decoded value in Token::value
  kTrue,
  kFalse,
  kIn,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kNot,
  kMinus,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kEqual,
  kNotEqual,
  kAnd,
  kOr,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::size_t offset = 0;  // of the first character in the text
  std::size_t length = 0;
  std::string_view spelling;  // the token's text as written
  std::string value;          // kString: the decoded literal
  std::uint64_t magnitude = 0;
};

// The largest magnitude an integer literal may have: 2^63, so that -9223372036854775808 can be
// written; the parser refuses it without a '-'.
inline constexpr std::uint64_t kMaxIntMagnitude = std::uint64_t{1} << 63;

// Splits `source.text` into tokens, ending with one kEnd token at the end of the text. Errors
// cite the offending character's file position.
absl::StatusOr<std::vector<Token>> Tokenize(const ExprSource& source);

// Returns a spelling of `kind` for messages ("'&&'", "a string", "the end").
std::string_view Describe(TokenKind kind);

}  // namespace bulwark::policy::internal
