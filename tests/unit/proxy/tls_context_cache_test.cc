// Tests that the inbound TLS context follows the SVID: same SVID, same context; new SVID, new
// context; a broken SVID keeps the previous one.
#include "proxy/tls_context_cache.h"

#include <atomic>
#include <memory>

#include "gtest/gtest.h"
#include "tests/support/test_pki.h"

namespace bulwark::proxy {
namespace {

std::shared_ptr<const identity::Svid> MakeSvid(const bulwark::testing::TestPki& pki,
                                               const std::string& leaf) {
  return std::make_shared<const identity::Svid>(identity::Svid{
      "spiffe://example.org/svc/" + leaf.substr(4), pki.Credentials(leaf), {pki.Cert("root")}});
}

TEST(TlsContextCacheTest, RebuildsOnlyWhenTheSvidChanges) {
  bulwark::testing::TestPki pki;
  ASSERT_TRUE(pki.ok());
  std::atomic<std::shared_ptr<const identity::Svid>> current{MakeSvid(pki, "svc_a")};
  TlsContextCache cache([&current] { return current.load(); });
  std::shared_ptr<asio::ssl::context> first = cache.Get();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(cache.Get(), first);

  current.store(MakeSvid(pki, "svc_b"));
  std::shared_ptr<asio::ssl::context> second = cache.Get();
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second, first);
  EXPECT_EQ(cache.Get(), second);
}

TEST(TlsContextCacheTest, KeepsThePreviousContextWhenTheNewSvidIsUnusable) {
  bulwark::testing::TestPki pki;
  ASSERT_TRUE(pki.ok());
  std::atomic<std::shared_ptr<const identity::Svid>> current{MakeSvid(pki, "svc_a")};
  TlsContextCache cache([&current] { return current.load(); });
  std::shared_ptr<asio::ssl::context> good = cache.Get();
  ASSERT_NE(good, nullptr);
  // svc_a's certificate with svc_b's key: the context cannot be made.
  identity::Svid broken{"spiffe://example.org/svc/a",
                        {{pki.Cert("svc_a")}, pki.Credentials("svc_b").key},
                        {pki.Cert("root")}};
  current.store(std::make_shared<const identity::Svid>(std::move(broken)));
  EXPECT_EQ(cache.Get(), good);
}

}  // namespace
}  // namespace bulwark::proxy
