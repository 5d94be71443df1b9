// The session cookies' sealing: compact JSON inside AES-256-GCM (crypto/aead.h), the cookie's
// name and the version as associated data.
#include "proxy/session_cookie.h"

#include "core/ascii.h"
#include "core/status.h"
#include "core/strict_json.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace bulwark::proxy {
namespace {

using nlohmann::json;

constexpr std::string_view kVersionPrefix = "1.";

std::string AssociatedData(std::string_view name) { return fmt::format("{}\n1", name); }

absl::StatusOr<std::string> Seal(const crypto::Bytes& key, std::string_view name,
                                 const json& payload) {
  crypto::Bytes nonce = crypto::RandomBytes(crypto::kGcmNonceBytes);
  BULWARK_ASSIGN_OR_RETURN(crypto::Bytes sealed,
                           crypto::AesGcmSeal(key, nonce, payload.dump(), AssociatedData(name)));
  nonce.insert(nonce.end(), sealed.begin(), sealed.end());
  std::string value = fmt::format("{}{}", kVersionPrefix, crypto::Base64UrlEncode(nonce));
  if (value.size() > kMaxCookieValueBytes) {
    return absl::ResourceExhaustedError(
        fmt::format("the {} cookie would be {} bytes, over the limit of {} (the provider's tokens "
                    "are too large to keep in a cookie)",
                    name, value.size(), kMaxCookieValueBytes));
  }
  return value;
}

absl::StatusOr<json> Open(const crypto::Bytes& key, std::string_view name, std::string_view value) {
  if (value.size() > kMaxCookieValueBytes) {
    return absl::UnauthenticatedError(fmt::format("the {} cookie is oversized", name));
  }
  if (!value.starts_with(kVersionPrefix)) {
    return absl::UnauthenticatedError(fmt::format("the {} cookie is not of version 1", name));
  }
  absl::StatusOr<crypto::Bytes> raw = crypto::Base64UrlDecode(value.substr(kVersionPrefix.size()));
  if (!raw.ok() || raw->size() < crypto::kGcmNonceBytes + crypto::kGcmTagBytes) {
    return absl::UnauthenticatedError(fmt::format("the {} cookie is malformed", name));
  }
  crypto::Bytes nonce(raw->begin(), raw->begin() + crypto::kGcmNonceBytes);
  crypto::Bytes sealed(raw->begin() + crypto::kGcmNonceBytes, raw->end());
  absl::StatusOr<crypto::Bytes> plain =
      crypto::AesGcmOpen(key, nonce, sealed, AssociatedData(name));
  if (!plain.ok()) {
    return absl::UnauthenticatedError(
        fmt::format("the {} cookie does not open under this gateway's key", name));
  }
  absl::StatusOr<json> payload = core::ParseStrictJson(crypto::ToString(*plain));
  if (!payload.ok() || !payload->is_object()) {
    return absl::UnauthenticatedError(fmt::format("the {} cookie holds no JSON object", name));
  }
  return payload;
}

// Reads the fields of an opened payload; the first missing or mistyped one makes it refused.
class Fields {
 public:
  explicit Fields(const json& payload) : payload_(payload) {}

  std::string String(const char* field) {
    auto it = payload_.find(field);
    if (it == payload_.end() || !it->is_string()) {
      ok_ = false;
      return "";
    }
    return it->get<std::string>();
  }
  core::TimePoint Time(const char* field) {
    auto it = payload_.find(field);
    if (it == payload_.end() || !it->is_number_integer()) {
      ok_ = false;
      return {};
    }
    return core::FromUnixSeconds(it->get<long long>());
  }
  std::vector<std::string> Strings(const char* field) {
    std::vector<std::string> out;
    auto it = payload_.find(field);
    if (it == payload_.end() || !it->is_array()) {
      ok_ = false;
      return out;
    }
    for (const json& item : *it) {
      if (!item.is_string()) {
        ok_ = false;
        return {};
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  bool ok() const { return ok_; }

 private:
  const json& payload_;
  bool ok_ = true;
};

absl::Status CheckExpiry(std::string_view name, core::TimePoint expires_at, core::TimePoint now) {
  if (expires_at <= now) {
    return absl::UnauthenticatedError(fmt::format("the {} cookie has expired", name));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<crypto::Bytes> ParseCookieKey(std::string_view content) {
  if (content.size() == crypto::kAes256KeyBytes) {
    return crypto::ToBytes(content);
  }
  absl::StatusOr<crypto::Bytes> decoded = crypto::Base64UrlDecode(
      core::TrimOws(content.substr(0, content.find_last_not_of("\r\n") + 1)));
  if (!decoded.ok() || decoded->size() != crypto::kAes256KeyBytes) {
    return absl::InvalidArgumentError(
        "the cookie key must be 32 raw bytes or their base64url (43 characters)");
  }
  return decoded;
}

absl::StatusOr<std::string> SealSession(const crypto::Bytes& key, const SessionState& s) {
  json payload = {{"sub", s.sub},
                  {"sid", s.sid},
                  {"name", s.name},
                  {"email", s.email},
                  {"scope", s.scope},
                  {"at", s.access_token},
                  {"rt", s.refresh_token},
                  {"it", s.id_token},
                  {"ae", core::ToUnixSeconds(s.access_expires_at)},
                  {"c", core::ToUnixSeconds(s.created_at)},
                  {"r", core::ToUnixSeconds(s.refreshed_at)},
                  {"e", core::ToUnixSeconds(s.expires_at)}};
  return Seal(key, kSessionCookie, payload);
}

absl::StatusOr<SessionState> OpenSession(const crypto::Bytes& key, std::string_view value,
                                         core::TimePoint now) {
  BULWARK_ASSIGN_OR_RETURN(json payload, Open(key, kSessionCookie, value));
  Fields f(payload);
  SessionState s{f.String("sub"),    f.String("sid"), f.String("name"), f.String("email"),
                 f.Strings("scope"), f.String("at"),  f.String("rt"),   f.String("it"),
                 f.Time("ae"),       f.Time("c"),     f.Time("r"),      f.Time("e")};
  if (!f.ok() || s.sub.empty() || s.refresh_token.empty()) {
    return absl::UnauthenticatedError("the session cookie lacks a field");
  }
  BULWARK_RETURN_IF_ERROR(CheckExpiry(kSessionCookie, s.expires_at, now));
  return s;
}

absl::StatusOr<std::string> SealLogin(const crypto::Bytes& key, const LoginState& login) {
  json payload = {{"s", login.state},
                  {"n", login.nonce},
                  {"v", login.code_verifier},
                  {"rt", login.return_to},
                  {"e", core::ToUnixSeconds(login.expires_at)}};
  return Seal(key, kLoginStateCookie, payload);
}

absl::StatusOr<LoginState> OpenLogin(const crypto::Bytes& key, std::string_view value,
                                     core::TimePoint now) {
  BULWARK_ASSIGN_OR_RETURN(json payload, Open(key, kLoginStateCookie, value));
  Fields f(payload);
  LoginState login{f.String("s"), f.String("n"), f.String("v"), f.String("rt"), f.Time("e")};
  if (!f.ok() || login.state.empty() || login.nonce.empty() || login.code_verifier.empty()) {
    return absl::UnauthenticatedError("the login cookie lacks a field");
  }
  BULWARK_RETURN_IF_ERROR(CheckExpiry(kLoginStateCookie, login.expires_at, now));
  return login;
}

std::string SetCookieValue(std::string_view name, std::string_view value, core::Seconds max_age) {
  return fmt::format("{}={}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Lax", name, value,
                     value.empty() ? 0 : max_age.count());
}

}  // namespace bulwark::proxy
