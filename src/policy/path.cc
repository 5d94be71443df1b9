#include "policy/path.h"

#include <cstddef>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "core/ascii.h"
#include "core/status.h"

namespace bulwark::policy {
namespace {

constexpr char kUpperHex[] = "0123456789ABCDEF";

bool IsUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 3986 pchar without ';' (refused) and without pct-encoded (handled apart).
bool IsRawAllowed(unsigned char c) {
  static constexpr std::string_view kOthers = "!$&'()*+,=:@";
  return IsUnreserved(c) || kOthers.find(static_cast<char>(c)) != std::string_view::npos;
}

// Returns why a decoded non-ASCII character is refused, or nullptr when it is accepted.
const char* RefusedCodePoint(char32_t cp) {
  if (cp <= 0x9F) {
    return "control character in path";  // C1 controls U+0080-U+009F
  }
  if (cp >= 0xFF01 && cp <= 0xFF5E) {
    // Fullwidth ASCII (U+FF0E '．', U+FF0F '／', U+FF3C '＼' ...): NFKC folds them into ASCII.
    return "fullwidth character in path";
  }
  static constexpr char32_t kLookAlikes[] = {
      0x2024, 0x2025, 0x2026, 0xFE52, 0x3002, 0xFF61,  // dots and dot leaders
      0x2044, 0x2215, 0x29F8,                          // slashes
      0x2216, 0x29F5, 0x29F9, 0xFE68,                  // backslashes
  };
  for (char32_t look_alike : kLookAlikes) {
    if (cp == look_alike) {
      return "look-alike of '.', '/' or '\\' in path";
    }
  }
  // Every code point whose NFKC form contains '.', '/' or '\\' (Unicode 14, listed with
  // Python's unicodedata): a service that normalizes could turn them into dot segments or new
  // separators, e.g. U+FE30 '︰' -> "..", U+2100 '℀' -> "a/c", U+2488 '⒈' -> "1.".
  static constexpr std::pair<char32_t, char32_t> kNfkcSeparators[] = {
      {0x2024, 0x2026}, {0x2100, 0x2101}, {0x2105, 0x2106}, {0x2488, 0x249B},   {0x33C2, 0x33C2},
      {0x33C7, 0x33C7}, {0x33D8, 0x33D8}, {0xFE19, 0xFE19}, {0xFE30, 0xFE30},   {0xFE52, 0xFE52},
      {0xFE68, 0xFE68}, {0xFF0E, 0xFF0F}, {0xFF3C, 0xFF3C}, {0x1F100, 0x1F100},
  };
  for (auto [first, last] : kNfkcSeparators) {
    if (cp >= first && cp <= last) {
      return "character that NFKC turns into '.', '/' or '\\' in path";
    }
  }
  if (cp == 0x00AD || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
      (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF) {
    return "invisible formatting character in path";
  }
  return nullptr;
}

// Decodes the bytes of one UTF-8 character, refusing overlong forms, surrogates and values
// above U+10FFFF (RFC 3629 §4), whether the bytes came raw or percent-encoded.
class Utf8Decoder {
 public:
  bool pending() const { return remaining_ > 0; }

  // Takes the next byte (>= 0x80) of the character.
  absl::Status Add(unsigned char byte) {
    if (remaining_ == 0) {
      return Start(byte);
    }
    if (byte < lower_ || byte > upper_) {
      return absl::InvalidArgumentError("invalid or overlong UTF-8 in path");
    }
    code_point_ = (code_point_ << 6) | (byte & 0x3F);
    lower_ = 0x80;
    upper_ = 0xBF;
    if (--remaining_ > 0) {
      return absl::OkStatus();
    }
    if (const char* reason = RefusedCodePoint(code_point_); reason != nullptr) {
      return absl::InvalidArgumentError(reason);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Start(unsigned char byte) {
    lower_ = 0x80;
    upper_ = 0xBF;
    if (byte >= 0xC2 && byte <= 0xDF) {
      code_point_ = byte & 0x1F;
      remaining_ = 1;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      code_point_ = byte & 0x0F;
      remaining_ = 2;
      lower_ = byte == 0xE0 ? 0xA0 : 0x80;  // below: overlong
      upper_ = byte == 0xED ? 0x9F : 0xBF;  // above: surrogates
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      code_point_ = byte & 0x07;
      remaining_ = 3;
      lower_ = byte == 0xF0 ? 0x90 : 0x80;  // below: overlong
      upper_ = byte == 0xF4 ? 0x8F : 0xBF;  // above: beyond U+10FFFF
    } else {
      // A stray continuation byte, an overlong lead (C0, C1) or a lead beyond U+10FFFF.
      return absl::InvalidArgumentError("invalid or overlong UTF-8 in path");
    }
    return absl::OkStatus();
  }

  char32_t code_point_ = 0;
  int remaining_ = 0;
  unsigned char lower_ = 0x80;
  unsigned char upper_ = 0xBF;
};

// Builds the normalized path segment by segment, resolving dot segments as it goes.
class Normalizer {
 public:
  explicit Normalizer(std::size_t size) { out_.reserve(size + 1); }

  // Appends one raw segment (the text between two '/'); `last` when no '/' follows it.
  absl::Status AddSegment(std::string_view raw, bool last) {
    const std::size_t mark = out_.size();
    out_.push_back('/');
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '%') {
        BULWARK_RETURN_IF_ERROR(AddByte(static_cast<unsigned char>(raw[i]), false));
        continue;
      }
      const bool complete = i + 2 < raw.size();
      const int high = complete ? core::HexDigitValue(raw[i + 1]) : -1;
      const int low = complete ? core::HexDigitValue(raw[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return absl::InvalidArgumentError("malformed percent-escape in path");
      }
      BULWARK_RETURN_IF_ERROR(AddByte(static_cast<unsigned char>(high * 16 + low), true));
      i += 2;
    }
    if (utf8_.pending()) {
      return absl::InvalidArgumentError("truncated UTF-8 in path");
    }
    return Resolve(mark, last);
  }

  // Returns the path built so far.
  std::string Finish() && {
    if (out_.empty()) {
      return "/";
    }
    if (trailing_slash_) {
      out_.push_back('/');
    }
    return std::move(out_);
  }

 private:
  // Applies the segment that starts at out_[mark] (its '/') to the output.
  absl::Status Resolve(std::size_t mark, bool last) {
    std::string_view segment = std::string_view(out_).substr(mark + 1);
    if (segment.empty() || segment == ".") {
      out_.resize(mark);
      trailing_slash_ = last;
      return absl::OkStatus();
    }
    if (segment == "..") {
      if (starts_.empty()) {
        return absl::InvalidArgumentError("'..' above the root of the path");
      }
      out_.resize(starts_.back());
      starts_.pop_back();
      trailing_slash_ = last;
      return absl::OkStatus();
    }
    starts_.push_back(mark);
    trailing_slash_ = false;
    return absl::OkStatus();
  }

  absl::Status AddByte(unsigned char c, bool escaped) {
    if (c >= 0x80) {
      AppendEscaped(c);
      return utf8_.Add(c);
    }
    if (utf8_.pending()) {
      return absl::InvalidArgumentError("truncated UTF-8 in path");
    }
    BULWARK_RETURN_IF_ERROR(CheckAscii(c, escaped));
    if (escaped ? IsUnreserved(c) : IsRawAllowed(c)) {
      out_.push_back(static_cast<char>(c));
    } else {
      AppendEscaped(c);
    }
    return absl::OkStatus();
  }

  static absl::Status CheckAscii(unsigned char c, bool escaped) {
    if (c == 0) {
      return absl::InvalidArgumentError("NUL in path");
    }
    if (c < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError("control character in path");
    }
    if (c == '/') {
      return absl::InvalidArgumentError("encoded '/' (%2F) in path");
    }
    if (c == '\\') {
      return absl::InvalidArgumentError(escaped ? "encoded '\\' (%5C) in path" : "'\\' in path");
    }
    if (escaped) {
      return absl::OkStatus();
    }
    if (c == ';') {
      return absl::InvalidArgumentError("';' (path parameters) in path");
    }
    if (c == ' ' || c == '?' || c == '#') {
      return absl::InvalidArgumentError("space, '?' or '#' in path");
    }
    return absl::OkStatus();
  }

  void AppendEscaped(unsigned char c) {
    out_.push_back('%');
    out_.push_back(kUpperHex[c >> 4]);
    out_.push_back(kUpperHex[c & 0xF]);
  }

  std::string out_;
  // Where each kept segment starts in out_ (at its '/'), to undo it on "..".
  absl::InlinedVector<std::size_t, 16> starts_;
  Utf8Decoder utf8_;
  bool trailing_slash_ = false;
};

}  // namespace

absl::StatusOr<std::string> NormalizePath(std::string_view raw_path) {
  if (raw_path.empty() || raw_path.front() != '/') {
    return absl::InvalidArgumentError("path must start with '/'");
  }
  Normalizer normalizer(raw_path.size());
  std::string_view rest = raw_path.substr(1);
  while (true) {
    const std::size_t slash = rest.find('/');
    const bool last = slash == std::string_view::npos;
    BULWARK_RETURN_IF_ERROR(normalizer.AddSegment(rest.substr(0, slash), last));
    if (last) {
      return std::move(normalizer).Finish();
    }
    rest.remove_prefix(slash + 1);
  }
}

}  // namespace bulwark::policy
