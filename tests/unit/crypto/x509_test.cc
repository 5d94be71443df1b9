#include "crypto/x509.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "crypto/digest.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/crypto/crypto_test_util.h"

namespace bulwark::crypto {
namespace {

using test::Describe;
using test::Openssl;
using test::ReadText;
using test::WriteText;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const core::TimePoint kNow = core::FromUnixSeconds(1'800'000'000);
constexpr core::Seconds kDay(86400);

// A root -> intermediate -> leaf chain built with SignCertificate.
struct Pki {
  PrivateKey root_key;
  Certificate root;
  PrivateKey inter_key;
  Certificate inter;
  PrivateKey leaf_key;
  Certificate leaf;
};

CertificateTemplate CaTemplate(std::string cn, int path_length) {
  CertificateTemplate t;
  t.common_name = std::move(cn);
  t.organization = "Bulwark Test";
  t.not_before = kNow - kDay;
  t.not_after = kNow + 30 * kDay;
  t.is_ca = true;
  t.path_length = path_length;
  return t;
}

CertificateTemplate LeafTemplate() {
  CertificateTemplate t;
  t.uri_sans = {"spiffe://example.org/svc/x"};
  t.dns_sans = {"x.svc.example.org", "x"};
  t.ip_sans = {"127.0.0.1", "::1"};
  t.not_before = kNow - 3600 * core::Seconds(1);
  t.not_after = kNow + kDay;
  return t;
}

Pki MakePki(KeyType type) {
  PrivateKey root_key = *PrivateKey::Generate(type);
  CertificateTemplate root_template = CaTemplate("Test Root", 1);
  root_template.not_after = kNow + 365 * kDay;  // outlives the intermediate
  Certificate root = *SignCertificate(root_template, root_key.Public(), nullptr, root_key);
  PrivateKey inter_key = *PrivateKey::Generate(type);
  Certificate inter =
      *SignCertificate(CaTemplate("Test Intermediate", 0), inter_key.Public(), &root, root_key);
  PrivateKey leaf_key = *PrivateKey::Generate(type);
  Certificate leaf = *SignCertificate(LeafTemplate(), leaf_key.Public(), &inter, inter_key);
  return Pki{std::move(root_key), root, std::move(inter_key), inter, std::move(leaf_key), leaf};
}

class X509Test : public ::testing::TestWithParam<KeyType> {};

INSTANTIATE_TEST_SUITE_P(AllTypes, X509Test, ::testing::Values(KeyType::kP256, KeyType::kEd25519),
                         [](const auto& info) {
                           return info.param == KeyType::kP256 ? "P256" : "Ed25519";
                         });

TEST_P(X509Test, InspectorsReportWhatWasSigned) {
  Pki pki = MakePki(GetParam());
  EXPECT_TRUE(pki.root.IsCa());
  EXPECT_TRUE(pki.inter.IsCa());
  EXPECT_FALSE(pki.leaf.IsCa());
  EXPECT_EQ(pki.root.SubjectCommonName(), "Test Root");
  EXPECT_EQ(pki.leaf.SubjectCommonName(), "");
  EXPECT_THAT(pki.leaf.UriSans(), ElementsAre("spiffe://example.org/svc/x"));
  EXPECT_THAT(pki.leaf.DnsSans(), ElementsAre("x.svc.example.org", "x"));
  EXPECT_TRUE(pki.root.UriSans().empty());
  EXPECT_EQ(pki.leaf.NotBefore(), kNow - 3600 * core::Seconds(1));
  EXPECT_EQ(pki.leaf.NotAfter(), kNow + kDay);
  EXPECT_TRUE(pki.leaf.SubjectPublicKey()->Equals(pki.leaf_key.Public()));
  EXPECT_EQ(pki.leaf.Sha256Fingerprint(), Sha256(pki.leaf.ToDer()));
  EXPECT_NE(pki.leaf.Sha256Fingerprint(), pki.inter.Sha256Fingerprint());
}

TEST(X509SerialTest, RandomSerialIsPositive128Bits) {
  PrivateKey key = *PrivateKey::Generate(KeyType::kP256);
  std::string previous;
  for (int i = 0; i < 8; ++i) {
    Certificate cert = *SignCertificate(CaTemplate("r", -1), key.Public(), nullptr, key);
    std::string serial = cert.SerialHex();
    EXPECT_LE(serial.size(), 32u);
    EXPECT_GE(serial.size(), 20u);  // fewer than 10 leading zero bytes: vanishingly unlikely
    EXPECT_NE(serial[0], '0');
    EXPECT_NE(serial[0], '-');
    EXPECT_NE(serial, previous);
    previous = serial;
  }
}

TEST(X509SerialTest, ExplicitSerialIsUsedAndPrintedWithoutLeadingZeros) {
  PrivateKey key = *PrivateKey::Generate(KeyType::kP256);
  CertificateTemplate t = CaTemplate("r", -1);
  t.serial = {0x00, 0x0a, 0xbc};
  EXPECT_EQ(SignCertificate(t, key.Public(), nullptr, key)->SerialHex(), "abc");
  t.serial = {0x01};
  EXPECT_EQ(SignCertificate(t, key.Public(), nullptr, key)->SerialHex(), "1");
  t.serial = {0x00};
  EXPECT_FALSE(SignCertificate(t, key.Public(), nullptr, key).ok());
  t.serial = Bytes(21, 0x01);
  EXPECT_FALSE(SignCertificate(t, key.Public(), nullptr, key).ok());
}

TEST(X509SignTest, RefusesInconsistentInput) {
  PrivateKey key = *PrivateKey::Generate(KeyType::kP256);
  PrivateKey other = *PrivateKey::Generate(KeyType::kP256);
  // Self-signed with a key that is not the subject's.
  EXPECT_FALSE(SignCertificate(CaTemplate("r", -1), key.Public(), nullptr, other).ok());
  Certificate root = *SignCertificate(CaTemplate("r", -1), key.Public(), nullptr, key);
  // Issuer key does not match the issuer certificate.
  EXPECT_FALSE(SignCertificate(LeafTemplate(), other.Public(), &root, other).ok());
  // Issuer is not a CA.
  Certificate leaf = *SignCertificate(LeafTemplate(), other.Public(), &root, key);
  PrivateKey third = *PrivateKey::Generate(KeyType::kP256);
  EXPECT_THAT(
      std::string(SignCertificate(LeafTemplate(), third.Public(), &leaf, other).status().message()),
      HasSubstr("not a CA"));
  // Bad validity, bad SAN values, nothing to name the subject.
  CertificateTemplate t = LeafTemplate();
  t.not_after = t.not_before;
  EXPECT_FALSE(SignCertificate(t, other.Public(), &root, key).ok());
  t = LeafTemplate();
  t.ip_sans = {"300.1.1.1"};
  EXPECT_THAT(std::string(SignCertificate(t, other.Public(), &root, key).status().message()),
              HasSubstr("300.1.1.1"));
  t = LeafTemplate();
  t.uri_sans = {"spiffe://a b"};
  EXPECT_FALSE(SignCertificate(t, other.Public(), &root, key).ok());
  t = CertificateTemplate{};
  t.not_before = kNow;
  t.not_after = kNow + kDay;
  EXPECT_FALSE(SignCertificate(t, other.Public(), &root, key).ok());
}

TEST_P(X509Test, PemAndDerRoundTrip) {
  Pki pki = MakePki(GetParam());
  std::string pem = pki.leaf.ToPem();
  EXPECT_THAT(pem, HasSubstr("-----BEGIN CERTIFICATE-----"));
  EXPECT_EQ(Certificate::FromPem(pem)->ToDer(), pki.leaf.ToDer());
  EXPECT_EQ(Certificate::FromDer(pki.leaf.ToDer())->ToDer(), pki.leaf.ToDer());
  Bytes trailing = pki.leaf.ToDer();
  trailing.push_back(0);
  EXPECT_FALSE(Certificate::FromDer(trailing).ok());
  Certificate copy = pki.leaf;
  EXPECT_EQ(copy.ToDer(), pki.leaf.ToDer());
  copy = pki.root;
  EXPECT_EQ(copy.ToDer(), pki.root.ToDer());
}

TEST_P(X509Test, ChainFromPemParsesEveryBlockInOrder) {
  Pki pki = MakePki(GetParam());
  absl::StatusOr<std::vector<Certificate>> chain =
      Certificate::ChainFromPem(pki.leaf.ToPem() + pki.inter.ToPem() + "\n" + pki.root.ToPem());
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[0].ToDer(), pki.leaf.ToDer());
  EXPECT_EQ((*chain)[1].ToDer(), pki.inter.ToDer());
  EXPECT_EQ((*chain)[2].ToDer(), pki.root.ToDer());
}

TEST(X509ParseTest, RefusesNonCertificates) {
  EXPECT_FALSE(Certificate::FromPem("").ok());
  EXPECT_FALSE(Certificate::FromPem("garbage").ok());
  EXPECT_FALSE(Certificate::ChainFromPem("").ok());
  EXPECT_FALSE(Certificate::FromDer({0x30, 0x03, 0x02, 0x01, 0x01}).ok());
  std::string key_pem = PrivateKey::Generate(KeyType::kP256)->ToPem();
  EXPECT_FALSE(Certificate::FromPem(key_pem).ok());
  EXPECT_FALSE(Certificate::ChainFromPem(key_pem).ok());
  Pki pki = MakePki(KeyType::kP256);
  std::string pem = pki.leaf.ToPem();
  std::string broken = pki.root.ToPem() + pem.substr(0, 40) + "@@@@" + pem.substr(44);
  EXPECT_FALSE(Certificate::ChainFromPem(broken).ok());
  EXPECT_FALSE(Certificate::FromPem(pem.substr(0, pem.size() / 2)).ok());
}

TEST_P(X509Test, VerifyChainAcceptsAValidChain) {
  Pki pki = MakePki(GetParam());
  absl::Status status = VerifyChain(pki.leaf, {pki.inter}, {pki.root}, kNow);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(VerifyChain(pki.inter, {}, {pki.root}, kNow).ok());
}

TEST_P(X509Test, VerifyChainRefusesExpiredAndNotYetValid) {
  Pki pki = MakePki(GetParam());
  absl::Status expired = VerifyChain(pki.leaf, {pki.inter}, {pki.root}, kNow + 2 * kDay);
  ASSERT_FALSE(expired.ok());
  EXPECT_THAT(std::string(expired.message()), HasSubstr("expired"));
  absl::Status early = VerifyChain(pki.leaf, {pki.inter}, {pki.root}, kNow - 2 * kDay);
  ASSERT_FALSE(early.ok());
  EXPECT_THAT(std::string(early.message()), HasSubstr("not yet valid"));
  // Every certificate in the path must be valid: a leaf outliving its intermediate is refused
  // once the intermediate (valid until kNow + 30 days) has expired.
  CertificateTemplate long_lived = LeafTemplate();
  long_lived.not_after = kNow + 60 * kDay;
  Certificate leaf = *SignCertificate(long_lived, pki.leaf_key.Public(), &pki.inter, pki.inter_key);
  EXPECT_TRUE(VerifyChain(leaf, {pki.inter}, {pki.root}, kNow + 20 * kDay).ok());
  absl::Status inter_expired = VerifyChain(leaf, {pki.inter}, {pki.root}, kNow + 40 * kDay);
  ASSERT_FALSE(inter_expired.ok());
  EXPECT_THAT(std::string(inter_expired.message()), HasSubstr("depth 1"));
}

TEST_P(X509Test, VerifyChainRefusesWrongRootAndMissingIntermediate) {
  Pki pki = MakePki(GetParam());
  Pki other = MakePki(GetParam());
  absl::Status wrong_root = VerifyChain(pki.leaf, {pki.inter}, {other.root}, kNow);
  ASSERT_FALSE(wrong_root.ok());
  EXPECT_THAT(std::string(wrong_root.message()), HasSubstr("unable to get"));
  EXPECT_FALSE(VerifyChain(pki.leaf, {}, {pki.root}, kNow).ok());
  EXPECT_FALSE(VerifyChain(pki.leaf, {other.inter}, {pki.root}, kNow).ok());
  EXPECT_FALSE(VerifyChain(pki.leaf, {pki.inter}, {}, kNow).ok());
  // An intermediate is not a trust anchor.
  EXPECT_FALSE(VerifyChain(pki.leaf, {}, {pki.inter}, kNow).ok());
  EXPECT_TRUE(VerifyChain(pki.leaf, {pki.inter}, {other.root, pki.root}, kNow).ok());
}

TEST(X509VerifyTest, PathLengthIsEnforced) {
  Pki pki = MakePki(KeyType::kP256);  // intermediate has pathlen:0
  PrivateKey sub_key = *PrivateKey::Generate(KeyType::kP256);
  Certificate sub =
      *SignCertificate(CaTemplate("Sub CA", -1), sub_key.Public(), &pki.inter, pki.inter_key);
  PrivateKey leaf_key = *PrivateKey::Generate(KeyType::kP256);
  Certificate leaf = *SignCertificate(LeafTemplate(), leaf_key.Public(), &sub, sub_key);
  absl::Status status = VerifyChain(leaf, {sub, pki.inter}, {pki.root}, kNow);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("path length"));
}

// ----- Interop with the openssl CLI

// Writes the chain's PEM files into `dir`.
void WritePki(const testing::TempDir& dir, const Pki& pki) {
  ASSERT_TRUE(WriteText(dir.File("root.pem"), pki.root.ToPem()));
  ASSERT_TRUE(WriteText(dir.File("inter.pem"), pki.inter.ToPem()));
  ASSERT_TRUE(WriteText(dir.File("leaf.pem"), pki.leaf.ToPem()));
}

TEST_P(X509Test, OpensslVerifiesOurChain) {
  testing::TempDir dir;
  Pki pki = MakePki(GetParam());
  WritePki(dir, pki);
  const std::string at = std::to_string(core::ToUnixSeconds(kNow));
  auto r =
      Openssl({"verify", "-x509_strict", "-attime", at, "-purpose", "sslserver", "-CAfile",
               dir.File("root.pem"), "-untrusted", dir.File("inter.pem"), dir.File("leaf.pem")});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("leaf.pem: OK"));
  r = Openssl({"verify", "-attime", at, "-purpose", "sslclient", "-CAfile", dir.File("root.pem"),
               "-untrusted", dir.File("inter.pem"), dir.File("leaf.pem")});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  // And openssl refuses it when it is not valid or the intermediate is missing.
  r = Openssl({"verify", "-attime", std::to_string(core::ToUnixSeconds(kNow + 2 * kDay)), "-CAfile",
               dir.File("root.pem"), "-untrusted", dir.File("inter.pem"), dir.File("leaf.pem")});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  r = Openssl({"verify", "-attime", at, "-CAfile", dir.File("root.pem"), dir.File("leaf.pem")});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
}

TEST(X509InteropTest, OpensslSeesOurExtensions) {
  testing::TempDir dir;
  Pki pki = MakePki(KeyType::kP256);
  WritePki(dir, pki);
  auto r = Openssl({"x509", "-noout", "-in", dir.File("leaf.pem"), "-ext", "subjectAltName"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("URI:spiffe://example.org/svc/x"));
  EXPECT_THAT(r.out, HasSubstr("DNS:x.svc.example.org"));
  EXPECT_THAT(r.out, HasSubstr("IP Address:127.0.0.1"));
  EXPECT_THAT(r.out, HasSubstr("critical"));  // empty subject
  r = Openssl({"x509", "-noout", "-in", dir.File("leaf.pem"), "-ext",
               "basicConstraints,keyUsage,extendedKeyUsage,authorityKeyIdentifier"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("X509v3 Basic Constraints: critical\n    CA:FALSE"));
  EXPECT_THAT(r.out, HasSubstr("X509v3 Key Usage: critical\n    Digital Signature, Key Agreement"));
  EXPECT_THAT(r.out, HasSubstr("TLS Web Server Authentication, TLS Web Client Authentication"));
  EXPECT_THAT(r.out, HasSubstr("Authority Key Identifier"));
  r = Openssl({"x509", "-noout", "-in", dir.File("inter.pem"), "-ext",
               "basicConstraints,keyUsage,subjectKeyIdentifier"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("CA:TRUE, pathlen:0"));
  EXPECT_THAT(r.out, HasSubstr("Certificate Sign, CRL Sign"));
  EXPECT_THAT(r.out, HasSubstr("Subject Key Identifier"));
  r = Openssl({"x509", "-noout", "-in", dir.File("leaf.pem"), "-serial"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  std::string serial = pki.leaf.SerialHex();
  std::transform(serial.begin(), serial.end(), serial.begin(), ::toupper);
  EXPECT_THAT(r.out, HasSubstr(serial));
}

// Makes root (self-signed), intermediate and leaf with the openssl CLI, valid for ~1 day from now.
// `root_key_usage` false leaves out the root's keyUsage, as a bare `openssl req -x509` does.
void MakeOpensslChain(const testing::TempDir& dir, const std::string& root_name,
                      bool root_key_usage = true) {
  ASSERT_TRUE(WriteText(dir.File("ext.cnf"),
                        "[inter]\nbasicConstraints=critical,CA:TRUE,pathlen:0\n"
                        "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n"
                        "authorityKeyIdentifier=keyid:always\n"
                        "[leaf]\nbasicConstraints=critical,CA:FALSE\n"
                        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                        "subjectAltName=URI:spiffe://example.org/svc/y\n"
                        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n"));
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                       "-nodes"};
  auto run = [&](std::vector<std::string> args, const std::vector<std::string>& extra) {
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = Openssl(args);
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  };
  std::vector<std::string> root_args = {"req",     "-x509",
                                        "-days",   "2",
                                        "-subj",   "/CN=" + root_name,
                                        "-keyout", dir.File(root_name + ".key"),
                                        "-out",    dir.File(root_name + ".pem")};
  if (root_key_usage) {
    root_args.insert(root_args.end(), {"-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  }
  run(root_args, ec);
  for (std::string name : {"inter", "leaf"}) {
    run({"req", "-new", "-subj", "/CN=openssl " + name, "-keyout", dir.File(name + ".key"), "-out",
         dir.File(name + ".csr")},
        ec);
    std::string ca = name == "inter" ? root_name : "inter";
    run({"x509", "-req", "-days", "1", "-in", dir.File(name + ".csr"), "-CA", dir.File(ca + ".pem"),
         "-CAkey", dir.File(ca + ".key"), "-CAcreateserial", "-extfile", dir.File("ext.cnf"),
         "-extensions", name, "-out", dir.File(name + ".pem")},
        {});
  }
}

TEST(X509InteropTest, VerifyChainAcceptsAnOpensslChain) {
  testing::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeOpensslChain(dir, "root"));
  absl::StatusOr<std::vector<Certificate>> chain =
      Certificate::ChainFromPem(ReadText(dir.File("leaf.pem")) + ReadText(dir.File("inter.pem")));
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 2u);
  absl::StatusOr<Certificate> root = Certificate::FromPem(ReadText(dir.File("root.pem")));
  ASSERT_TRUE(root.ok()) << root.status();
  const Certificate& leaf = (*chain)[0];
  EXPECT_TRUE(root->IsCa());
  EXPECT_TRUE((*chain)[1].IsCa());
  EXPECT_FALSE(leaf.IsCa());
  EXPECT_EQ(leaf.SubjectCommonName(), "openssl leaf");
  EXPECT_THAT(leaf.UriSans(), ElementsAre("spiffe://example.org/svc/y"));
  core::TimePoint now = core::SystemClock().Now();
  absl::Status ok = VerifyChain(leaf, {(*chain)[1]}, {*root}, now);
  EXPECT_TRUE(ok.ok()) << ok;
  EXPECT_LE(leaf.NotBefore(), now);
  EXPECT_GT(leaf.NotAfter(), now);
  EXPECT_THAT(std::string(VerifyChain(leaf, {(*chain)[1]}, {*root}, now + 3 * kDay).message()),
              HasSubstr("expired"));
  EXPECT_THAT(std::string(VerifyChain(leaf, {(*chain)[1]}, {*root}, now - kDay).message()),
              HasSubstr("not yet valid"));
  // A different openssl root with the same name does not anchor the chain.
  ASSERT_NO_FATAL_FAILURE(MakeOpensslChain(dir, "other"));
  absl::StatusOr<Certificate> other = Certificate::FromPem(ReadText(dir.File("other.pem")));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(VerifyChain(leaf, {(*chain)[1]}, {*other}, now).ok());
}

TEST(X509InteropTest, StrictChecksRefuseACaWithoutKeyUsage) {
  // VerifyChain applies RFC 5280 strict checks, like `openssl verify -x509_strict`.
  testing::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeOpensslChain(dir, "root", /*root_key_usage=*/false));
  Certificate root = *Certificate::FromPem(ReadText(dir.File("root.pem")));
  Certificate inter = *Certificate::FromPem(ReadText(dir.File("inter.pem")));
  Certificate leaf = *Certificate::FromPem(ReadText(dir.File("leaf.pem")));
  absl::Status status = VerifyChain(leaf, {inter}, {root}, core::SystemClock().Now());
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("key usage"));
  auto r = Openssl({"verify", "-x509_strict", "-CAfile", dir.File("root.pem"), "-untrusted",
                    dir.File("inter.pem"), dir.File("leaf.pem")});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
}

TEST(X509InteropTest, WeIssueUnderAnOpensslRoot) {
  testing::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeOpensslChain(dir, "root"));
  Certificate root = *Certificate::FromPem(ReadText(dir.File("root.pem")));
  absl::StatusOr<PrivateKey> root_key = PrivateKey::FromPem(ReadText(dir.File("root.key")));
  ASSERT_TRUE(root_key.ok()) << root_key.status();
  PrivateKey leaf_key = *PrivateKey::Generate(KeyType::kP256);
  CertificateTemplate t = LeafTemplate();
  t.common_name = "ours";
  t.not_before = core::SystemClock().Now() - 60 * core::Seconds(1);
  t.not_after = t.not_before + kDay;
  absl::StatusOr<Certificate> leaf = SignCertificate(t, leaf_key.Public(), &root, *root_key);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  ASSERT_TRUE(WriteText(dir.File("ours.pem"), leaf->ToPem()));
  auto r =
      Openssl({"verify", "-x509_strict", "-CAfile", dir.File("root.pem"), dir.File("ours.pem")});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
}

}  // namespace
}  // namespace bulwark::crypto
