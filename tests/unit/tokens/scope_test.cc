#include "tokens/scope.h"

#include <gtest/gtest.h>

namespace bulwark::tokens {
namespace {

using Scopes = std::vector<std::string>;

TEST(Scope, ParsesAndJoins) {
  auto scope = ParseScope("rentals:read rentals:charge openid");
  ASSERT_TRUE(scope.ok()) << scope.status();
  EXPECT_EQ(*scope, (Scopes{"rentals:read", "rentals:charge", "openid"}));
  EXPECT_EQ(JoinScope(*scope), "rentals:read rentals:charge openid");
}

TEST(Scope, RefusesMalformedScopeStrings) {
  for (const char* text : {"", " a", "a ", "a  b", "a\tb", "a\"b", "a\\b", "caf\xc3\xa9", "a a"}) {
    EXPECT_FALSE(ParseScope(text).ok()) << "'" << text << "'";
  }
  EXPECT_FALSE(ParseScope("a b c", 2).ok());
}

TEST(Scope, NarrowingKeepsASubsetAndRefusesWidening) {
  Scopes granted = {"read", "write", "charge"};
  auto narrowed = NarrowScope(granted, {"charge", "read"});
  ASSERT_TRUE(narrowed.ok());
  EXPECT_EQ(*narrowed, (Scopes{"charge", "read"}));
  auto widened = NarrowScope(granted, {"read", "admin"});
  EXPECT_TRUE(absl::IsPermissionDenied(widened.status()));
  EXPECT_NE(widened.status().message().find("'admin'"), std::string::npos);
  EXPECT_FALSE(NarrowScope({}, {"read"}).ok()) << "no scope granted: nothing to narrow to";
}

}  // namespace
}  // namespace bulwark::tokens
