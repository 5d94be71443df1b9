#include "authority/oauth/oidc_rules.h"

#include <algorithm>

#include "core/ascii.h"
#include "crypto/bytes.h"
#include "crypto/digest.h"
#include "crypto/jwk.h"
#include "fmt/format.h"
#include "http/message.h"
#include "http/url.h"

namespace bulwark::authority::oauth {
namespace {

using crypto::internal::QuoteForMessage;

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string PercentEncode(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

absl::Status BadRedirect(std::string_view uri, std::string_view why) {
  return absl::InvalidArgumentError(fmt::format("redirect URI {}: {}", QuoteForMessage(uri), why));
}

}  // namespace

absl::Status CheckRedirectUri(std::string_view uri) {
  if (uri.empty() || uri.size() > 2048) {
    return BadRedirect(uri, "must be 1 to 2048 bytes");
  }
  if (!std::all_of(uri.begin(), uri.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return BadRedirect(uri, "must be printable ASCII without spaces");
  }
  if (uri.find('#') != std::string_view::npos) {
    return BadRedirect(uri, "must not have a fragment (RFC 6749 §3.1.2)");
  }
  if (uri.find('*') != std::string_view::npos) {
    return BadRedirect(uri, "wildcards are not supported: register every URI exactly");
  }
  // The scheme is compared as written: an exact-match registry has one spelling of each URI.
  bool https = uri.starts_with("https://");
  if (!https && !uri.starts_with("http://")) {
    return BadRedirect(uri, "must be an absolute https:// URI (http:// only for loopback)");
  }
  absl::StatusOr<http::Url> url = http::ParseUrl(uri);
  if (!url.ok()) {
    return BadRedirect(uri, std::string(url.status().message()));
  }
  bool loopback = url->host == "127.0.0.1" || url->host == "::1" || url->host == "localhost";
  if (!https && !loopback) {
    return BadRedirect(uri, "http:// is allowed only for a loopback host (RFC 8252 §7.3)");
  }
  return absl::OkStatus();
}

absl::Status CheckClientId(std::string_view id) {
  bool plain = std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
  if (id.empty() || id.size() > 64 || !plain) {
    return absl::InvalidArgumentError(
        fmt::format("client id {} must be 1 to 64 of a-z 0-9 . _ -", QuoteForMessage(id)));
  }
  return absl::OkStatus();
}

absl::Status CheckCodeChallenge(std::string_view challenge) {
  absl::StatusOr<crypto::Bytes> digest = crypto::Base64UrlDecode(challenge);
  if (challenge.size() != 43 || !digest.ok() || digest->size() != 32) {
    return absl::InvalidArgumentError(
        "code_challenge must be the 43-character base64url SHA-256 of the code_verifier (S256)");
  }
  return absl::OkStatus();
}

bool VerifyPkce(std::string_view verifier, std::string_view challenge) {
  if (verifier.size() < 43 || verifier.size() > 128 ||
      !std::all_of(verifier.begin(), verifier.end(), IsUnreserved)) {
    return false;
  }
  std::string expected = crypto::Base64UrlEncode(crypto::Sha256(verifier));
  return crypto::ConstantTimeEquals(crypto::ToBytes(expected), crypto::ToBytes(challenge));
}

absl::StatusOr<std::pair<std::string, std::string>> ParseBasicCredentials(std::string_view value) {
  value = core::TrimOws(value);
  if (value.size() < 6 || !core::AsciiEqualsIgnoreCase(value.substr(0, 6), "basic ")) {
    return absl::InvalidArgumentError("the Authorization header must use the Basic scheme");
  }
  absl::StatusOr<crypto::Bytes> decoded = crypto::Base64Decode(core::TrimOws(value.substr(6)));
  if (!decoded.ok()) {
    return absl::InvalidArgumentError("the Basic credentials are not valid base64");
  }
  std::string text = crypto::ToString(*decoded);
  std::size_t colon = text.find(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError("the Basic credentials have no ':'");
  }
  return std::make_pair(http::DecodeQueryComponent(text.substr(0, colon)),
                        http::DecodeQueryComponent(text.substr(colon + 1)));
}

std::string AppendQuery(std::string_view uri,
                        const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out(uri);
  char separator = out.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [name, value] : params) {
    out += fmt::format("{}{}={}", separator, PercentEncode(name), PercentEncode(value));
    separator = '&';
  }
  return out;
}

absl::StatusOr<LoginDemand> ParseLoginDemand(std::string_view prompt, std::string_view max_age) {
  LoginDemand demand;
  std::vector<std::string_view> values;
  for (std::size_t start = 0; start < prompt.size();) {
    std::size_t end = std::min(prompt.find(' ', start), prompt.size());
    if (end > start) {
      values.push_back(prompt.substr(start, end - start));
    }
    start = end + 1;
  }
  for (std::string_view value : values) {
    if (value == "none") {
      demand.none = true;
    } else if (value == "login") {
      demand.login = true;
    } else {
      return absl::InvalidArgumentError(fmt::format(
          "prompt value '{}' is not supported (only none and login are)", value.substr(0, 32)));
    }
  }
  if (demand.none && values.size() > 1) {
    return absl::InvalidArgumentError("prompt=none cannot be combined with other values");
  }
  if (!max_age.empty()) {
    bool digits =
        std::all_of(max_age.begin(), max_age.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || max_age.size() > 12) {  // 12 digits: over 30 000 years, no overflow
      return absl::InvalidArgumentError("max_age must be a non-negative integer of seconds");
    }
    std::int64_t seconds = 0;
    for (char c : max_age) {
      seconds = seconds * 10 + (c - '0');
    }
    demand.max_age = core::Seconds(seconds);
    // OIDC Core: max_age=0 is a fresh sign-in whatever the session's age (prompt=login).
    demand.login = demand.login || seconds == 0;
  }
  return demand;
}

bool NeedsFreshLogin(const LoginDemand& demand, core::TimePoint auth_time, core::TimePoint now) {
  if (demand.login) {
    return true;
  }
  // Whole seconds, as auth_time is stored and carried in the ID token.
  return demand.max_age &&
         core::ToUnixSeconds(now) - core::ToUnixSeconds(auth_time) > demand.max_age->count();
}

}  // namespace bulwark::authority::oauth
