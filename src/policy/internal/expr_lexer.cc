// Tokenizer of `when:` expressions (docs/policy.md, "when: expressions").
#include "policy/internal/expr_lexer.h"

#include "core/status.h"

namespace bulwark::policy::internal {
namespace {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsIdentPart(char c) { return IsIdentStart(c) || IsDigit(c); }

// Returns the length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 if there is none.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char min = 0x80;
  unsigned char max = 0xBF;  // bounds of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    min = lead == 0xE0 ? 0xA0 : 0x80;
    max = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    min = lead == 0xF0 ? 0x90 : 0x80;
    max = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + length > s.size() || byte(i + 1) < min || byte(i + 1) > max) {
    return 0;
  }
  for (std::size_t k = i + 2; k < i + length; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) {
      return 0;
    }
  }
  return length;
}

class Lexer {
 public:
  explicit Lexer(const ExprSource& source) : source_(source), text_(source.text) {}

  absl::StatusOr<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpace();
      Token token;
      token.offset = pos_;
      if (pos_ == text_.size()) {
        tokens.push_back(token);
        return tokens;
      }
      BULWARK_RETURN_IF_ERROR(Next(token));
      token.length = pos_ - token.offset;
      token.spelling = text_.substr(token.offset, token.length);
      tokens.push_back(std::move(token));
    }
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  char Peek(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  absl::Status Next(Token& token) {
    char c = text_[pos_];
    if (IsIdentStart(c)) {
      return Identifier(token);
    }
    if (IsDigit(c)) {
      return Integer(token);
    }
    if (c == '"' || c == '\'') {
      return String(token);
    }
    return Punctuation(token);
  }

  absl::Status Identifier(Token& token) {
    std::size_t start = pos_;
    while (pos_ < text_.size() && IsIdentPart(text_[pos_])) {
      ++pos_;
    }
    std::string_view word = text_.substr(start, pos_ - start);
    if (word == "true") {
      token.kind = TokenKind::kTrue;
    } else if (word == "false") {
      token.kind = TokenKind::kFalse;
    } else if (word == "in") {
      token.kind = TokenKind::kIn;
    } else if (word == "null") {
      return source_.Error(start, "null is not part of the language; use has() to test presence");
    } else {
      token.kind = TokenKind::kIdent;
    }
    return absl::OkStatus();
  }

  absl::Status Integer(Token& token) {
    std::size_t start = pos_;
    std::uint64_t magnitude = 0;
    bool too_large = false;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) {
      auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
      if (magnitude > (kMaxIntMagnitude - digit) / 10) {
        too_large = true;
      } else {
        magnitude = magnitude * 10 + digit;
      }
      ++pos_;
    }
    if (pos_ < text_.size() && (IsIdentPart(text_[pos_]) || text_[pos_] == '.')) {
      return source_.Error(start, "malformed number (only decimal integers are supported)");
    }
    if (too_large) {
      return source_.Error(start, "integer literal out of the 64-bit range");
    }
    token.kind = TokenKind::kInt;
    token.magnitude = magnitude;
    return absl::OkStatus();
  }

  absl::Status String(Token& token) {
    std::size_t start = pos_;
    char quote = text_[pos_++];
    while (true) {
      if (pos_ == text_.size()) {
        return source_.Error(start, "unterminated string");
      }
      char c = text_[pos_];
      auto byte = static_cast<unsigned char>(c);
      if (c == quote) {
        ++pos_;
        token.kind = TokenKind::kString;
        return absl::OkStatus();
      }
      if (c == '\\') {
        BULWARK_RETURN_IF_ERROR(Escape(token.value));
      } else if (byte < 0x20 || byte == 0x7F) {
        return source_.Error(pos_, c == '\n' ? "unterminated string (strings stay on one line)"
                                             : "control character in a string (write \\n or \\t)");
      } else if (byte >= 0x80) {
        std::size_t length = Utf8SequenceLength(text_, pos_);
        if (length == 0) {
          return source_.Error(pos_, "invalid UTF-8 in a string");
        }
        token.value.append(text_.substr(pos_, length));
        pos_ += length;
      } else {
        token.value.push_back(c);
        ++pos_;
      }
    }
  }

  absl::Status Escape(std::string& out) {
    char c = Peek(1);
    switch (c) {
      case '\\':
      case '"':
      case '\'':
        out.push_back(c);
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      default:
        return source_.Error(pos_,
                             "unknown escape in a string (the escapes are \\\\ \\\" \\' \\n \\t)");
    }
    pos_ += 2;
    return absl::OkStatus();
  }

  absl::Status Punctuation(Token& token) {
    struct Symbol {
      std::string_view spelling;
      TokenKind kind;
    };
    // Two-character symbols first, so that "<=" is not read as "<".
    static constexpr Symbol kSymbols[] = {
        {"<=", TokenKind::kLessEqual}, {">=", TokenKind::kGreaterEqual},
        {"==", TokenKind::kEqual},     {"!=", TokenKind::kNotEqual},
        {"&&", TokenKind::kAnd},       {"||", TokenKind::kOr},
        {"(", TokenKind::kLParen},     {")", TokenKind::kRParen},
        {"[", TokenKind::kLBracket},   {"]", TokenKind::kRBracket},
        {",", TokenKind::kComma},      {".", TokenKind::kDot},
        {"!", TokenKind::kNot},        {"-", TokenKind::kMinus},
        {"<", TokenKind::kLess},       {">", TokenKind::kGreater},
    };
    for (const Symbol& symbol : kSymbols) {
      if (text_.substr(pos_, symbol.spelling.size()) == symbol.spelling) {
        token.kind = symbol.kind;
        pos_ += symbol.spelling.size();
        return absl::OkStatus();
      }
    }
    char c = text_[pos_];
    if (c == '=') {
      return source_.Error(pos_, "'=' is not an operator (compare with '==')");
    }
    if (c == '&' || c == '|') {
      return source_.Error(pos_, fmt::format("'{0}' is not an operator (write '{0}{0}')", c));
    }
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7F) {
      return source_.Error(pos_, fmt::format("unexpected byte 0x{:02x}", byte));
    }
    return source_.Error(pos_, fmt::format("unexpected character '{}'", c));
  }

  const ExprSource& source_;
  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Tokenize(const ExprSource& source) {
  return Lexer(source).Run();
}

std::string_view Describe(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEnd:
      return "the end of the expression";
    case TokenKind::kIdent:
      return "a name";
    case TokenKind::kInt:
      return "an integer";
    case TokenKind::kString:
      return "a string";
    case TokenKind::kTrue:
      return "'true'";
    case TokenKind::kFalse:
      return "'false'";
    case TokenKind::kIn:
      return "'in'";
    case TokenKind::kLParen:
      return "'('";
    case TokenKind::kRParen:
      return "')'";
    case TokenKind::kLBracket:
      return "'['";
    case TokenKind::kRBracket:
      return "']'";
    case TokenKind::kComma:
      return "','";
    case TokenKind::kDot:
      return "'.'";
    case TokenKind::kNot:
      return "'!'";
    case TokenKind::kMinus:
      return "'-'";
    case TokenKind::kLess:
      return "'<'";
    case TokenKind::kLessEqual:
      return "'<='";
    case TokenKind::kGreater:
      return "'>'";
    case TokenKind::kGreaterEqual:
      return "'>='";
    case TokenKind::kEqual:
      return "'=='";
    case TokenKind::kNotEqual:
      return "'!='";
    case TokenKind::kAnd:
      return "'&&'";
    case TokenKind::kOr:
      return "'||'";
  }
  return "a token";
}

}  // namespace bulwark::policy::internal
