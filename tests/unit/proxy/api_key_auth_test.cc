#include "proxy/api_key_auth.h"

#include <gtest/gtest.h>

#include "authority/api/router.h"
#include "tokens/api_key.h"

namespace bulwark::proxy {
namespace {

// The authority's feed answer for `keys`, parsed as the gateway parses it.
std::shared_ptr<const ApiKeySnapshot> Feed(const std::vector<authority::ApiKeyRecord>& keys,
                                           std::int64_t version = 7) {
  absl::StatusOr<ApiKeySnapshot> parsed =
      ParseApiKeyFeed(authority::api::ApiKeyFeedJson(version, keys));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return std::make_shared<const ApiKeySnapshot>(*std::move(parsed));
}

authority::ApiKeyRecord Record(const tokens::NewApiKey& key, std::string client,
                               bool revoked = false) {
  authority::ApiKeyRecord r{key.id, key.hash, std::move(client), {"orders:read", "b"}, {}, {}};
  if (revoked) {
    r.revoked_at = core::FromUnixSeconds(1);
  }
  return r;
}

http::Request With(std::string_view name, std::string value) {
  http::Request request;
  request.method = "GET";
  request.target = "/";
  request.headers.Add(std::string(name), std::move(value));
  return request;
}

class ApiKeyAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_.Replace(Feed({Record(live_, "billing"), Record(revoked_, "old", true)}));
  }
  tokens::NewApiKey live_ = tokens::MakeApiKey();
  tokens::NewApiKey revoked_ = tokens::MakeApiKey();
  ApiKeyAuthenticator keys_;
};

TEST_F(ApiKeyAuthTest, FeedListsOnlyLiveKeysWithHashesNotKeys) {
  nlohmann::json feed =
      authority::api::ApiKeyFeedJson(3, {Record(live_, "billing"), Record(revoked_, "old", true)});
  EXPECT_EQ(feed["version"], 3);
  ASSERT_EQ(feed["keys"].size(), 1u);
  EXPECT_EQ(feed["keys"][0]["id"], live_.id);
  EXPECT_EQ(feed.dump().find(live_.key), std::string::npos);
  std::shared_ptr<const ApiKeySnapshot> parsed = Feed({Record(live_, "billing")}, 3);
  EXPECT_EQ(parsed->version, 3);
  EXPECT_EQ(parsed->keys.at(live_.id).client, "billing");
  EXPECT_EQ(parsed->keys.at(live_.id).hash, live_.hash);
}

TEST_F(ApiKeyAuthTest, MalformedFeedsAreRefused) {
  for (const char* bad : {R"({})", R"({"version": 1})", R"({"version": "1", "keys": []})",
                          R"({"version": 1, "keys": [{"id": "a", "client": "c"}]})",
                          R"({"version": 1, "keys": [{"id": "a", "client": "c", "hash": "AAAA"}]})",
                          R"({"version": 1, "keys": [{"id": 1, "client": "c", "hash": "AAAA"}]})",
                          R"({"version": 1, "keys": [7]})"}) {
    EXPECT_FALSE(ParseApiKeyFeed(nlohmann::json::parse(bad)).ok()) << bad;
  }
}

TEST_F(ApiKeyAuthTest, BothHeadersAdmitTheLiveKey) {
  for (http::Request request :
       {With("X-Api-Key", live_.key), With("Authorization", "ApiKey " + live_.key),
        With("authorization", "apikey " + live_.key), With("x-api-key", live_.key)}) {
    absl::StatusOr<tokens::Subject> subject = keys_.Authenticate(request);
    ASSERT_TRUE(subject.ok()) << subject.status();
    EXPECT_EQ(subject->issuer, "api_key");
    EXPECT_EQ(subject->subject, "billing");
    EXPECT_EQ(subject->scope, (std::vector<std::string>{"orders:read", "b"}));
  }
}

TEST_F(ApiKeyAuthTest, ForgedRevokedUnknownAndMalformedKeysAreRefusedNamingOnlyTheId) {
  std::string forged = live_.key;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  std::string unknown = tokens::MakeApiKey().key;
  for (const std::string& key : {forged, revoked_.key, unknown, "bwk_" + live_.key.substr(5)}) {
    absl::StatusOr<tokens::Subject> subject = keys_.Authenticate(With("X-Api-Key", key));
    ASSERT_EQ(subject.status().code(), absl::StatusCode::kUnauthenticated) << key;
    std::string reason(subject.status().message());
    EXPECT_EQ(reason.find(key.substr(16)), std::string::npos) << reason;
  }
  EXPECT_NE(keys_.Authenticate(With("X-Api-Key", forged)).status().message().find(live_.id),
            std::string::npos);
}

TEST_F(ApiKeyAuthTest, ExactlyOneKeyMustBePresented) {
  EXPECT_FALSE(keys_.Authenticate(With("Authorization", "Bearer x")).ok());
  http::Request two = With("X-Api-Key", live_.key);
  two.headers.Add("Authorization", "ApiKey " + live_.key);
  EXPECT_FALSE(keys_.Authenticate(two).ok());
  http::Request twice = With("X-Api-Key", live_.key);
  twice.headers.Add("X-Api-Key", live_.key);
  EXPECT_FALSE(keys_.Authenticate(twice).ok());
}

TEST_F(ApiKeyAuthTest, NothingIsAdmittedBeforeTheFirstFeedAnswer) {
  ApiKeyAuthenticator fresh;
  EXPECT_FALSE(fresh.ready());
  EXPECT_EQ(fresh.Authenticate(With("X-Api-Key", live_.key)).status().code(),
            absl::StatusCode::kUnauthenticated);
  fresh.Replace(Feed({Record(live_, "billing")}));
  EXPECT_TRUE(fresh.Authenticate(With("X-Api-Key", live_.key)).ok());
  fresh.Replace(Feed({}));  // revoked: the next snapshot lacks it
  EXPECT_FALSE(fresh.Authenticate(With("X-Api-Key", live_.key)).ok());
}

TEST_F(ApiKeyAuthTest, KeyHeadersAreRemovedAndOthersKept) {
  http::Request request = With("X-Api-Key", live_.key);
  request.headers.Add("authorization", "ApiKey " + live_.key);
  request.headers.Add("Authorization", "Bearer abc");
  request.headers.Add("Accept", "*/*");
  RemoveApiKeyHeaders(request.headers);
  ASSERT_EQ(request.headers.size(), 2u);
  EXPECT_EQ(request.headers.Get("Authorization"), "Bearer abc");
  EXPECT_EQ(request.headers.Get("Accept"), "*/*");
}

}  // namespace
}  // namespace bulwark::proxy
