#include "policy/path_template.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/internal/path_trie.h"

namespace bulwark::policy {
namespace {

TEST(PathTemplateTest, ParsesLiteralsParamsAndRest) {
  absl::StatusOr<PathTemplate> t = ParsePathTemplate("/users/{id}/charge");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->segments.size(), 3u);
  EXPECT_EQ(t->segments[0].text, "users");
  EXPECT_FALSE(t->segments[0].is_param);
  EXPECT_EQ(t->segments[1].text, "id");
  EXPECT_TRUE(t->segments[1].is_param);
  EXPECT_FALSE(t->any_rest);
  EXPECT_EQ(t->ParamNames(), std::vector<std::string>{"id"});

  absl::StatusOr<PathTemplate> rest = ParsePathTemplate("/files/{owner}/**");
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->segments.size(), 2u);
  EXPECT_TRUE(rest->any_rest);

  absl::StatusOr<PathTemplate> all = ParsePathTemplate("/**");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->segments.empty());
  EXPECT_TRUE(all->any_rest);

  absl::StatusOr<PathTemplate> root = ParsePathTemplate("/");
  ASSERT_TRUE(root.ok());
  ASSERT_EQ(root->segments.size(), 1u);
  EXPECT_EQ(root->segments[0].text, "");
  EXPECT_TRUE(ParsePathTemplate("/a/").ok());
  EXPECT_TRUE(ParsePathTemplate("/caf%C3%A9/x:y@z").ok());
}

TEST(PathTemplateTest, RefusesInvalidTemplates) {
  const std::pair<const char*, const char*> cases[] = {
      {"users", "path template 'users' must start with '/'"},
      {"/users/{id}/{id}", "parameter 'id' appears twice"},
      {"/a/**/b", "'**' must be the last segment (as in /files/**)"},
      {"/a/**/", "'**' must be the last segment (as in /files/**)"},
      {"/a/{}", "parameter '{}': a name is a letter or '_' followed by letters, digits and '_'"},
      {"/a/{1x}",
       "parameter '{1x}': a name is a letter or '_' followed by letters, digits and '_'"},
      {"/a/{a-b}",
       "parameter '{a-b}': a name is a letter or '_' followed by letters, digits and '_'"},
      {"/a/{a}{b}",
       "parameter '{a}{b}': a name is a letter or '_' followed by letters, digits and '_'"},
      {"/a//b", "empty segment ('//') in path template"},
      {"/a/x{id}", "segment 'x{id}': a parameter is a whole segment, as in /users/{id}"},
      {"/a/{id", "segment '{id': a parameter is a whole segment, as in /users/{id}"},
      {"/a/*", "segment '*': '*' is only allowed as a last segment /** (any rest)"},
      {"/a/b*", "segment 'b*': '*' is only allowed as a last segment /** (any rest)"},
      {"/a/../b", "'.' and '..' segments never match a normalized path"},
      {"/a/./b", "'.' and '..' segments never match a normalized path"},
      {"/a/%7e", "segment '%7e' is not in normalized form and never matches; write '~'"},
      {"/a/%3a", "segment '%3a' is not in normalized form and never matches; write '%3A'"},
      {"/a/%2F", "segment '%2F' never matches: encoded '/' (%2F) in path"},
      {"/a/b;c", "segment 'b;c' never matches: ';' (path parameters) in path"},
  };
  for (const auto& [text, message] : cases) {
    absl::StatusOr<PathTemplate> t = ParsePathTemplate(text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_EQ(t.status().message(), message) << text;
  }
  std::string many;
  for (std::size_t i = 0; i <= kMaxPathParams; ++i) {
    many += "/{p" + std::to_string(i) + "}";
  }
  EXPECT_EQ(ParsePathTemplate(many).status().message(), "more than 16 parameters in one template");
}

TEST(PathTemplateTest, SplitsNormalizedPaths) {
  auto split = [](std::string_view path) {
    std::vector<std::string_view> out;
    SplitPathSegments(path, out);
    return out;
  };
  EXPECT_EQ(split("/"), (std::vector<std::string_view>{""}));
  EXPECT_EQ(split("/a/b"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(split("/a/"), (std::vector<std::string_view>{"a", ""}));
}

// Each template is entry i; returns the sorted entries that match `path`.
std::vector<std::uint32_t> Matches(const std::vector<const char*>& templates,
                                   std::string_view path) {
  internal::PathTrie trie;
  for (std::size_t i = 0; i < templates.size(); ++i) {
    trie.Insert(*ParsePathTemplate(templates[i]), static_cast<std::uint32_t>(i));
  }
  std::vector<std::string_view> segments;
  SplitPathSegments(path, segments);
  internal::MatchList out;
  trie.Match(segments, out);
  std::vector<std::uint32_t> sorted(out.begin(), out.end());
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

TEST(PathTrieTest, MatchesLiteralsParamsAndRest) {
  const std::vector<const char*> templates = {
      "/users/{id}/charge",  // 0
      "/users/{id}",         // 1
      "/users/me",           // 2
      "/users/**",           // 3
      "/**",                 // 4
      "/",                   // 5
      "/users/{id}/",        // 6
      "/a/{x}/{y}/b",        // 7
  };
  using V = std::vector<std::uint32_t>;
  EXPECT_EQ(Matches(templates, "/users/42/charge"), (V{0, 3, 4}));
  EXPECT_EQ(Matches(templates, "/users/42"), (V{1, 3, 4}));
  EXPECT_EQ(Matches(templates, "/users/me"), (V{1, 2, 3, 4}));
  EXPECT_EQ(Matches(templates, "/users"), (V{3, 4}));
  EXPECT_EQ(Matches(templates, "/users/"), (V{3, 4}));  // a parameter is never empty
  EXPECT_EQ(Matches(templates, "/users/42/"), (V{3, 4, 6}));
  EXPECT_EQ(Matches(templates, "/users/42/charge/x"), (V{3, 4}));
  EXPECT_EQ(Matches(templates, "/"), (V{4, 5}));
  EXPECT_EQ(Matches(templates, "/a/1/2/b"), (V{4, 7}));
  EXPECT_EQ(Matches(templates, "/a/1/b"), (V{4}));
  EXPECT_EQ(Matches({"/users/{id}"}, "/Users/42"), V{});  // literals are case-sensitive
  EXPECT_TRUE(internal::PathTrie().empty());
}

}  // namespace
}  // namespace bulwark::policy
