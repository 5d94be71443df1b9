// Tests of IdentityFileWatcher with files made by the openssl CLI: load, reload on change, and
// keeping the current SVID when new files are unusable or name another identity.
#include "proxy/identity_files.h"

#include "core/files.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace bulwark::proxy {
namespace {

class IdentityFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<bulwark::testing::TestPki>(); }
  static void TearDownTestSuite() { pki_.reset(); }
  void SetUp() override {
    ASSERT_TRUE(pki_->ok());
    Write("bundle.pem", Read(pki_->Path("root")), 0644);
  }

  static std::string Read(const std::string& path) { return *core::ReadFile(path); }
  void Write(const std::string& name, const std::string& text, unsigned mode) {
    ASSERT_TRUE(core::WriteFileAtomic(dir_.File(name), text, mode).ok());
  }
  // Writes leaf `name`'s certificate and key as svid.pem and key.pem.
  void Install(const std::string& name) {
    Write("svid.pem", Read(pki_->Path(name)), 0644);
    Write("key.pem", Read(pki_->KeyPath(name)), 0600);
  }
  absl::StatusOr<std::unique_ptr<IdentityFileWatcher>> Watch(const std::string& id) {
    // Relative paths resolve against the base directory, as they do against mesh.yaml's.
    return IdentityFileWatcher::Create({"svid.pem", "key.pem", "bundle.pem"}, dir_.path(), id);
  }

  bulwark::testing::TempDir dir_;
  static inline std::unique_ptr<bulwark::testing::TestPki> pki_;
};

TEST_F(IdentityFilesTest, LoadsAndReloadsWhenTheFilesChange) {
  Install("svc_a");
  auto watcher = Watch("spiffe://example.org/svc/a");
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  std::shared_ptr<const identity::Svid> first = (*watcher)->Current();
  EXPECT_EQ(first->leaf().SerialHex(), pki_->Cert("svc_a").SerialHex());
  EXPECT_FALSE((*watcher)->ReloadIfChanged());
  EXPECT_EQ((*watcher)->Current(), first);

  // "client" is another certificate for svc/a (clientAuth only, but the same SPIFFE ID).
  Install("client");
  EXPECT_TRUE((*watcher)->ReloadIfChanged());
  EXPECT_EQ((*watcher)->Current()->leaf().SerialHex(), pki_->Cert("client").SerialHex());
}

TEST_F(IdentityFilesTest, KeepsTheCurrentSvidWhenNewFilesDoNotLoad) {
  Install("svc_a");
  auto watcher = Watch("spiffe://example.org/svc/a");
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  std::shared_ptr<const identity::Svid> first = (*watcher)->Current();
  // Half-written: the new certificate with the old key.
  Write("svid.pem", Read(pki_->Path("client")), 0644);
  EXPECT_FALSE((*watcher)->ReloadIfChanged());
  EXPECT_EQ((*watcher)->Current(), first);
  // Another service's identity.
  Install("svc_b");
  EXPECT_FALSE((*watcher)->ReloadIfChanged());
  EXPECT_EQ((*watcher)->Current(), first);
  // Completed later: picked up even though the failed attempt was logged.
  Install("client");
  EXPECT_TRUE((*watcher)->ReloadIfChanged());
}

TEST_F(IdentityFilesTest, CreateRefusesWrongIdentityAndReadableKey) {
  Install("svc_b");
  EXPECT_FALSE(Watch("spiffe://example.org/svc/a").ok());
  Write("key.pem", Read(pki_->KeyPath("svc_b")), 0644);
  EXPECT_FALSE(Watch("spiffe://example.org/svc/b").ok());
}

}  // namespace
}  // namespace bulwark::proxy
