#include "authority/sso/login_pages.h"

#include <algorithm>
#include <cctype>

#include "authority/sso/login_session.h"
#include "authority/sso/totp.h"
#include "core/status.h"
#include "crypto/digest.h"
#include "crypto/password.h"
#include "crypto/random.h"
#include "fmt/chrono.h"
#include "fmt/format.h"
#include "http/cookie.h"
#include "http/url.h"
#include "spdlog/spdlog.h"

namespace bulwark::authority {
namespace {

// One message for an unknown user, a wrong password, a disabled or not yet enrolled user.
constexpr std::string_view kBadCredentials = "The user name or password is incorrect.";
constexpr std::string_view kBadCode = "The code is incorrect or was used already.";

std::string OriginOf(const std::string& issuer) {
  absl::StatusOr<http::Url> url = http::ParseUrl(issuer);
  if (!url.ok()) {
    return "";
  }
  std::string host = url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host;
  bool default_port = url->port == (url->scheme == "https" ? 443 : 80);
  return default_port ? fmt::format("{}://{}", url->scheme, host)
                      : fmt::format("{}://{}:{}", url->scheme, host, url->port);
}

std::string Hidden(std::string_view name, std::string_view value) {
  return fmt::format("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", name, HtmlEscape(value));
}

std::string LoginFormHtml(std::string_view csrf, std::string_view return_to) {
  return fmt::format(
      "<form method=\"post\" action=\"/login\">\n{}{}"
      "<label for=\"username\">User name</label>\n"
      "<input id=\"username\" name=\"username\" autocomplete=\"username\" autocapitalize=\"none\" "
      "spellcheck=\"false\" required autofocus>\n"
      "<label for=\"password\">Password</label>\n"
      "<input id=\"password\" name=\"password\" type=\"password\" "
      "autocomplete=\"current-password\" required>\n"
      "<button type=\"submit\">Continue</button>\n</form>\n",
      Hidden("csrf", csrf), Hidden("return_to", return_to));
}

std::string MfaFormHtml(std::string_view csrf) {
  return fmt::format(
      "<form method=\"post\" action=\"/login/mfa\">\n{}"
      "<label for=\"code\">Code from your authenticator app, or a recovery code</label>\n"
      "<input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\" "
      "autocapitalize=\"none\" spellcheck=\"false\" required autofocus>\n"
      "<button type=\"submit\">Sign in</button>\n</form>\n",
      Hidden("csrf", csrf));
}

// `return_to` (already safe) gets a link when it leads somewhere else than this page.
std::string SignedInHtml(std::string_view user, std::string_view csrf, std::string_view return_to) {
  std::string next =
      return_to == kDefaultReturnTo
          ? ""
          : fmt::format("<p><a href=\"{}\">Continue</a></p>\n", HtmlEscape(return_to));
  return fmt::format(
      "<p>Signed in as <strong id=\"user\">{}</strong>.</p>\n{}"
      "<form method=\"post\" action=\"/logout\">\n{}"
      "<button type=\"submit\">Sign out</button>\n</form>\n",
      HtmlEscape(user), next, Hidden("csrf", csrf));
}

http::Response WithCookie(http::Response response, std::string value) {
  response.headers.Add("Set-Cookie", std::move(value));
  return response;
}

std::string ShortCookie(std::string_view name, std::string_view value, core::Seconds max_age,
                        std::string_view same_site) {
  return fmt::format("{}={}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite={}", name, value,
                     value.empty() ? 0 : max_age.count(), same_site);
}

}  // namespace

LoginPages::LoginPages(UserDirectory& users, LoginOptions options)
    : users_(users),
      options_(std::move(options)),
      csrf_key_(crypto::RandomBytes(32)),
      origin_(OriginOf(users.issuer())),
      account_throttle_(options_.account),
      address_throttle_(options_.address),
      password_workers_(options_.password_workers) {
  // Made now, at start: made lazily, the first unknown user's sign-in would hash it on a
  // request thread (and take longer than a known user's, telling them apart).
  (void)crypto::DummyPasswordHash();
}

asio::awaitable<std::optional<http::Response>> LoginPages::Handle(
    const http::Request& request, const http::ConnectionInfo& conn) {
  std::string_view path = request.Path();
  bool post = request.method == "POST";
  if (!post && request.method != "GET") {
    if (path == kLoginPath || path == kMfaPath || path == kLogoutPath || path == kEnrolPath) {
      http::Response response = HtmlResponse(405, Page{"Method not allowed", "", ""});
      response.headers.Add("Allow", path == kLogoutPath ? "POST" : "GET, POST");
      co_return response;
    }
    co_return std::nullopt;
  }
  std::string address = conn.remote.address().to_string();
  if (path == kLoginPath) {
    if (post) {
      co_return co_await LoginPost(request, address);
    }
    co_return LoginGet(request);
  }
  if (path == kMfaPath) {
    co_return post ? MfaPost(request, address) : MfaGet(request);
  }
  if (path == kLogoutPath) {
    co_return post ? Logout(request) : SeeOther(kLoginPath);
  }
  if (path == kEnrolPath) {
    if (post) {
      co_return co_await EnrolPost(request);
    }
    co_return EnrolGet(request);
  }
  co_return std::nullopt;
}

LoginPages::Csrf LoginPages::CsrfOf(const http::Request& request) const {
  Csrf csrf;
  std::optional<std::string> cookie = http::FindCookie(request.headers, kCsrfCookie);
  if (cookie && cookie->size() == 43) {
    csrf.cookie = *cookie;
  } else {
    csrf.cookie = crypto::Base64UrlEncode(crypto::RandomBytes(32));
    csrf.is_new = true;
  }
  csrf.token = crypto::Base64UrlEncode(crypto::HmacSha256(csrf_key_, "csrf\n" + csrf.cookie));
  return csrf;
}

absl::StatusOr<LoginPages::Fields> LoginPages::CheckedForm(
    const http::Request& request, std::vector<api::FieldSpec> specs) const {
  specs.push_back({"csrf", false, 64});
  std::optional<std::string_view> origin = request.headers.Get("Origin");
  if (origin && *origin != origin_) {
    return absl::PermissionDeniedError(
        fmt::format("Origin {} is not this authority's ({})", *origin, origin_));
  }
  BULWARK_ASSIGN_OR_RETURN(Fields fields, api::ParseFormFields(request.body, specs));
  std::optional<std::string> cookie = http::FindCookie(request.headers, kCsrfCookie);
  if (!cookie || !fields.contains("csrf")) {
    return absl::PermissionDeniedError("no CSRF cookie or token");
  }
  crypto::Bytes expected = crypto::HmacSha256(csrf_key_, "csrf\n" + *cookie);
  absl::StatusOr<crypto::Bytes> given = crypto::Base64UrlDecode(fields["csrf"]);
  if (!given.ok() || !crypto::ConstantTimeEquals(expected, *given)) {
    return absl::PermissionDeniedError("the CSRF token does not match its cookie");
  }
  return fields;
}

http::Response LoginPages::Render(int status, const Csrf& csrf, Page page) const {
  http::Response response = HtmlResponse(status, page);
  if (csrf.is_new) {
    // SameSite=Strict: a cross-site form post never carries it, on top of the token check.
    response = WithCookie(std::move(response), ShortCookie(kCsrfCookie, csrf.cookie,
                                                           options_.session_lifetime, "Strict"));
  }
  return response;
}

namespace {

// Returns the page for a form that failed CheckedForm.
http::Response FormError(const absl::Status& status) {
  spdlog::warn("login form refused: {}", status.message());
  if (status.code() == absl::StatusCode::kPermissionDenied) {
    return HtmlResponse(403, Page{"Form expired",
                                  "This form expired or came from another site. Go back to the "
                                  "sign-in page and try again.",
                                  "<p><a href=\"/login\">Sign in</a></p>\n"});
  }
  return HtmlResponse(400, Page{"Bad request", "The form was malformed.", ""});
}

}  // namespace

http::Response LoginPages::LoginGet(const http::Request& request) {
  Csrf csrf = CsrfOf(request);
  absl::StatusOr<LoginSessionRecord> session =
      FindActiveLoginSession(users_.store(), request.headers, users_.clock().Now());
  std::string return_to = SafeReturnTo(request.QueryParam("return_to").value_or(""));
  // prompt=login (the authorization endpoint asking for a fresh sign-in): the form, even though
  // a session is open; signing in makes a new session with a new auth_time.
  if (session.ok() && request.QueryParam("prompt") == "login") {
    return Render(200, csrf, Page{"Sign in again", "", LoginFormHtml(csrf.token, return_to)});
  }
  if (session.ok()) {
    return Render(200, csrf,
                  Page{"Signed in", "", SignedInHtml(session->user, csrf.token, return_to)});
  }
  return Render(200, csrf, Page{"Sign in", "", LoginFormHtml(csrf.token, return_to)});
}

std::optional<http::Response> LoginPages::Throttled(const Csrf& csrf, const std::string& user,
                                                    const std::string& address,
                                                    core::TimePoint now) {
  std::optional<core::TimePoint> until = account_throttle_.BlockedUntil(user, now);
  std::optional<core::TimePoint> by_address = address_throttle_.BlockedUntil(address, now);
  if (by_address && (!until || *by_address > *until)) {
    until = by_address;
  }
  if (!until) {
    return std::nullopt;
  }
  long long wait = std::max<long long>(1, std::chrono::ceil<core::Seconds>(*until - now).count());
  std::string message = fmt::format(
      "Too many failed sign-ins for this account or from your address. Try again in {} seconds "
      "(after {:%H:%M:%S} UTC).",
      wait, fmt::gmtime(std::chrono::system_clock::to_time_t(*until)));
  http::Response response = Render(429, csrf, Page{"Sign in", message, ""});
  response.headers.Add("Retry-After", std::to_string(wait));
  return response;
}

void LoginPages::RecordFailure(const std::string& user, const std::string& address,
                               core::TimePoint now) {
  account_throttle_.RecordFailure(user, now);
  address_throttle_.RecordFailure(address, now);
}

asio::awaitable<http::Response> LoginPages::LoginPost(const http::Request& request,
                                                      const std::string& address) {
  Csrf csrf = CsrfOf(request);
  absl::StatusOr<Fields> form = CheckedForm(request, {{"username", true, 256},
                                                      {"password", true, crypto::kMaxPasswordBytes},
                                                      {"return_to", false, kMaxReturnToBytes}});
  if (!form.ok()) {
    co_return FormError(form.status());
  }
  std::string name = (*form)["username"];
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string return_to = SafeReturnTo((*form)["return_to"]);
  core::TimePoint now = users_.clock().Now();
  if (std::optional<http::Response> throttled = Throttled(csrf, name, address, now)) {
    co_return *std::move(throttled);
  }
  absl::StatusOr<UserRecord> user = users_.store().FindUser(name);
  bool usable = user.ok() && !user->disabled && !user->deleted_at && !user->password_hash.empty();
  // An unknown or unusable user is verified against a dummy hash: the same work either way.
  // (Named locals: no temporary may live across the co_await, which GCC 12 mishandles.)
  std::string hash = usable ? user->password_hash : crypto::DummyPasswordHash();
  std::string password = (*form)["password"];
  absl::StatusOr<bool> match =
      co_await password_workers_.Verify(std::move(hash), std::move(password));
  if (!match.ok()) {
    co_return Busy(csrf);
  }
  if (!usable || !*match) {
    RecordFailure(name, address, now);
    spdlog::info("sign-in failed for {:?} from {}", name, address);
    co_return Render(
        401, csrf,
        Page{"Sign in", std::string(kBadCredentials), LoginFormHtml(csrf.token, return_to)});
  }
  std::string id = AddPending(Pending{name, return_to, now + options_.mfa_window});
  http::Response response = SeeOther(kMfaPath);
  co_return WithCookie(std::move(response),
                       ShortCookie(kMfaCookie, id, options_.mfa_window, "Strict"));
}

http::Response LoginPages::Busy(const Csrf& csrf) const {
  spdlog::warn("password workers full ({} queued or running): answering 503",
               password_workers_.pending());
  http::Response response =
      Render(503, csrf, Page{"Busy", "The sign-in service is busy. Try again in a moment.", ""});
  response.headers.Add("Retry-After", "1");
  return response;
}

std::string LoginPages::AddPending(Pending pending) {
  std::string id = crypto::Base64UrlEncode(crypto::RandomBytes(32));
  std::lock_guard lock(mutex_);
  if (pending_.size() >= options_.max_pending) {
    core::TimePoint now = pending.expires_at - options_.mfa_window;
    absl::erase_if(pending_, [&](const auto& kv) { return kv.second.expires_at <= now; });
  }
  if (pending_.size() >= options_.max_pending) {
    // Still full of live entries: drop the one closest to its end.
    auto oldest = std::min_element(
        pending_.begin(), pending_.end(),
        [](const auto& a, const auto& b) { return a.second.expires_at < b.second.expires_at; });
    pending_.erase(oldest);
  }
  pending_[crypto::HexEncode(crypto::Sha256(std::string_view(id)))] = std::move(pending);
  return id;
}

std::optional<LoginPages::Pending> LoginPages::FindPending(const http::Request& request) {
  std::optional<std::string> cookie = http::FindCookie(request.headers, kMfaCookie);
  if (!cookie) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  auto it = pending_.find(crypto::HexEncode(crypto::Sha256(std::string_view(*cookie))));
  if (it == pending_.end()) {
    return std::nullopt;
  }
  if (it->second.expires_at <= users_.clock().Now()) {
    pending_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void LoginPages::ErasePending(const http::Request& request) {
  std::optional<std::string> cookie = http::FindCookie(request.headers, kMfaCookie);
  if (cookie) {
    std::lock_guard lock(mutex_);
    pending_.erase(crypto::HexEncode(crypto::Sha256(std::string_view(*cookie))));
  }
}

http::Response LoginPages::MfaGet(const http::Request& request) {
  if (!FindPending(request)) {
    return SeeOther(kLoginPath);
  }
  Csrf csrf = CsrfOf(request);
  return Render(200, csrf, Page{"Second factor", "", MfaFormHtml(csrf.token)});
}

absl::StatusOr<bool> LoginPages::CheckSecondFactor(const std::string& user, std::string_view code,
                                                   core::TimePoint now) {
  BULWARK_ASSIGN_OR_RETURN(UserMfaRecord mfa, users_.store().FindUserMfa(user));
  if (code.size() == static_cast<std::size_t>(kTotpDigits)) {
    BULWARK_ASSIGN_OR_RETURN(crypto::Bytes secret, users_.OpenTotpSecret(user, mfa.totp_sealed));
    std::optional<std::int64_t> step = MatchTotp(secret, code, now, mfa.totp_last_step);
    // The compare-and-set closes the race of two requests with the same code.
    return step && users_.store().AcceptTotpStep(user, *step).value_or(false);
  }
  std::optional<crypto::Bytes> hash = RecoveryCodeHash(user, code);
  if (!hash) {
    return false;
  }
  return users_.store().UseRecoveryCode(user, *hash, now,
                                        {0, now, user, "user.recovery_code", user, "used"});
}

http::Response LoginPages::MfaPost(const http::Request& request, const std::string& address) {
  Csrf csrf = CsrfOf(request);
  absl::StatusOr<Fields> form = CheckedForm(request, {{"code", true, 64}});
  if (!form.ok()) {
    return FormError(form.status());
  }
  std::optional<Pending> pending = FindPending(request);
  if (!pending) {
    return SeeOther(kLoginPath);
  }
  core::TimePoint now = users_.clock().Now();
  if (std::optional<http::Response> throttled = Throttled(csrf, pending->user, address, now)) {
    return *std::move(throttled);
  }
  absl::StatusOr<bool> ok = CheckSecondFactor(pending->user, (*form)["code"], now);
  if (!ok.ok()) {
    spdlog::error("second factor of {}: {}", pending->user, ok.status().message());
    return HtmlResponse(500, Page{"Error", "Signing in failed; see the authority's log.", ""});
  }
  if (!*ok) {
    RecordFailure(pending->user, address, now);
    return Render(401, csrf, Page{"Second factor", std::string(kBadCode), MfaFormHtml(csrf.token)});
  }
  ErasePending(request);
  account_throttle_.Reset(pending->user);
  absl::StatusOr<NewLoginSession> session = CreateLoginSession(
      users_.store(), pending->user, {"pwd", "otp"}, now, options_.session_lifetime);
  if (!session.ok()) {
    spdlog::error("login session for {}: {}", pending->user, session.status().message());
    return HtmlResponse(500, Page{"Error", "Signing in failed; see the authority's log.", ""});
  }
  spdlog::info("{} signed in from {}", pending->user, address);
  http::Response response = SeeOther(SafeReturnTo(pending->return_to));
  response = WithCookie(std::move(response),
                        LoginCookieHeader(session->cookie_value, options_.session_lifetime));
  return WithCookie(std::move(response), ShortCookie(kMfaCookie, "", {}, "Strict"));
}

http::Response LoginPages::Logout(const http::Request& request) {
  absl::StatusOr<Fields> form = CheckedForm(request, {});
  if (!form.ok()) {
    return FormError(form.status());
  }
  std::optional<std::string> cookie = http::FindCookie(request.headers, kLoginCookie);
  if (cookie && !cookie->empty()) {
    core::TimePoint now = users_.clock().Now();
    crypto::Bytes hash = crypto::Sha256(std::string_view(*cookie));
    absl::StatusOr<LoginSessionRecord> session = users_.store().FindLoginSession(hash);
    std::string who = session.ok() ? session->user : "";
    absl::StatusOr<int> ended =
        users_.store().EndLoginSessions(hash, "", now, {0, now, who, "logout", who, ""});
    if (!ended.ok()) {
      spdlog::error("logout: {}", ended.status().message());
    }
  }
  return WithCookie(SeeOther(kLoginPath), LoginCookieHeader("", {}));
}

}  // namespace bulwark::authority
