#include "authority/sso/login_session.h"

#include "core/status.h"
#include "crypto/bytes.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "fmt/format.h"
#include "http/cookie.h"

namespace bulwark::authority {

absl::StatusOr<NewLoginSession> CreateLoginSession(Store& store, const std::string& user,
                                                   std::vector<std::string> amr,
                                                   core::TimePoint now, core::Seconds lifetime) {
  NewLoginSession session;
  session.cookie_value = crypto::Base64UrlEncode(crypto::RandomBytes(32));
  session.record.hash = crypto::Sha256(std::string_view(session.cookie_value));
  session.record.user = user;
  session.record.amr = std::move(amr);
  session.record.auth_time = now;
  session.record.expires_at = now + lifetime;
  AuditEntry audit{0,       now,  user,
                   "login", user, fmt::format("amr={}", fmt::join(session.record.amr, ","))};
  BULWARK_RETURN_IF_ERROR(store.CreateLoginSession(session.record, audit));
  return session;
}

std::string LoginCookieHeader(std::string_view value, core::Seconds max_age) {
  return fmt::format("{}={}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Lax", kLoginCookie,
                     value, value.empty() ? 0 : max_age.count());
}

absl::StatusOr<LoginSessionRecord> FindActiveLoginSession(Store& store,
                                                          const http::Headers& request_headers,
                                                          core::TimePoint now) {
  std::optional<std::string> cookie = http::FindCookie(request_headers, kLoginCookie);
  if (!cookie || cookie->empty()) {
    return absl::NotFoundError("no login cookie");
  }
  absl::StatusOr<LoginSessionRecord> session =
      store.FindLoginSession(crypto::Sha256(std::string_view(*cookie)));
  if (!session.ok()) {
    return session.status();
  }
  if (session->ended_at) {
    return absl::NotFoundError("the login session has ended");
  }
  if (session->expires_at <= now) {
    return absl::NotFoundError("the login session has expired");
  }
  absl::StatusOr<UserRecord> user = store.FindUser(session->user);
  if (!user.ok()) {
    return user.status();
  }
  if (user->deleted_at || user->disabled) {
    return absl::NotFoundError(fmt::format("the user {} is disabled or deleted", user->name));
  }
  return session;
}

}  // namespace bulwark::authority
