#include "authority/api/form_body.h"

#include <algorithm>
#include <cstdint>

#include "core/ascii.h"
#include "core/status.h"
#include "fmt/format.h"

namespace bulwark::authority::api {
namespace {

// Returns whether `s` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool IsUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= extra) {
      return false;
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (extra == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// Decodes one name or value: '+' is a space, %XX a byte; anything else after '%' is an error.
absl::StatusOr<std::string> Decode(std::string_view s, std::string_view what) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= s.size()) {
        return absl::InvalidArgumentError(fmt::format("{}: truncated %-escape", what));
      }
      int hi = core::HexDigitValue(s[i + 1]);
      int lo = core::HexDigitValue(s[i + 2]);
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(fmt::format("{}: malformed %-escape", what));
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(fmt::format("{}: control character", what));
    }
    out.push_back(c);
  }
  if (!IsUtf8(out)) {
    return absl::InvalidArgumentError(fmt::format("{}: not UTF-8", what));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseFormFields(
    std::string_view body, const std::vector<FieldSpec>& fields, const FormLimits& limits) {
  if (body.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(
        fmt::format("form body is over the limit of {} bytes", limits.max_bytes));
  }
  std::map<std::string, std::string> out;
  std::vector<std::string> seen;
  std::size_t pairs = 0;
  std::string_view rest = body;
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) {
      continue;  // "a=1&&b=2": the URL standard skips empty sequences
    }
    if (++pairs > limits.max_pairs) {
      return absl::InvalidArgumentError(
          fmt::format("form body has more than {} parameters", limits.max_pairs));
    }
    std::size_t eq = pair.find('=');
    BULWARK_ASSIGN_OR_RETURN(std::string name, Decode(pair.substr(0, eq), "parameter name"));
    if (name.size() > limits.max_name_bytes) {
      return absl::InvalidArgumentError(
          fmt::format("a parameter name is longer than {} bytes", limits.max_name_bytes));
    }
    auto spec = std::find_if(fields.begin(), fields.end(),
                             [&name](const FieldSpec& f) { return f.name == name; });
    if (spec == fields.end()) {
      continue;  // RFC 6749 §3.2: unrecognized parameters are ignored
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return absl::InvalidArgumentError(
          fmt::format("parameter '{}' is repeated (RFC 6749 §3.2)", name));
    }
    seen.push_back(name);
    std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    BULWARK_ASSIGN_OR_RETURN(std::string value, Decode(raw, fmt::format("parameter '{}'", name)));
    if (value.size() > spec->max_bytes) {
      return absl::InvalidArgumentError(
          fmt::format("parameter '{}' is longer than {} bytes", name, spec->max_bytes));
    }
    if (!value.empty()) {
      out.emplace(std::move(name), std::move(value));
    }
  }
  for (const FieldSpec& spec : fields) {
    if (spec.required && !out.contains(spec.name)) {
      return absl::InvalidArgumentError(fmt::format("missing parameter '{}'", spec.name));
    }
  }
  return out;
}

}  // namespace bulwark::authority::api
