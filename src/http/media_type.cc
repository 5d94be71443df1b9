// A strict reading of RFC 9110's media-type grammar: what a gateway cannot parse unambiguously
// it refuses, so that it never checks one type while the service reads another.
#include "http/media_type.h"

#include "core/ascii.h"
#include "fmt/format.h"

namespace bulwark::http {
namespace {

constexpr std::size_t kMaxValueBytes = 1024;

std::string Lowercase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return lower;
}

// Reads a token from the front of `text`; empty when there is none.
std::string_view TakeToken(std::string_view& text) {
  std::size_t n = 0;
  while (n < text.size() && core::IsTokenChar(text[n])) {
    ++n;
  }
  std::string_view token = text.substr(0, n);
  text.remove_prefix(n);
  return token;
}

// Reads a quoted-string (its opening '"' at the front of `text`) and returns it unquoted.
absl::StatusOr<std::string> TakeQuoted(std::string_view& text) {
  std::string value;
  for (std::size_t i = 1; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"') {
      text.remove_prefix(i + 1);
      return value;
    }
    if (c == '\\') {
      if (++i == text.size()) {
        break;
      }
      c = static_cast<unsigned char>(text[i]);
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return absl::InvalidArgumentError("a control character in a quoted parameter value");
    }
    value.push_back(static_cast<char>(c));
  }
  return absl::InvalidArgumentError("an unterminated quoted parameter value");
}

absl::Status ParseParameters(std::string_view rest, MediaType& media) {
  while (!rest.empty()) {
    rest = core::TrimOws(rest);
    if (rest.empty()) {
      break;
    }
    if (rest.front() != ';') {
      return absl::InvalidArgumentError("expected ';' between media type parameters");
    }
    rest = core::TrimOws(rest.substr(1));
    if (rest.empty() || rest.front() == ';') {
      continue;  // an empty parameter is allowed (RFC 9110 §5.6.6)
    }
    std::string name = Lowercase(TakeToken(rest));
    if (name.empty() || rest.empty() || rest.front() != '=') {
      return absl::InvalidArgumentError("a media type parameter must be name=value");
    }
    rest.remove_prefix(1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      absl::StatusOr<std::string> quoted = TakeQuoted(rest);
      if (!quoted.ok()) {
        return quoted.status();
      }
      value = *std::move(quoted);
    } else {
      value = std::string(TakeToken(rest));
      if (value.empty()) {
        return absl::InvalidArgumentError(
            fmt::format("the media type parameter '{}' has no value", name));
      }
    }
    if (value.size() > kMaxValueBytes) {
      return absl::InvalidArgumentError("a media type parameter value is too long");
    }
    if (media.Parameter(name).has_value()) {
      return absl::InvalidArgumentError(
          fmt::format("the media type parameter '{}' is given twice", name));
    }
    media.parameters.emplace_back(std::move(name), std::move(value));
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<std::string_view> MediaType::Parameter(std::string_view name) const {
  for (const auto& [key, value] : parameters) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

bool MediaType::IsJson() const {
  return type == "application" && (subtype == "json" || subtype.ends_with("+json"));
}

absl::StatusOr<MediaType> ParseMediaType(std::string_view text) {
  std::string_view rest = core::TrimOws(text);
  MediaType media;
  media.type = Lowercase(TakeToken(rest));
  if (media.type.empty() || rest.empty() || rest.front() != '/') {
    return absl::InvalidArgumentError("a media type must be type/subtype");
  }
  rest.remove_prefix(1);
  media.subtype = Lowercase(TakeToken(rest));
  if (media.subtype.empty()) {
    return absl::InvalidArgumentError("a media type must be type/subtype");
  }
  absl::Status parameters = ParseParameters(rest, media);
  if (!parameters.ok()) {
    return parameters;
  }
  return media;
}

}  // namespace bulwark::http
