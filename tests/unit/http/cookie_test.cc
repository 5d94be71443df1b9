#include "http/cookie.h"

#include <gtest/gtest.h>

namespace bulwark::http {
namespace {

Headers With(std::initializer_list<const char*> cookie_headers) {
  Headers headers;
  for (const char* value : cookie_headers) {
    headers.Add("Cookie", value);
  }
  return headers;
}

TEST(FindCookieTest, FindsANamedCookieAmongOthers) {
  EXPECT_EQ(FindCookie(With({"a=1; sid=xyz; b=2"}), "sid"), "xyz");
  EXPECT_EQ(FindCookie(With({"a=1", "sid=\"q\""}), "sid"), "q");
  EXPECT_EQ(FindCookie(With({"sid="}), "sid"), "");
}

TEST(FindCookieTest, AbsentOrCaseDifferentNamesAreNotFound) {
  EXPECT_FALSE(FindCookie(With({}), "sid").has_value());
  EXPECT_FALSE(FindCookie(With({"SID=1; sidx=2; xsid=3; sid"}), "sid").has_value());
}

TEST(FindCookieTest, ACookieSentTwiceIsNotTrusted) {
  // A sibling subdomain can plant a second cookie of the same name (cookie tossing).
  EXPECT_FALSE(FindCookie(With({"sid=mine; sid=planted"}), "sid").has_value());
  EXPECT_FALSE(FindCookie(With({"sid=mine", "sid=planted"}), "sid").has_value());
}

}  // namespace
}  // namespace bulwark::http
