#include "authority/ca/ca.h"

#include <gtest/gtest.h>

#include "authority/store/sqlite_store.h"
#include "crypto/random.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace bulwark::authority {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

class CaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(OpenSqliteStore(dir_.File("ca.db")).value());
    options_.signing_ttl = hours(60);
    auto ca = CertificateAuthority::Initialize(*store_, kek_, "example.org", clock_, options_);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::move(*ca);
  }
  SignedSvid Issue(const char* path, seconds ttl = hours(1)) {
    auto key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
    auto id = identity::SpiffeId::FromParts("example.org", path).value();
    auto svid = ca_->Sign(key.Public(), id, ttl);
    EXPECT_TRUE(svid.ok()) << svid.status();
    return std::move(*svid);
  }
  absl::Status Verify(const SignedSvid& svid) {
    return crypto::VerifyChain(svid.chain[0], {svid.chain.begin() + 1, svid.chain.end()},
                               ca_->Roots(), clock_.Now());
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{std::chrono::system_clock::now()};
  crypto::Bytes kek_ = crypto::RandomBytes(32);
  CaOptions options_;
  StorePtr store_;
  std::unique_ptr<CertificateAuthority> ca_;
};

TEST_F(CaTest, SignsSvidsWithExactlyTheGivenIdAndTtl) {
  SignedSvid svid = Issue("/svc/api", hours(1));
  ASSERT_EQ(svid.chain.size(), 2u);
  EXPECT_EQ(svid.chain[0].UriSans(), std::vector<std::string>{"spiffe://example.org/svc/api"});
  EXPECT_FALSE(svid.chain[0].IsCa());
  EXPECT_TRUE(svid.chain[1].IsCa());
  EXPECT_EQ(svid.chain[0].NotAfter(),
            std::chrono::time_point_cast<seconds>(clock_.Now()) + hours(1));
  EXPECT_TRUE(Verify(svid).ok());
  EXPECT_EQ(ca_->trust_domain(), "example.org");
}

TEST_F(CaTest, RefusesASecondInitialisation) {
  auto again = CertificateAuthority::Initialize(*store_, kek_, "example.org", clock_, options_);
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
}

TEST_F(CaTest, LoadNeedsTheRightKeyEncryptionKey) {
  auto loaded = CertificateAuthority::Load(*store_, kek_, clock_, options_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->Roots()[0].SerialHex(), ca_->Roots()[0].SerialHex());
  auto wrong = CertificateAuthority::Load(*store_, crypto::RandomBytes(32), clock_, options_);
  EXPECT_TRUE(absl::IsPermissionDenied(wrong.status())) << wrong.status();
}

TEST_F(CaTest, RotatesOnSpireScheduleAndOldSvidsKeepVerifying) {
  std::string first = ca_->ActiveSigningCa().SerialHex();
  clock_.Advance(hours(29));  // before half of 60h: nothing to do
  EXPECT_FALSE(*ca_->Rotate(false));
  clock_.Advance(hours(2));  // past half: the next CA is prepared, not active yet
  EXPECT_FALSE(*ca_->Rotate(false));
  EXPECT_EQ(ca_->ActiveSigningCa().SerialHex(), first);
  clock_.Advance(hours(18));  // 49h: a sixth (10h) remains only at 50h
  EXPECT_FALSE(*ca_->Rotate(false));
  clock_.Advance(std::chrono::minutes(45));
  SignedSvid old_svid = Issue("/svc/a", hours(1));  // 49.75h, valid until 50.75h
  EXPECT_EQ(old_svid.chain[1].SerialHex(), first);
  clock_.Advance(std::chrono::minutes(30));  // 50.25h: activate
  EXPECT_TRUE(*ca_->Rotate(false));
  EXPECT_NE(ca_->ActiveSigningCa().SerialHex(), first);
  // The SVID of the old signing CA still verifies against the unchanged bundle after the switch.
  EXPECT_TRUE(Verify(old_svid).ok()) << Verify(old_svid);
  SignedSvid new_svid = Issue("/svc/a");
  EXPECT_NE(new_svid.chain[1].SerialHex(), first);
  EXPECT_TRUE(Verify(new_svid).ok());
  // The state survives a reload: the new CA is the active one.
  auto loaded = CertificateAuthority::Load(*store_, kek_, clock_, options_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->ActiveSigningCa().SerialHex(), ca_->ActiveSigningCa().SerialHex());
}

TEST_F(CaTest, SvidNeverOutlivesItsSigningCa) {
  clock_.Advance(hours(59));
  SignedSvid svid = Issue("/svc/a", hours(5));
  EXPECT_LE(svid.chain[0].NotAfter(), svid.chain[1].NotAfter());
}

TEST_F(CaTest, ForcedRotationActivatesAtOnce) {
  std::string first = ca_->ActiveSigningCa().SerialHex();
  EXPECT_TRUE(*ca_->Rotate(true));
  EXPECT_NE(ca_->ActiveSigningCa().SerialHex(), first);
  EXPECT_TRUE(Verify(Issue("/svc/b")).ok());
}

}  // namespace
}  // namespace bulwark::authority
