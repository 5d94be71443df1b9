#include "policy/path.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::policy {
namespace {

struct NormalizeCase {
  std::string raw;
  std::string normalized;
};

TEST(NormalizePathTest, NormalizesToOneSpelling) {
  const NormalizeCase cases[] = {
      {"/", "/"},
      {"/a/b", "/a/b"},
      {"//a///b", "/a/b"},
      {"//", "/"},
      {"/a/./b", "/a/b"},
      {"/./a", "/a"},
      {"/a/b/../c", "/a/c"},
      {"/a/b/..", "/a/"},
      {"/a/.", "/a/"},
      {"/a/", "/a/"},
      {"/a//", "/a/"},
      {"/a/../", "/"},
      {"/a//../b", "/b"},  // slashes collapse before dot segments resolve
      // Dot segments spelled with escapes, in either case, resolve too.
      {"/a/%2e%2e/b", "/b"},
      {"/a/%2E%2e/b", "/b"},
      {"/a/.%2e/b", "/b"},
      {"/a/%2e/b", "/a/b"},
      {"/a/%2E", "/a/"},
      // Unreserved characters are decoded; other escapes are uppercased and kept.
      {"/%61%62%63", "/abc"},
      {"/%7e%2D%5f%2E%30", "/~-_.0"},
      {"/a%7bb", "/a%7Bb"},
      {"/a%3a%40%3B%3f%23", "/a%3A%40%3B%3F%23"},
      {"/a%25b", "/a%25b"},
      {"/a%252e%252e/x", "/a%252e%252e/x"},  // one decoding only
      {"/a%20b", "/a%20b"},
      // Raw characters outside pchar and non-ASCII bytes are encoded.
      {"/a{b}|^`\"<>[]", "/a%7Bb%7D%7C%5E%60%22%3C%3E%5B%5D"},
      {"/caf\xc3\xa9", "/caf%C3%A9"},
      {"/caf%c3%a9", "/caf%C3%A9"},
      {"/caf\xc3%a9", "/caf%C3%A9"},
      {"/\xe2\x82\xac/\xf0\x9f\x98\x80", "/%E2%82%AC/%F0%9F%98%80"},
      {"/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,="},
      {"/users/42/charge", "/users/42/charge"},
      {"/...", "/..."},
      {"/.a/..b", "/.a/..b"},
  };
  for (const NormalizeCase& c : cases) {
    absl::StatusOr<std::string> normalized = NormalizePath(c.raw);
    ASSERT_TRUE(normalized.ok()) << c.raw << ": " << normalized.status();
    EXPECT_EQ(*normalized, c.normalized) << c.raw;
    absl::StatusOr<std::string> again = NormalizePath(*normalized);
    ASSERT_TRUE(again.ok()) << c.normalized << ": " << again.status();
    EXPECT_EQ(*again, *normalized) << "not idempotent: " << c.raw;
  }
}

struct RefuseCase {
  std::string raw;
  std::string reason;
};

TEST(NormalizePathTest, RefusesAmbiguousAndDangerousPaths) {
  const RefuseCase cases[] = {
      {"", "path must start with '/'"},
      {"a/b", "path must start with '/'"},
      {"*", "path must start with '/'"},
      {"http://x/a", "path must start with '/'"},
      // Dot segments above the root, however spelled.
      {"/..", "'..' above the root of the path"},
      {"/../etc/passwd", "'..' above the root of the path"},
      {"/a/../..", "'..' above the root of the path"},
      {"/%2e%2e/etc", "'..' above the root of the path"},
      {"/a/%2E%2E/.%2e/x", "'..' above the root of the path"},
      // Encoded separators and backslashes.
      {"/a%2Fb", "encoded '/' (%2F) in path"},
      {"/a%2fb", "encoded '/' (%2F) in path"},
      {"/..%2F..%2Fetc", "encoded '/' (%2F) in path"},
      {"/a%5Cb", "encoded '\\' (%5C) in path"},
      {"/a%5cb", "encoded '\\' (%5C) in path"},
      {"/a\\b", "'\\' in path"},
      {"/..\\..\\windows", "'\\' in path"},
      // NUL and control characters, raw or encoded.
      {"/a%00", "NUL in path"},
      {std::string("/a\0b", 4), "NUL in path"},
      {"/a%0a", "control character in path"},
      {"/a%0D%0ASet-Cookie:x", "control character in path"},
      {"/a\tb", "control character in path"},
      {"/a%7F", "control character in path"},
      {"/a%c2%85", "control character in path"},  // C1 NEXT LINE
      // Path parameters.
      {"/a;b", "';' (path parameters) in path"},
      {"/login;jsessionid=1", "';' (path parameters) in path"},
      {"/..;/admin", "';' (path parameters) in path"},
      {"/admin;/x", "';' (path parameters) in path"},
      // Characters that do not belong in a path.
      {"/a b", "space, '?' or '#' in path"},
      {"/a?b", "space, '?' or '#' in path"},
      {"/a#b", "space, '?' or '#' in path"},
      // Malformed escapes (%u is IIS's).
      {"/a%", "malformed percent-escape in path"},
      {"/a%2", "malformed percent-escape in path"},
      {"/a%zz", "malformed percent-escape in path"},
      {"/%u002e%u002e/x", "malformed percent-escape in path"},
      // Overlong UTF-8 encodings of '.', '/' and '\'.
      {"/%c0%ae%c0%ae/etc", "invalid or overlong UTF-8 in path"},
      {"/%c0%af", "invalid or overlong UTF-8 in path"},
      {"/%c1%9c", "invalid or overlong UTF-8 in path"},
      {"/%e0%80%ae", "invalid or overlong UTF-8 in path"},
      {"/%f0%80%80%ae", "invalid or overlong UTF-8 in path"},
      {"/\xc0\xae\xc0\xae/etc", "invalid or overlong UTF-8 in path"},
      // Other invalid UTF-8.
      {"/%ed%a0%80", "invalid or overlong UTF-8 in path"},     // surrogate
      {"/%f4%90%80%80", "invalid or overlong UTF-8 in path"},  // above U+10FFFF
      {"/%ff", "invalid or overlong UTF-8 in path"},
      {"/%80", "invalid or overlong UTF-8 in path"},
      {"/\xe2\x28\xa1", "truncated UTF-8 in path"},
      {"/%c3", "truncated UTF-8 in path"},
      {"/%c3/a", "truncated UTF-8 in path"},
      {"/%c3a", "truncated UTF-8 in path"},
      {"/%e2%82", "truncated UTF-8 in path"},
      // Look-alikes of '.', '/' and '\', and fullwidth ASCII.
      {"/%ef%bc%8e%ef%bc%8e/admin", "fullwidth character in path"},  // U+FF0E
      {"/\xef\xbc\x8e\xef\xbc\x8e/admin", "fullwidth character in path"},
      {"/a%ef%bc%8fb", "fullwidth character in path"},                      // U+FF0F
      {"/a%ef%bc%bcb", "fullwidth character in path"},                      // U+FF3C
      {"/%ef%bd%81dmin", "fullwidth character in path"},                    // U+FF41
      {"/a%e2%88%95b", "look-alike of '.', '/' or '\\' in path"},           // U+2215
      {"/a%e2%81%84b", "look-alike of '.', '/' or '\\' in path"},           // U+2044
      {"/%e2%80%a4%e2%80%a4/x", "look-alike of '.', '/' or '\\' in path"},  // U+2024
      {"/%e2%80%a5/x", "look-alike of '.', '/' or '\\' in path"},           // U+2025
      {"/a%e2%88%96b", "look-alike of '.', '/' or '\\' in path"},           // U+2216
      {"/a%ef%b9%92", "look-alike of '.', '/' or '\\' in path"},            // U+FE52
      {"/a%e3%80%82", "look-alike of '.', '/' or '\\' in path"},            // U+3002
      // Characters NFKC turns into '.', '/' or '\\' (a normalizing service would see them).
      {"/public/%ef%b8%b0/admin", "character that NFKC turns into '.', '/' or '\\' in path"},
      {"/public/\xef\xb8\xb0/admin", "character that NFKC turns into '.', '/' or '\\' in path"},
      {"/%e2%84%80", "character that NFKC turns into '.', '/' or '\\' in path"},     // U+2100 a/c
      {"/%e2%84%86", "character that NFKC turns into '.', '/' or '\\' in path"},     // U+2106 c/u
      {"/%e2%92%88", "character that NFKC turns into '.', '/' or '\\' in path"},     // U+2488 1.
      {"/%ef%b8%99", "character that NFKC turns into '.', '/' or '\\' in path"},     // U+FE19
      {"/%f0%9f%84%80", "character that NFKC turns into '.', '/' or '\\' in path"},  // U+1F100
      // Invisible formatting characters.
      {"/ad%e2%80%8bmin", "invisible formatting character in path"},  // U+200B
      {"/a%e2%80%aeb", "invisible formatting character in path"},     // U+202E
      {"/%ef%bb%bfa", "invisible formatting character in path"},      // U+FEFF
      {"/ad%c2%admin", "invisible formatting character in path"},     // U+00AD
  };
  for (const RefuseCase& c : cases) {
    absl::StatusOr<std::string> normalized = NormalizePath(c.raw);
    ASSERT_FALSE(normalized.ok()) << c.raw << " gave " << *normalized;
    EXPECT_EQ(normalized.status().code(), absl::StatusCode::kInvalidArgument) << c.raw;
    EXPECT_EQ(normalized.status().message(), c.reason) << c.raw;
  }
}

TEST(NormalizePathTest, HandlesLongAndDeepPaths) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) {
    deep += "/a";
  }
  for (int i = 0; i < 5000; ++i) {
    deep += "/..";
  }
  absl::StatusOr<std::string> normalized = NormalizePath(deep + "/x");
  ASSERT_TRUE(normalized.ok()) << normalized.status();
  EXPECT_EQ(*normalized, "/x");
  EXPECT_FALSE(NormalizePath(deep + "/..").ok());
}

}  // namespace
}  // namespace bulwark::policy
