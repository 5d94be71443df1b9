// GET/POST /enrol?token=...: the user sets a password, scans the TOTP secret's QR code, confirms
// with a current code, and is shown the recovery codes once; the link is then used up.
#include "authority/sso/login_pages.h"
#include "authority/sso/qr_svg.h"
#include "authority/sso/totp.h"
#include "core/status.h"
#include "crypto/password.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace bulwark::authority {
namespace {

std::string RecoveryCodesHtml(const std::vector<std::string>& codes) {
  std::string items;
  for (const std::string& code : codes) {
    items += fmt::format("<li><code>{}</code></li>\n", HtmlEscape(code));
  }
  return fmt::format(
      "<p>Your account is ready. Keep these recovery codes somewhere safe: each one signs you in "
      "once instead of the authenticator app. They are shown only now.</p>\n"
      "<ol id=\"recovery-codes\">\n{}</ol>\n<p><a href=\"/login\">Sign in</a></p>\n",
      items);
}

}  // namespace

http::Response LoginPages::EnrolForm(const Csrf& csrf, const OpenEnrolment& enrolment,
                                     std::string_view token, int status, std::string_view alert) {
  const std::string& user = enrolment.record.user;
  std::string uri = TotpUri("bulwark", user, enrolment.totp_secret);
  absl::StatusOr<std::string> qr = QrSvg(uri, "QR code of the authenticator app secret");
  std::string qr_html =
      qr.ok() ? *qr : "<p>(The QR code could not be drawn; enter the secret.)</p>";
  std::string content = fmt::format(
      "<p>Welcome, <strong>{0}</strong>. Choose a password and set up an authenticator app.</p>\n"
      "<h2>1. Authenticator app</h2>\n"
      "<p>Scan this QR code with your authenticator app, or enter the secret by hand.</p>\n"
      "{1}\n<p>Secret: <code id=\"totp-secret\">{2}</code></p>\n"
      "<p>Link: <code id=\"totp-uri\">{3}</code></p>\n"
      "<h2>2. Password and code</h2>\n"
      "<form method=\"post\" action=\"/enrol\">\n{4}{5}"
      "<input type=\"text\" name=\"username\" value=\"{0}\" autocomplete=\"username\" hidden>\n"
      "<label for=\"password\">New password (at least {6} characters)</label>\n"
      "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" "
      "minlength=\"{6}\" required>\n"
      "<label for=\"password2\">New password again</label>\n"
      "<input id=\"password2\" name=\"password2\" type=\"password\" autocomplete=\"new-password\" "
      "minlength=\"{6}\" required>\n"
      "<label for=\"code\">The 6-digit code your app shows now</label>\n"
      "<input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\" "
      "pattern=\"[0-9]{{6}}\" required>\n"
      "<button type=\"submit\">Finish</button>\n</form>\n",
      HtmlEscape(user), qr_html, Base32Encode(enrolment.totp_secret), HtmlEscape(uri),
      fmt::format("<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n", HtmlEscape(csrf.token)),
      fmt::format("<input type=\"hidden\" name=\"token\" value=\"{}\">\n", HtmlEscape(token)),
      kMinPasswordChars);
  return Render(status, csrf, Page{"Set up your account", std::string(alert), content});
}

http::Response LoginPages::EnrolGet(const http::Request& request) {
  Csrf csrf = CsrfOf(request);
  std::string token = request.QueryParam("token").value_or("");
  absl::StatusOr<OpenEnrolment> enrolment = users_.FindEnrolment(token);
  if (!enrolment.ok()) {
    int status = enrolment.status().code() == absl::StatusCode::kNotFound ? 404 : 500;
    return Render(status, csrf,
                  Page{"Set up your account", std::string(enrolment.status().message()), ""});
  }
  return EnrolForm(csrf, *enrolment, token, 200, "");
}

asio::awaitable<http::Response> LoginPages::EnrolPost(const http::Request& request) {
  Csrf csrf = CsrfOf(request);
  absl::StatusOr<Fields> form =
      CheckedForm(request, {{"token", true, 128},
                            {"username", false, 64},
                            {"password", true, crypto::kMaxPasswordBytes},
                            {"password2", true, crypto::kMaxPasswordBytes},
                            {"code", true, 16}});
  if (!form.ok()) {
    if (form.status().code() == absl::StatusCode::kPermissionDenied) {
      co_return HtmlResponse(403, Page{"Form expired",
                                       "This form expired or came from another site. Open your "
                                       "enrolment link again.",
                                       ""});
    }
    co_return HtmlResponse(400, Page{"Bad request", "The form was malformed.", ""});
  }
  const std::string& token = (*form)["token"];
  absl::StatusOr<OpenEnrolment> enrolment = users_.FindEnrolment(token);
  if (!enrolment.ok()) {
    co_return Render(404, csrf,
                     Page{"Set up your account", std::string(enrolment.status().message()), ""});
  }
  if ((*form)["password"] != (*form)["password2"]) {
    co_return EnrolForm(csrf, *enrolment, token, 400, "The two passwords differ.");
  }
  absl::StatusOr<std::int64_t> step =
      users_.CheckEnrolment(*enrolment, (*form)["password"], (*form)["code"]);
  if (!step.ok()) {
    co_return EnrolForm(csrf, *enrolment, token, 400, std::string(step.status().message()));
  }
  std::string password = (*form)["password"];
  absl::StatusOr<std::string> hash = co_await password_workers_.Hash(std::move(password));
  if (!hash.ok() && hash.status().code() == absl::StatusCode::kResourceExhausted) {
    co_return Busy(csrf);
  }
  absl::StatusOr<std::vector<std::string>> codes =
      hash.ok() ? users_.FinishEnrolment(*enrolment, *step, *hash)
                : absl::StatusOr<std::vector<std::string>>(hash.status());
  if (!codes.ok()) {
    spdlog::error("enrolment of {}: {}", enrolment->record.user, codes.status().message());
    co_return Render(409, csrf,
                     Page{"Set up your account",
                          "This enrolment link was used meanwhile. Ask your administrator "
                          "for a new one.",
                          ""});
  }
  spdlog::info("{} enrolled (password and TOTP)", enrolment->record.user);
  co_return Render(200, csrf, Page{"Account ready", "", RecoveryCodesHtml(*codes)});
}

}  // namespace bulwark::authority
