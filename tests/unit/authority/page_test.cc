#include "authority/sso/page.h"

#include <gtest/gtest.h>

#include "authority/sso/qr_svg.h"

namespace bulwark::authority {
namespace {

TEST(PageTest, ReturnToStaysOnTheAuthority) {
  EXPECT_EQ(SafeReturnTo("/oauth2/authorize?client_id=a&state=x%2Fy"),
            "/oauth2/authorize?client_id=a&state=x%2Fy");
  EXPECT_EQ(SafeReturnTo("/"), "/");
  EXPECT_EQ(SafeReturnTo("/%2F%2Fevil.example"), "/%2F%2Fevil.example")
      << "still encoded: a path on this host";
  for (const char* attack :
       {"", "//evil.example", "/\\evil.example", "https://evil.example", "http:evil.example",
        "evil.example", "javascript:alert(1)", "\\\\evil.example", "/\t/evil.example",
        "/\n/evil.example", "/ /evil.example", "/x\\..\\evil", "%2F%2Fevil.example", "/\x7f",
        "/caf\xc3\xa9"}) {
    EXPECT_EQ(SafeReturnTo(attack), kDefaultReturnTo) << attack;
  }
  EXPECT_EQ(SafeReturnTo("/" + std::string(kMaxReturnToBytes, 'a')), kDefaultReturnTo);
}

TEST(PageTest, TextIsEscapedAndTheHeadersAreStrict) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  http::Response r = HtmlResponse(401, Page{"<Sign in>", "Bad <b>", "<p>ok</p>"});
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(r.body.find("<title>&lt;Sign in&gt; - bulwark</title>"), std::string::npos);
  EXPECT_NE(r.body.find("<p role=\"alert\">Bad &lt;b&gt;</p>"), std::string::npos);
  EXPECT_NE(r.body.find("<p>ok</p>"), std::string::npos);
  EXPECT_EQ(r.body.find("<script"), std::string::npos);
  std::string csp(r.headers.Get("Content-Security-Policy").value_or(""));
  EXPECT_TRUE(csp.starts_with("default-src 'none'; style-src 'sha256-")) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_NE(csp.find("form-action 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(r.headers.Get("Cache-Control"), "no-store");
  EXPECT_EQ(r.headers.Get("X-Frame-Options"), "DENY");
  EXPECT_EQ(HtmlResponse(200, Page{"t", "", ""}).body.find("role=\"alert\""), std::string::npos);
}

TEST(PageTest, QrCodesAreSvgWithALabel) {
  absl::StatusOr<std::string> svg = QrSvg("otpauth://totp/bulwark:alice?secret=GEZDGNBV", "QR");
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_TRUE(svg->starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "));
  EXPECT_NE(svg->find("role=\"img\" aria-label=\"QR\""), std::string::npos);
  EXPECT_NE(svg->find("<path fill=\"#000\" d=\"M"), std::string::npos);
  EXPECT_FALSE(QrSvg(std::string(8000, 'x'), "QR").ok()) << "too long for any QR version";
}

}  // namespace
}  // namespace bulwark::authority
