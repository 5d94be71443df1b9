#include "proxy/issuer_keys_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "core/files.h"
#include "tests/support/running_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tls/context.h"

namespace bulwark::proxy {
namespace {

using namespace std::chrono_literals;
using bulwark::testing::RunningServer;
using bulwark::testing::TempDir;
using bulwark::testing::TestPki;

// An external OpenID provider on 127.0.0.1: discovery and a JWKS, counted; 503 while `down`.
struct FakeIdp {
  std::atomic<bool> down{false};
  std::atomic<int> discovery_fetches{0};
  std::atomic<int> jwks_fetches{0};
  std::mutex mu;
  std::string issuer;  // what the discovery document claims; guarded by mu
  std::string jwks;    // guarded by mu
  std::string jwks_uri;

  void Set(std::string* field, std::string value) {
    std::lock_guard lock(mu);
    *field = std::move(value);
  }
  http::Handler Handler() {
    return [this](http::Request request,
                  const http::ConnectionInfo&) -> asio::awaitable<http::Response> {
      http::Response response;
      std::lock_guard lock(mu);
      if (down) {
        response.status = 503;
      } else if (request.Path() == "/.well-known/openid-configuration") {
        ++discovery_fetches;
        response.body = nlohmann::json{{"issuer", issuer}, {"jwks_uri", jwks_uri}}.dump();
      } else if (request.Path() == "/jwks") {
        ++jwks_fetches;
        response.headers.Set("Cache-Control", "public, max-age=600");
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

std::string JwksOf(const std::vector<crypto::Jwk>& keys) {
  return crypto::JwksToJson(crypto::Jwks::FromKeys(keys).value()).value().dump();
}

class IssuerKeySourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok());
    auto ctx = tls::MakeServerContext(pki_.Credentials("server"), {}, tls::ClientAuth::kNone);
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    server_ = std::make_unique<RunningServer>(*ctx, idp_.Handler());
    ASSERT_TRUE(server_->ok());
    idp_.issuer = server_->Url("");
    idp_.jwks_uri = server_->Url("/jwks");
    idp_.jwks = JwksOf({jwk_});
  }
  mesh::IssuerConfig Discovery(std::string ca = "") {
    mesh::IssuerConfig config;
    config.name = "partner";
    config.issuer = server_->Url("");
    config.discovery = server_->Url("/.well-known/openid-configuration");
    config.audiences = {"api://dvd"};
    config.ca = ca.empty() ? pki_.Path("root") : ca;
    return config;
  }
  std::unique_ptr<IssuerKeySources> Start(const std::vector<mesh::IssuerConfig>& issuers,
                                          IssuerFetchOptions options = {}) {
    options.timeout = 5s;
    options.source = {.unknown_kid_interval = core::Seconds(1), .retry = core::Seconds(1)};
    auto sources = IssuerKeySources::Start(issuers, "example.org", dir_.path(), {}, options);
    EXPECT_TRUE(sources.ok()) << sources.status();
    return sources.ok() ? *std::move(sources) : nullptr;
  }

  TestPki pki_;
  TempDir dir_;
  FakeIdp idp_;
  std::unique_ptr<RunningServer> server_;
  crypto::PrivateKey key_ = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  crypto::Jwk jwk_ = crypto::JwkForKey(key_.Public()).value();
};

TEST_F(IssuerKeySourcesTest, FetchesByDiscoveryRefetchesBoundedAndKeepsTheLastGoodKeys) {
  auto sources = Start({Discovery()});
  ASSERT_NE(sources, nullptr);
  const tokens::TrustedIssuer& partner = sources->issuers()[0];
  EXPECT_EQ(partner.name, "partner");
  EXPECT_EQ(partner.audiences, std::vector<std::string>{"api://dvd"});
  ASSERT_TRUE(WaitFor([&] { return partner.keys.current() != nullptr; }));
  EXPECT_EQ(partner.keys.current()->issuer, server_->Url(""));
  EXPECT_NE(partner.keys.current()->jwks.Find(jwk_.kid), nullptr);
  EXPECT_EQ(idp_.discovery_fetches.load(), 1);
  EXPECT_EQ(idp_.jwks_fetches.load(), 1);

  // A flood of unknown kids over ~2.5 s: at most one refetch per second, plus the first.
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 250; ++i) {
    partner.keys.unknown_kid();
    std::this_thread::sleep_for(10ms);
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::this_thread::sleep_for(300ms);
  EXPECT_GE(idp_.jwks_fetches.load(), 2) << "a refetch was granted after the interval";
  EXPECT_LE(idp_.jwks_fetches.load(), 2 + static_cast<int>(seconds));

  // The issuer goes away: a refetch fails and the last good keys stay.
  idp_.down = true;
  std::uint64_t attempts = sources->Source("partner")->fetches();
  std::this_thread::sleep_for(1100ms);
  partner.keys.unknown_kid();
  ASSERT_TRUE(WaitFor([&] { return sources->Source("partner")->fetches() > attempts; }));
  ASSERT_NE(partner.keys.current(), nullptr);
  EXPECT_NE(partner.keys.current()->jwks.Find(jwk_.kid), nullptr);

  // Back with a rotated key: the retry picks it up.
  crypto::Jwk next =
      crypto::JwkForKey(crypto::PrivateKey::Generate(crypto::KeyType::kP256).value().Public())
          .value();
  idp_.Set(&idp_.jwks, JwksOf({jwk_, next}));
  idp_.down = false;
  ASSERT_TRUE(WaitFor([&] { return partner.keys.current()->jwks.Find(next.kid) != nullptr; }));
}

TEST_F(IssuerKeySourcesTest, ADiscoveryDocumentForAnotherIssuerGivesNoKeys) {
  idp_.Set(&idp_.issuer, "https://evil.example");
  auto sources = Start({Discovery()});
  ASSERT_NE(sources, nullptr);
  ASSERT_TRUE(WaitFor([&] { return idp_.discovery_fetches.load() >= 1; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(sources->issuers()[0].keys.current(), nullptr);
  EXPECT_EQ(idp_.jwks_fetches.load(), 0) << "the jwks_uri of a wrong document is never used";
}

TEST_F(IssuerKeySourcesTest, AServerOutsideTheTrustedRootsGivesNoKeys) {
  // The server's certificate chains to "root"; the issuer trusts only "other_root".
  auto sources = Start({Discovery(pki_.Path("other_root"))});
  ASSERT_NE(sources, nullptr);
  ASSERT_TRUE(WaitFor([&] { return sources->Source("partner")->fetches() >= 1; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(sources->issuers()[0].keys.current(), nullptr);
  EXPECT_EQ(idp_.discovery_fetches.load(), 0);
}

TEST_F(IssuerKeySourcesTest, AnOversizedJwksIsRefused) {
  idp_.Set(&idp_.jwks, std::string(tokens::kMaxIssuerDocumentBytes + 1, ' '));
  mesh::IssuerConfig config = Discovery();
  config.discovery.reset();
  config.jwks = server_->Url("/jwks");
  auto sources = Start({config});
  ASSERT_NE(sources, nullptr);
  ASSERT_TRUE(WaitFor([&] { return sources->Source("partner")->fetches() >= 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sources->issuers()[0].keys.current(), nullptr);
}

TEST_F(IssuerKeySourcesTest, ReadsFileJwksAndNamesTheIssuerOnBadFiles) {
  ASSERT_TRUE(core::WriteFileAtomic(dir_.File("partner.json"), JwksOf({jwk_}), 0644).ok());
  mesh::IssuerConfig file;
  file.name = "files";
  file.issuer = "https://files.example";
  file.jwks = "file:partner.json";
  file.audiences = {"api://dvd"};
  mesh::IssuerConfig self;
  self.name = "local";
  self.issuer = "self";
  auto sources = Start({self, file});
  ASSERT_NE(sources, nullptr);
  EXPECT_TRUE(sources->issuers()[0].self);
  EXPECT_EQ(sources->issuers()[0].audiences, std::vector<std::string>{"spiffe://example.org"});
  ASSERT_NE(sources->issuers()[1].keys.current(), nullptr);
  EXPECT_EQ(sources->issuers()[1].keys.current()->issuer, "https://files.example");
  EXPECT_EQ(sources->Source("files"), nullptr);

  file.jwks = "file:missing.json";
  auto missing = IssuerKeySources::Start({file}, "example.org", dir_.path(), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("gateway.issuers[files]"), std::string::npos)
      << missing.status();
  mesh::IssuerConfig bad_ca = Discovery(dir_.File("partner.json"));  // not PEM
  auto refused = IssuerKeySources::Start({bad_ca}, "example.org", dir_.path(), {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("gateway.issuers[partner]"), std::string::npos)
      << refused.status();
}

}  // namespace
}  // namespace bulwark::proxy
