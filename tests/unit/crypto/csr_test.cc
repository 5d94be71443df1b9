#include "crypto/csr.h"

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
using test::WriteText;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kSpiffeId = "spiffe://example.org/svc/x";

class CsrTest : public ::testing::TestWithParam<KeyType> {};

INSTANTIATE_TEST_SUITE_P(AllTypes, CsrTest, ::testing::Values(KeyType::kP256, KeyType::kEd25519),
                         [](const auto& info) {
                           return info.param == KeyType::kP256 ? "P256" : "Ed25519";
                         });

TEST_P(CsrTest, CreateAndInspect) {
  PrivateKey key = *PrivateKey::Generate(GetParam());
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::Create(key, "svc-x", kSpiffeId);
  ASSERT_TRUE(csr.ok()) << csr.status();
  std::string pem = csr->ToPem();
  EXPECT_THAT(pem, HasSubstr("-----BEGIN CERTIFICATE REQUEST-----"));
  absl::StatusOr<CertificateRequest> parsed = CertificateRequest::FromPem(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->VerifySelfSignature().ok());
  absl::StatusOr<PublicKey> pub = parsed->SubjectPublicKey();
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_TRUE(pub->Equals(key.Public()));
  EXPECT_FALSE(parsed->RequestsCa());
  EXPECT_THAT(parsed->UriSans(), ElementsAre(std::string(kSpiffeId)));
}

TEST(CsrCreateTest, WithoutSanHasNoUriSans) {
  PrivateKey key = *PrivateKey::Generate(KeyType::kP256);
  CertificateRequest csr = *CertificateRequest::Create(key, "plain");
  EXPECT_TRUE(csr.UriSans().empty());
  EXPECT_TRUE(csr.VerifySelfSignature().ok());
  EXPECT_FALSE(CertificateRequest::Create(key, "x", "spiffe://bad uri").ok());
}

TEST_P(CsrTest, OpensslAcceptsOurCsr) {
  testing::TempDir dir;
  PrivateKey key = *PrivateKey::Generate(GetParam());
  CertificateRequest csr = *CertificateRequest::Create(key, "svc-x", kSpiffeId);
  ASSERT_TRUE(WriteText(dir.File("csr.pem"), csr.ToPem()));
  auto r = Openssl({"req", "-verify", "-noout", "-in", dir.File("csr.pem")});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out + r.err, HasSubstr("verify OK"));
  r = Openssl({"req", "-noout", "-text", "-in", dir.File("csr.pem")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("URI:spiffe://example.org/svc/x"));
  EXPECT_THAT(r.out, HasSubstr("CN = svc-x"));
}

// Makes a CSR with `openssl req -new` and the extra arguments; returns its PEM.
std::string OpensslCsr(const testing::TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {"req",
                                   "-new",
                                   "-nodes",
                                   "-subj",
                                   "/CN=from-openssl",
                                   "-keyout",
                                   dir.File("k.pem"),
                                   "-out",
                                   dir.File("csr.pem")};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = Openssl(args);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  return ReadText(dir.File("csr.pem"));
}

TEST(CsrInteropTest, ParsesOpensslCaRequest) {
  testing::TempDir dir;
  std::string pem = OpensslCsr(dir, {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                                     "subjectAltName=URI:spiffe://e.org/ca"});
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::FromPem(pem);
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_TRUE(csr->RequestsCa());
  EXPECT_TRUE(csr->VerifySelfSignature().ok());
  EXPECT_THAT(csr->UriSans(), ElementsAre("spiffe://e.org/ca"));
  absl::StatusOr<PublicKey> pub = csr->SubjectPublicKey();
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_TRUE(pub->Equals(PrivateKey::FromPem(ReadText(dir.File("k.pem")))->Public()));
}

TEST(CsrInteropTest, OpensslLeafRequestDoesNotRequestCa) {
  testing::TempDir dir;
  std::string pem = OpensslCsr(dir, {"-newkey", "ed25519", "-addext", "basicConstraints=CA:FALSE"});
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::FromPem(pem);
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_FALSE(csr->RequestsCa());
  EXPECT_TRUE(csr->UriSans().empty());
  EXPECT_EQ(csr->SubjectPublicKey()->type(), KeyType::kEd25519);
}

TEST(CsrInteropTest, RefusesRsa1024KeyWithAClearMessage) {
  testing::TempDir dir;
  std::string pem = OpensslCsr(dir, {"-newkey", "rsa:1024"});
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::FromPem(pem);
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_TRUE(csr->VerifySelfSignature().ok());
  absl::StatusOr<PublicKey> pub = csr->SubjectPublicKey();
  ASSERT_FALSE(pub.ok());
  EXPECT_EQ(pub.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(pub.status().message()),
              HasSubstr("RSA 1024-bit keys are not accepted; use ECDSA P-256"));
}

TEST(CsrInteropTest, RefusesP384KeyNamingTheCurve) {
  testing::TempDir dir;
  std::string pem = OpensslCsr(dir, {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"});
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::FromPem(pem);
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_THAT(std::string(csr->SubjectPublicKey().status().message()), HasSubstr("secp384r1"));
}

class CsrParseTest : public ::testing::Test {
 protected:
  std::string pem_ =
      CertificateRequest::Create(*PrivateKey::Generate(KeyType::kP256), "p")->ToPem();
};

TEST_F(CsrParseTest, AcceptsSurroundingWhitespace) {
  EXPECT_TRUE(CertificateRequest::FromPem(pem_ + "\n \t\r\n").ok());
  EXPECT_TRUE(CertificateRequest::FromPem("\n" + pem_).ok());
}

TEST_F(CsrParseTest, RefusesOversizedInput) {
  std::string big = pem_ + std::string(kMaxCsrPemBytes - pem_.size() + 1, '\n');
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::FromPem(big);
  ASSERT_FALSE(csr.ok());
  EXPECT_THAT(std::string(csr.status().message()), HasSubstr("8192"));
  EXPECT_TRUE(CertificateRequest::FromPem(big.substr(0, kMaxCsrPemBytes)).ok());
}

TEST_F(CsrParseTest, RefusesOtherPemTypes) {
  std::string renamed = pem_;
  for (std::string_view marker : {"BEGIN ", "END "}) {
    std::size_t at = renamed.find(marker);
    renamed.insert(at + marker.size(), "NEW ");
  }
  EXPECT_THAT(std::string(CertificateRequest::FromPem(renamed).status().message()),
              HasSubstr("NEW CERTIFICATE REQUEST"));
  std::string key_pem = PrivateKey::Generate(KeyType::kP256)->ToPem();
  EXPECT_FALSE(CertificateRequest::FromPem(key_pem).ok());
}

TEST_F(CsrParseTest, RefusesTrailingGarbageAndSecondBlock) {
  EXPECT_THAT(std::string(CertificateRequest::FromPem(pem_ + "x").status().message()),
              HasSubstr("trailing"));
  EXPECT_FALSE(CertificateRequest::FromPem(pem_ + pem_).ok());
}

TEST_F(CsrParseTest, RefusesGarbageTruncationAndCorruption) {
  EXPECT_FALSE(CertificateRequest::FromPem("").ok());
  EXPECT_FALSE(CertificateRequest::FromPem("garbage").ok());
  EXPECT_FALSE(CertificateRequest::FromPem(pem_.substr(0, pem_.size() / 2)).ok());
  std::string corrupt = pem_;
  corrupt[corrupt.find('\n') + 10] = '*';
  EXPECT_FALSE(CertificateRequest::FromPem(corrupt).ok());
}

TEST_F(CsrParseTest, TamperedRequestFailsSelfSignature) {
  // Flip a byte inside the subject (CN "p"): the DER still parses, the signature does not match.
  CertificateRequest csr = *CertificateRequest::FromPem(pem_);
  std::string der_b64;
  std::size_t begin = pem_.find('\n') + 1;
  std::size_t end = pem_.find("-----END");
  for (char c : pem_.substr(begin, end - begin)) {
    if (c != '\n') {
      der_b64 += c;
    }
  }
  Bytes der = *Base64Decode(der_b64);
  auto cn = std::find(der.begin() + 10, der.end(), 'p');
  ASSERT_NE(cn, der.end());
  *cn = 'q';
  std::string tampered = "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64Encode(der) +
                         "\n-----END CERTIFICATE REQUEST-----\n";
  absl::StatusOr<CertificateRequest> parsed = CertificateRequest::FromPem(tampered);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->VerifySelfSignature().ok());
  EXPECT_TRUE(csr.VerifySelfSignature().ok());
}

}  // namespace
}  // namespace bulwark::crypto
