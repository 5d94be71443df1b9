#include "crypto/key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/support/temp_dir.h"
#include "tests/unit/crypto/crypto_test_util.h"

namespace bulwark::crypto {
namespace {

using test::Describe;
using test::Openssl;
using test::ReadText;
using test::WriteBytes;
using test::WriteText;
using ::testing::HasSubstr;
using Format = PublicKey::SignatureFormat;

class KeyTest : public ::testing::TestWithParam<KeyType> {};

INSTANTIATE_TEST_SUITE_P(AllTypes, KeyTest, ::testing::Values(KeyType::kP256, KeyType::kEd25519),
                         [](const auto& info) {
                           return info.param == KeyType::kP256 ? "P256" : "Ed25519";
                         });

TEST(KeyTypeTest, NamesTypes) {
  EXPECT_EQ(KeyTypeName(KeyType::kP256), "P-256");
  EXPECT_EQ(KeyTypeName(KeyType::kEd25519), "Ed25519");
}

TEST_P(KeyTest, GeneratesDistinctKeysOfTheRequestedType) {
  absl::StatusOr<PrivateKey> a = PrivateKey::Generate(GetParam());
  absl::StatusOr<PrivateKey> b = PrivateKey::Generate(GetParam());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->type(), GetParam());
  EXPECT_EQ(a->Public().type(), GetParam());
  EXPECT_FALSE(a->Public().Equals(b->Public()));
  EXPECT_TRUE(a->Public().Equals(a->Public()));
}

TEST_P(KeyTest, SignsAndVerifies) {
  PrivateKey key = *PrivateKey::Generate(GetParam());
  PublicKey pub = key.Public();
  for (Format format : {Format::kDer, Format::kRaw}) {
    absl::StatusOr<Bytes> sig = key.Sign("hello", format);
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_TRUE(pub.Verify("hello", *sig, format).ok());
    EXPECT_FALSE(pub.Verify("hellO", *sig, format).ok());
    Bytes flipped = *sig;
    flipped[flipped.size() / 2] ^= 0x01;
    EXPECT_FALSE(pub.Verify("hello", flipped, format).ok());
    PublicKey other = PrivateKey::Generate(GetParam())->Public();
    EXPECT_FALSE(other.Verify("hello", *sig, format).ok());
  }
}

TEST(KeyP256Test, RawSignaturesAre64BytesAndConvertible) {
  PrivateKey key = *PrivateKey::Generate(KeyType::kP256);
  Bytes raw = *key.Sign("m", Format::kRaw);
  EXPECT_EQ(raw.size(), 64u);
  // A raw signature is not valid DER and vice versa.
  EXPECT_FALSE(key.Public().Verify("m", raw, Format::kDer).ok());
  Bytes der = *key.Sign("m", Format::kDer);
  EXPECT_EQ(der[0], 0x30);
  EXPECT_FALSE(key.Public().Verify("m", der, Format::kRaw).ok());
}

TEST(KeyP256Test, RawVerifyRefusesOutOfRangeScalarsAndWrongSizes) {
  PrivateKey key = *PrivateKey::Generate(KeyType::kP256);
  Bytes raw = *key.Sign("m", Format::kRaw);
  Bytes zero_r = raw;
  std::fill(zero_r.begin(), zero_r.begin() + 32, 0);
  EXPECT_THAT(std::string(key.Public().Verify("m", zero_r, Format::kRaw).message()),
              HasSubstr("[1, n-1]"));
  Bytes big_s = raw;
  std::fill(big_s.begin() + 32, big_s.end(), 0xff);
  EXPECT_FALSE(key.Public().Verify("m", big_s, Format::kRaw).ok());
  Bytes short_sig(raw.begin(), raw.end() - 1);
  EXPECT_THAT(std::string(key.Public().Verify("m", short_sig, Format::kRaw).message()),
              HasSubstr("64 bytes"));
  Bytes long_sig = raw;
  long_sig.push_back(0);
  EXPECT_FALSE(key.Public().Verify("m", long_sig, Format::kRaw).ok());
}

TEST(KeyP256Test, DerVerifyRefusesTrailingBytes) {
  PrivateKey key = *PrivateKey::Generate(KeyType::kP256);
  Bytes der = *key.Sign("m");
  ASSERT_TRUE(key.Public().Verify("m", der).ok());
  der.push_back(0);
  EXPECT_FALSE(key.Public().Verify("m", der).ok());
}

TEST(KeyEd25519Test, SignatureIs64BytesWhateverTheFormat) {
  PrivateKey key = *PrivateKey::Generate(KeyType::kEd25519);
  Bytes sig = *key.Sign("m", Format::kDer);
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(key.Public().Verify("m", sig, Format::kRaw).ok());
  sig.push_back(0);
  EXPECT_THAT(std::string(key.Public().Verify("m", sig).message()), HasSubstr("64 bytes"));
}

TEST_P(KeyTest, PemAndDerRoundTrip) {
  PrivateKey key = *PrivateKey::Generate(GetParam());
  std::string pem = key.ToPem();
  EXPECT_THAT(pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  absl::StatusOr<PrivateKey> again = PrivateKey::FromPem(pem);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->type(), GetParam());
  EXPECT_TRUE(again->Public().Equals(key.Public()));

  std::string pub_pem = key.Public().ToPem();
  EXPECT_THAT(pub_pem, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  EXPECT_TRUE(PublicKey::FromPem(pub_pem)->Equals(key.Public()));
  EXPECT_TRUE(PublicKey::FromDer(key.Public().ToDer())->Equals(key.Public()));
  // The public PEM is not a private key.
  EXPECT_FALSE(PrivateKey::FromPem(pub_pem).ok());
}

TEST_P(KeyTest, CopiesShareTheSameKey) {
  PublicKey pub = PrivateKey::Generate(GetParam())->Public();
  PublicKey copy = pub;
  PublicKey assigned = PrivateKey::Generate(GetParam())->Public();
  assigned = pub;
  EXPECT_TRUE(copy.Equals(pub));
  EXPECT_TRUE(assigned.Equals(pub));
  EXPECT_EQ(copy.ToDer(), pub.ToDer());
}

TEST(KeyP256Test, CoordinatesRoundTrip) {
  PublicKey pub = PrivateKey::Generate(KeyType::kP256)->Public();
  Bytes x, y;
  ASSERT_TRUE(pub.P256Coordinates(x, y).ok());
  EXPECT_EQ(x.size(), 32u);
  EXPECT_EQ(y.size(), 32u);
  absl::StatusOr<PublicKey> rebuilt = PublicKey::FromP256Coordinates(x, y);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_TRUE(rebuilt->Equals(pub));
  EXPECT_FALSE(pub.Ed25519Raw().ok());
}

TEST(KeyP256Test, CoordinatesOffTheCurveAreRefused) {
  PublicKey pub = PrivateKey::Generate(KeyType::kP256)->Public();
  Bytes x, y;
  ASSERT_TRUE(pub.P256Coordinates(x, y).ok());
  y[31] ^= 0x01;
  EXPECT_FALSE(PublicKey::FromP256Coordinates(x, y).ok());
  EXPECT_FALSE(PublicKey::FromP256Coordinates(Bytes(32, 0), Bytes(32, 0)).ok());
  EXPECT_FALSE(PublicKey::FromP256Coordinates(Bytes(31, 1), Bytes(32, 1)).ok());
  // x = p (the field prime) is out of range.
  Bytes p = test::Hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
  EXPECT_FALSE(PublicKey::FromP256Coordinates(p, y).ok());
}

TEST(KeyEd25519Test, RawRoundTrip) {
  PublicKey pub = PrivateKey::Generate(KeyType::kEd25519)->Public();
  absl::StatusOr<Bytes> raw = pub.Ed25519Raw();
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), 32u);
  EXPECT_TRUE(PublicKey::FromEd25519Raw(*raw)->Equals(pub));
  EXPECT_FALSE(PublicKey::FromEd25519Raw(Bytes(31, 1)).ok());
  Bytes x, y;
  EXPECT_FALSE(pub.P256Coordinates(x, y).ok());
}

TEST(KeyParseTest, RefusesGarbageAndTrailingDer) {
  EXPECT_FALSE(PublicKey::FromPem("not a key").ok());
  EXPECT_FALSE(PrivateKey::FromPem("").ok());
  EXPECT_FALSE(PublicKey::FromDer({}).ok());
  Bytes der = PrivateKey::Generate(KeyType::kP256)->Public().ToDer();
  der.push_back(0);
  EXPECT_THAT(std::string(PublicKey::FromDer(der).status().message()), HasSubstr("trailing"));
  EXPECT_FALSE(PublicKey::FromEvp(nullptr).ok());
}

// ----- Interop with the openssl CLI

TEST_P(KeyTest, OpensslReadsOurKeys) {
  testing::TempDir dir;
  PrivateKey key = *PrivateKey::Generate(GetParam());
  ASSERT_TRUE(WriteText(dir.File("key.pem"), key.ToPem()));
  auto r = Openssl({"pkey", "-in", dir.File("key.pem"), "-pubout"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, key.Public().ToPem());
  ASSERT_TRUE(WriteText(dir.File("pub.pem"), key.Public().ToPem()));
  r = Openssl({"pkey", "-pubin", "-in", dir.File("pub.pem"), "-noout", "-text"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr(GetParam() == KeyType::kP256 ? "P-256" : "ED25519"));
}

TEST(KeyInteropTest, LoadsKeysMadeByOpenssl) {
  testing::TempDir dir;
  struct Case {
    std::vector<std::string> args;
    KeyType type;
  };
  const std::vector<Case> cases = {
      {{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}, KeyType::kP256},
      {{"-algorithm", "ED25519"}, KeyType::kEd25519},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"genpkey", "-out", dir.File("k.pem")};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = Openssl(args);
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(ReadText(dir.File("k.pem")));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->type(), c.type);
    r = Openssl({"pkey", "-in", dir.File("k.pem"), "-pubout"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    absl::StatusOr<PublicKey> pub = PublicKey::FromPem(r.out);
    ASSERT_TRUE(pub.ok()) << pub.status();
    EXPECT_TRUE(pub->Equals(key->Public()));
  }
}

TEST(KeyInteropTest, LoadsSec1EcPrivateKey) {
  testing::TempDir dir;
  auto r = Openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                    dir.File("k.pem")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Openssl({"ec", "-in", dir.File("k.pem")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_THAT(r.out, HasSubstr("BEGIN EC PRIVATE KEY"));
  absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(r.out);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(key->Public().Equals(PrivateKey::FromPem(ReadText(dir.File("k.pem")))->Public()));
}

TEST(KeyInteropTest, RefusesOtherKeyTypesWithAClearMessage) {
  testing::TempDir dir;
  auto r = Openssl({"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out",
                    dir.File("rsa.pem")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  absl::StatusOr<PrivateKey> rsa = PrivateKey::FromPem(ReadText(dir.File("rsa.pem")));
  ASSERT_FALSE(rsa.ok());
  EXPECT_THAT(std::string(rsa.status().message()),
              HasSubstr("RSA 1024-bit keys are not accepted; use ECDSA P-256"));

  r = Openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out",
               dir.File("p384.pem")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  absl::StatusOr<PrivateKey> p384 = PrivateKey::FromPem(ReadText(dir.File("p384.pem")));
  ASSERT_FALSE(p384.ok());
  EXPECT_THAT(std::string(p384.status().message()), HasSubstr("secp384r1"));
  r = Openssl({"pkey", "-in", dir.File("p384.pem"), "-pubout"});
  EXPECT_FALSE(PublicKey::FromPem(r.out).ok());
}

TEST(KeyInteropTest, RefusesEncryptedPrivateKeyWithoutPrompting) {
  testing::TempDir dir;
  auto r = Openssl({"genpkey", "-algorithm", "ED25519", "-aes-256-cbc", "-pass", "pass:secret",
                    "-out", dir.File("enc.pem")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_FALSE(PrivateKey::FromPem(ReadText(dir.File("enc.pem"))).ok());
}

TEST(KeyInteropTest, OpensslVerifiesOurP256Signature) {
  testing::TempDir dir;
  PrivateKey key = *PrivateKey::Generate(KeyType::kP256);
  ASSERT_TRUE(WriteText(dir.File("pub.pem"), key.Public().ToPem()));
  ASSERT_TRUE(WriteText(dir.File("msg"), "interop message"));
  ASSERT_TRUE(WriteBytes(dir.File("sig"), *key.Sign("interop message")));
  auto r = Openssl({"dgst", "-sha256", "-verify", dir.File("pub.pem"), "-signature",
                    dir.File("sig"), dir.File("msg")});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Verified OK"));
  ASSERT_TRUE(WriteText(dir.File("msg"), "interop messagE"));
  r = Openssl({"dgst", "-sha256", "-verify", dir.File("pub.pem"), "-signature", dir.File("sig"),
               dir.File("msg")});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
}

TEST(KeyInteropTest, OpensslVerifiesOurEd25519Signature) {
  testing::TempDir dir;
  PrivateKey key = *PrivateKey::Generate(KeyType::kEd25519);
  ASSERT_TRUE(WriteText(dir.File("pub.pem"), key.Public().ToPem()));
  ASSERT_TRUE(WriteText(dir.File("msg"), "interop message"));
  ASSERT_TRUE(WriteBytes(dir.File("sig"), *key.Sign("interop message")));
  auto r = Openssl({"pkeyutl", "-verify", "-pubin", "-inkey", dir.File("pub.pem"), "-rawin", "-in",
                    dir.File("msg"), "-sigfile", dir.File("sig")});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Signature Verified Successfully"));
  ASSERT_TRUE(WriteText(dir.File("msg"), "interop messagE"));
  r = Openssl({"pkeyutl", "-verify", "-pubin", "-inkey", dir.File("pub.pem"), "-rawin", "-in",
               dir.File("msg"), "-sigfile", dir.File("sig")});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
}

TEST(KeyInteropTest, WeVerifyOpensslSignatures) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteText(dir.File("msg"), "signed by openssl"));
  // P-256 with ECDSA-SHA256 (DER).
  auto r = Openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                    dir.File("ec.pem")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Openssl({"dgst", "-sha256", "-sign", dir.File("ec.pem"), "-out", dir.File("ec.sig"),
               dir.File("msg")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  PublicKey ec = PrivateKey::FromPem(ReadText(dir.File("ec.pem")))->Public();
  Bytes ec_sig = ToBytes(ReadText(dir.File("ec.sig")));
  EXPECT_TRUE(ec.Verify("signed by openssl", ec_sig).ok());
  EXPECT_FALSE(ec.Verify("signed by openssL", ec_sig).ok());
  // Ed25519.
  r = Openssl({"genpkey", "-algorithm", "ED25519", "-out", dir.File("ed.pem")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Openssl({"pkeyutl", "-sign", "-inkey", dir.File("ed.pem"), "-rawin", "-in", dir.File("msg"),
               "-out", dir.File("ed.sig")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  PublicKey ed = PrivateKey::FromPem(ReadText(dir.File("ed.pem")))->Public();
  Bytes ed_sig = ToBytes(ReadText(dir.File("ed.sig")));
  EXPECT_TRUE(ed.Verify("signed by openssl", ed_sig).ok());
  EXPECT_FALSE(ed.Verify("signed by openssL", ed_sig).ok());
}

}  // namespace
}  // namespace bulwark::crypto
