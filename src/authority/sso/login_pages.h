// The authority's login pages (docs/sso.md#login-pages-and-mfa): GET/POST /login (name and
// password), /login/mfa (TOTP or a recovery code), POST /logout and GET/POST /enrol. Server-
// rendered HTML (page.h); every POST carries a CSRF token bound to a pre-login cookie; the state
// between password and second factor is held here, server-side, for a few minutes; failures are
// throttled per account and per source address; argon2id runs on PasswordWorkers, never on the
// request thread. Thread-safe: the pending sign-ins and the throttles are behind mutexes.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "asio/awaitable.hpp"
#include "authority/api/form_body.h"
#include "authority/sso/login_throttle.h"
#include "authority/sso/page.h"
#include "authority/sso/password_workers.h"
#include "authority/sso/users.h"
#include "http/message.h"
#include "http/server.h"

namespace bulwark::authority {

inline constexpr std::string_view kMfaPath = "/login/mfa";
inline constexpr std::string_view kLogoutPath = "/logout";
// Pre-login cookie the CSRF tokens are bound to (SameSite=Strict: never sent cross-site).
inline constexpr std::string_view kCsrfCookie = "__Host-bulwark-csrf";
// Names the server-side state of a sign-in whose password was right, until its second factor.
inline constexpr std::string_view kMfaCookie = "__Host-bulwark-mfa";

struct LoginOptions {
  core::Seconds session_lifetime{8 * 3600};
  core::Seconds mfa_window{300};  // from a right password to the second factor
  std::size_t max_pending = 10000;
  ThrottleOptions account = AccountThrottleDefaults();
  ThrottleOptions address = AddressThrottleDefaults();
  PasswordWorkerOptions password_workers;
};

class LoginPages {
 public:
  LoginPages(UserDirectory& users, LoginOptions options);

  // Answers /login, /login/mfa, /logout and /enrol; nothing for any other path. A password is
  // verified or hashed on the password workers while the coroutine waits; when they are full
  // the answer is 503 with Retry-After.
  asio::awaitable<std::optional<http::Response>> Handle(const http::Request& request,
                                                        const http::ConnectionInfo& conn);

  UserDirectory& users() { return users_; }

 private:
  // The CSRF state of one request: the pre-login cookie (made now when absent) and its token.
  struct Csrf {
    std::string cookie;
    std::string token;
    bool is_new = false;
  };
  struct Pending {
    std::string user;
    std::string return_to;
    core::TimePoint expires_at;
  };
  using Fields = std::map<std::string, std::string>;

  http::Response LoginGet(const http::Request& request);
  asio::awaitable<http::Response> LoginPost(const http::Request& request,
                                            const std::string& address);
  http::Response MfaGet(const http::Request& request);
  http::Response MfaPost(const http::Request& request, const std::string& address);
  http::Response Logout(const http::Request& request);
  http::Response EnrolGet(const http::Request& request);
  asio::awaitable<http::Response> EnrolPost(const http::Request& request);
  http::Response EnrolForm(const Csrf& csrf, const OpenEnrolment& enrolment, std::string_view token,
                           int status, std::string_view alert);

  Csrf CsrfOf(const http::Request& request) const;
  // Parses a POSTed form with `specs` (plus the csrf field) and checks its CSRF token and Origin;
  // PermissionDenied when they fail, InvalidArgument for a malformed form.
  absl::StatusOr<Fields> CheckedForm(const http::Request& request,
                                     std::vector<api::FieldSpec> specs) const;
  // Returns `page` as a response, setting the CSRF cookie when it is new.
  http::Response Render(int status, const Csrf& csrf, Page page) const;
  // Returns a 429 page when `user` or `address` may not try now.
  std::optional<http::Response> Throttled(const Csrf& csrf, const std::string& user,
                                          const std::string& address, core::TimePoint now);
  // Returns the 503 page (Retry-After: 1) for a password check refused by full workers.
  http::Response Busy(const Csrf& csrf) const;
  void RecordFailure(const std::string& user, const std::string& address, core::TimePoint now);
  std::optional<Pending> FindPending(const http::Request& request);
  std::string AddPending(Pending pending);
  void ErasePending(const http::Request& request);
  // Checks a TOTP or recovery `code` of `user`; true when it is accepted (and now used).
  absl::StatusOr<bool> CheckSecondFactor(const std::string& user, std::string_view code,
                                         core::TimePoint now);

  UserDirectory& users_;
  const LoginOptions options_;
  const crypto::Bytes csrf_key_;  // per process: a restart makes open forms stale, nothing more
  const std::string origin_;      // the issuer's scheme://host[:port]
  LoginThrottle account_throttle_;
  LoginThrottle address_throttle_;
  PasswordWorkers password_workers_;
  std::mutex mutex_;                                   // guards pending_
  absl::flat_hash_map<std::string, Pending> pending_;  // by hex SHA-256 of the MFA cookie
};

}  // namespace bulwark::authority
