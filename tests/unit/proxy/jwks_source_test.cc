#include "proxy/jwks_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/support/running_server.h"
#include "tests/support/test_pki.h"
#include "tls/context.h"

namespace bulwark::proxy {
namespace {

using namespace std::chrono_literals;
using bulwark::testing::RunningServer;
using bulwark::testing::TestPki;

// A fake authority: metadata and a JWKS of `jwks`, or 503 for both while `down`.
struct FakeAuthority {
  std::atomic<bool> down{false};
  std::atomic<int> jwks_fetches{0};
  std::string jwks;

  http::Handler Handler() {
    return [this](http::Request request,
                  const http::ConnectionInfo&) -> asio::awaitable<http::Response> {
      http::Response response;
      if (down) {
        response.status = 503;
      } else if (request.Path() == "/.well-known/oauth-authorization-server") {
        response.body = R"({"issuer":"https://authority.test"})";
      } else if (request.Path() == "/oauth2/jwks") {
        ++jwks_fetches;
        response.headers.Set("Cache-Control", "public, max-age=300");
        response.body = jwks;
      } else {
        response.status = 404;
      }
      co_return response;
    };
  }
};

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 1000 && !done(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

TEST(JwksSourceTest, FetchesKeepsTheLastGoodKeysAndRateLimitsUnknownKids) {
  TestPki pki;
  ASSERT_TRUE(pki.ok());
  crypto::PrivateKey key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  crypto::Jwk jwk = crypto::JwkForKey(key.Public()).value();
  FakeAuthority fake;
  fake.jwks = crypto::JwksToJson(crypto::Jwks::FromKeys({jwk}).value()).value().dump();
  auto ctx = tls::MakeServerContext(pki.Credentials("td_authority"), {}, tls::ClientAuth::kNone);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  RunningServer server(*ctx, fake.Handler());
  ASSERT_TRUE(server.ok());
  auto client = identity::AuthorityClient::Create(server.Url(""), {pki.Cert("td_root")},
                                                  std::chrono::seconds(5));
  ASSERT_TRUE(client.ok()) << client.status();

  std::unique_ptr<JwksSource> source = JwksSource::Start(
      *std::move(client), {.unknown_kid_interval = core::Seconds(1), .retry = core::Seconds(1)});
  ASSERT_TRUE(WaitFor([&] { return source->Current() != nullptr; }));
  EXPECT_EQ(source->Current()->issuer, "https://authority.test");
  EXPECT_NE(source->Current()->jwks.Find(jwk.kid), nullptr);
  EXPECT_EQ(fake.jwks_fetches.load(), 1);

  // The first unknown kid after the first fetch refetches (a key published just after it, such
  // as a fresh gateway's, must be found); a flood within the interval asks for nothing more.
  for (int i = 0; i < 50; ++i) {
    source->RefetchForUnknownKid();
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(fake.jwks_fetches.load(), 2);

  // The authority goes away: a refetch fails and the last good keys stay.
  fake.down = true;
  std::this_thread::sleep_for(1s);
  std::uint64_t attempts = source->fetches();
  source->RefetchForUnknownKid();
  ASSERT_TRUE(WaitFor([&] { return source->fetches() > attempts; }));
  ASSERT_NE(source->Current(), nullptr);
  EXPECT_NE(source->Current()->jwks.Find(jwk.kid), nullptr);

  // Back, with a new key: the retry picks it up.
  crypto::PrivateKey next = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  crypto::Jwk next_jwk = crypto::JwkForKey(next.Public()).value();
  fake.jwks = crypto::JwksToJson(crypto::Jwks::FromKeys({jwk, next_jwk}).value()).value().dump();
  fake.down = false;
  ASSERT_TRUE(WaitFor([&] { return source->Current()->jwks.Find(next_jwk.kid) != nullptr; }));
}

}  // namespace
}  // namespace bulwark::proxy
