#include "authority/service.h"

#include <gtest/gtest.h>

#include "authority/store/sqlite_store.h"
#include "core/files.h"
#include "crypto/csr.h"
#include "crypto/random.h"
#include "tests/support/fake_clock.h"
#include "tests/support/run_command.h"
#include "tests/support/temp_dir.h"

namespace bulwark::authority {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kId = "spiffe://example.org/svc/api";

std::string Csr(const crypto::PrivateKey& key, std::string_view uri = {}) {
  return crypto::CertificateRequest::Create(key, "w", uri).value().ToPem();
}

crypto::PrivateKey NewKey() { return crypto::PrivateKey::Generate(crypto::KeyType::kP256).value(); }

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(OpenSqliteStore(dir_.File("s.db")).value());
    ca_ = std::move(
        CertificateAuthority::Initialize(*store_, kek_, "example.org", clock_, {}).value());
    service_ = std::make_unique<AuthorityService>(*store_, *ca_, clock_, ServiceOptions{});
  }
  std::string Token(std::optional<seconds> ttl = std::nullopt, const char* id = kId) {
    auto token = service_->CreateJoinToken("test", id, ttl);
    EXPECT_TRUE(token.ok()) << token.status();
    return token->token;
  }
  std::size_t IssuedCount() { return store_->ListIssued(std::nullopt)->size(); }
  // Returns a CSR made by the openssl CLI with `args` after "openssl req -new -nodes".
  std::string OpensslCsr(std::vector<std::string> args) {
    std::vector<std::string> argv = {"openssl", "req",
                                     "-new",    "-nodes",
                                     "-subj",   "/CN=x",
                                     "-keyout", dir_.File("k.pem"),
                                     "-out",    dir_.File("r.pem")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = testing::RunCommand(argv);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return core::ReadFile(dir_.File("r.pem")).value();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{std::chrono::system_clock::now()};
  crypto::Bytes kek_ = crypto::RandomBytes(32);
  StorePtr store_;
  std::unique_ptr<CertificateAuthority> ca_;
  std::unique_ptr<AuthorityService> service_;
};

TEST_F(ServiceTest, JoinTokenIssuesOnceForItsBoundId) {
  std::string token = Token();
  EXPECT_TRUE(token.starts_with(kJoinTokenPrefix));
  EXPECT_GE(token.size(), kJoinTokenPrefix.size() + 43);  // 256 bits in base64url
  auto issued = service_->IssueWithJoinToken(token, Csr(NewKey()), "");
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->svid.chain[0].UriSans(), std::vector<std::string>{kId});
  auto again = service_->IssueWithJoinToken(token, Csr(NewKey()), "");
  EXPECT_TRUE(absl::IsUnauthenticated(again.status()));
  EXPECT_NE(again.status().message().find("already been used"), absl::string_view::npos);
  EXPECT_EQ(IssuedCount(), 1u);
}

TEST_F(ServiceTest, RefusesBadTokensAndIssuesNothing) {
  EXPECT_TRUE(absl::IsUnauthenticated(
      service_->IssueWithJoinToken("bwjt_nope", Csr(NewKey()), "").status()));
  std::string short_lived = Token(seconds(5));
  clock_.Advance(seconds(6));
  auto expired = service_->IssueWithJoinToken(short_lived, Csr(NewKey()), "");
  EXPECT_NE(expired.status().message().find("expired"), absl::string_view::npos);
  std::string token = Token();
  auto other = service_->IssueWithJoinToken(token, Csr(NewKey()), "spiffe://example.org/svc/x");
  EXPECT_TRUE(absl::IsPermissionDenied(other.status())) << other.status();
  auto san = service_->IssueWithJoinToken(token, Csr(NewKey(), "spiffe://example.org/svc/x"), "");
  EXPECT_TRUE(absl::IsInvalidArgument(san.status())) << san.status();
  EXPECT_EQ(IssuedCount(), 0u);
  // Refusals before the consume leave the token usable.
  EXPECT_TRUE(service_->IssueWithJoinToken(token, Csr(NewKey(), kId), kId).ok());
}

TEST_F(ServiceTest, RefusesBadCsrsWithClearReasons) {
  std::string token = Token();
  struct Case {
    std::string csr;
    const char* reason;
  } cases[] = {
      {"not a csr", "malformed CSR"},
      {OpensslCsr({"-newkey", "rsa:1024"}), "RSA"},
      {OpensslCsr({"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-addext",
                   "basicConstraints=critical,CA:TRUE"}),
       "CA"},
      {OpensslCsr({"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"}), "P-256"},
  };
  for (const Case& c : cases) {
    auto issued = service_->IssueWithJoinToken(token, c.csr, "");
    ASSERT_FALSE(issued.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(issued.status())) << issued.status();
    EXPECT_NE(issued.status().message().find(c.reason), absl::string_view::npos) << issued.status();
  }
  EXPECT_EQ(IssuedCount(), 0u);
}

TEST_F(ServiceTest, RenewalKeepsTheIdNeedsANewKeyAndStopsAtRevocation) {
  crypto::PrivateKey key = NewKey();
  auto first = service_->IssueWithJoinToken(Token(), Csr(key), "");
  ASSERT_TRUE(first.ok());
  const crypto::Certificate& current = first->svid.chain[0];
  EXPECT_TRUE(absl::IsInvalidArgument(service_->Renew(current, Csr(key)).status()));
  auto renewed = service_->Renew(current, Csr(NewKey()));
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(renewed->svid.spiffe_id, kId);
  EXPECT_NE(renewed->serial, first->serial);
  ASSERT_TRUE(service_->Revoke("test", first->serial, "").ok());
  auto refused = service_->Renew(current, Csr(NewKey()));
  EXPECT_TRUE(absl::IsUnauthenticated(refused.status()));
  EXPECT_NE(refused.status().message().find("revoked"), absl::string_view::npos);
  // Revoking by SPIFFE ID takes every unexpired SVID of the ID, including the renewed one.
  auto by_id = service_->Revoke("test", "", kId);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->size(), 1u);
  EXPECT_TRUE(*store_->IsRevoked(renewed->serial));
}

TEST_F(ServiceTest, AdminNeedsAnAdminIdentity) {
  EXPECT_TRUE(absl::IsUnauthenticated(service_->AuthenticateAdmin(std::nullopt).status()));
  auto workload = service_->IssueWithJoinToken(Token(), Csr(NewKey()), "");
  ASSERT_TRUE(workload.ok());
  EXPECT_TRUE(
      absl::IsPermissionDenied(service_->AuthenticateAdmin(workload->svid.chain[0]).status()));
  auto admin_id = identity::SpiffeId::Parse("spiffe://example.org/admin/alice").value();
  auto admin = service_->IssueDirect(NewKey().Public(), admin_id, minutes(5), "admin");
  ASSERT_TRUE(admin.ok());
  EXPECT_TRUE(service_->AuthenticateAdmin(admin->svid.chain[0]).ok());
  clock_.Advance(minutes(6));
  EXPECT_FALSE(service_->AuthenticateAdmin(admin->svid.chain[0]).ok());  // expired
}

TEST_F(ServiceTest, JoinTokensAreOnlyForWorkloadsOfThisTrustDomain) {
  EXPECT_FALSE(service_->CreateJoinToken("t", "spiffe://other.org/svc/a", std::nullopt).ok());
  EXPECT_FALSE(service_->CreateJoinToken("t", "spiffe://example.org/admin/x", std::nullopt).ok());
  EXPECT_FALSE(service_->CreateJoinToken("t", kId, seconds(8 * 86400)).ok());
  EXPECT_FALSE(service_->CreateJoinToken("t", "not-an-id", std::nullopt).ok());
}

}  // namespace
}  // namespace bulwark::authority

namespace bulwark::authority {
namespace {

TEST(NormalizeSerialTest, AcceptsTheFormsPeoplePaste) {
  EXPECT_EQ(*NormalizeSerial("622C92488323E1C75D400BABE7B339C3"),
            "622c92488323e1c75d400babe7b339c3");
  EXPECT_EQ(*NormalizeSerial("00ab"), "ab");
  EXPECT_EQ(*NormalizeSerial("0xAB"), "ab");
  EXPECT_EQ(*NormalizeSerial("0a:bc"), "abc");
  EXPECT_EQ(*NormalizeSerial("0"), "0");
  EXPECT_FALSE(NormalizeSerial("xyz").ok());
  EXPECT_FALSE(NormalizeSerial("ab' OR 1=1").ok());
  EXPECT_FALSE(NormalizeSerial(std::string(41, 'a')).ok());
}

TEST_F(ServiceTest, AdminAndAuthoritySvidsCannotBeRenewed) {
  for (const char* path : {"/admin/alice", "/authority"}) {
    auto id = identity::SpiffeId::FromParts("example.org", path).value();
    auto issued = service_->IssueDirect(NewKey().Public(), id, minutes(5), "admin");
    ASSERT_TRUE(issued.ok());
    auto renewed = service_->Renew(issued->svid.chain[0], Csr(NewKey()));
    EXPECT_TRUE(absl::IsPermissionDenied(renewed.status())) << path << ": " << renewed.status();
  }
}

TEST_F(ServiceTest, GatewayCertificateIsForTheGatewayOnlyAndItsNames) {
  auto gateway = identity::SpiffeId::FromParts("example.org", "/gateway").value();
  auto svid = service_->IssueDirect(NewKey().Public(), gateway, minutes(5), "test");
  ASSERT_TRUE(svid.ok()) << svid.status();
  mesh::GatewayCertificateNames names{{"localhost"}, {"127.0.0.1"}};
  crypto::PrivateKey key = NewKey();
  auto issued = service_->IssueGatewayCertificate(svid->svid.chain[0], Csr(key), names);
  ASSERT_TRUE(issued.ok()) << issued.status();
  const crypto::Certificate& leaf = issued->svid.chain[0];
  EXPECT_EQ(leaf.DnsSans(), std::vector<std::string>{"localhost"});
  EXPECT_EQ(leaf.UriSans(), std::vector<std::string>{gateway.str()});
  EXPECT_TRUE(leaf.SubjectPublicKey()->Equals(key.Public()));
  auto life = std::chrono::duration_cast<seconds>(leaf.NotAfter() - clock_.Now());
  EXPECT_LE(std::chrono::abs(life - ServiceOptions{}.gateway_cert_ttl), seconds(1));
  EXPECT_TRUE(crypto::VerifyChain(leaf, {issued->svid.chain[1]}, ca_->Roots(), clock_.Now()).ok());

  // A service's SVID is refused, and so is a wildcard or malformed name.
  auto api = service_->IssueDirect(NewKey().Public(), identity::SpiffeId::Parse(kId).value(),
                                   minutes(5), "test");
  ASSERT_TRUE(api.ok());
  std::size_t before = IssuedCount();
  EXPECT_TRUE(absl::IsPermissionDenied(
      service_->IssueGatewayCertificate(api->svid.chain[0], Csr(NewKey()), names).status()));
  for (mesh::GatewayCertificateNames bad :
       {mesh::GatewayCertificateNames{{"*.example.org"}, {}},
        mesh::GatewayCertificateNames{{}, {"0.0.0.0"}}, mesh::GatewayCertificateNames{}}) {
    EXPECT_TRUE(absl::IsInvalidArgument(
        service_->IssueGatewayCertificate(svid->svid.chain[0], Csr(NewKey()), bad).status()));
  }
  EXPECT_EQ(IssuedCount(), before);
  // A revoked gateway SVID gets nothing.
  ASSERT_TRUE(service_->Revoke("test", svid->serial, "").ok());
  EXPECT_TRUE(absl::IsUnauthenticated(
      service_->IssueGatewayCertificate(svid->svid.chain[0], Csr(NewKey()), names).status()));
}

TEST_F(ServiceTest, GatewayCertificateNamesMustBeAmongTheMeshDerivedOnes) {
  ServiceOptions options;
  options.gateway_names = mesh::GatewayCertificateNames{{"shop.example.com"}, {"127.0.0.1"}};
  AuthorityService service(*store_, *ca_, clock_, options);
  auto gateway = identity::SpiffeId::FromParts("example.org", "/gateway").value();
  auto svid = service.IssueDirect(NewKey().Public(), gateway, minutes(5), "test");
  ASSERT_TRUE(svid.ok());
  EXPECT_TRUE(service
                  .IssueGatewayCertificate(svid->svid.chain[0], Csr(NewKey()),
                                           {{"shop.example.com"}, {"127.0.0.1"}})
                  .ok());
  EXPECT_TRUE(
      service.IssueGatewayCertificate(svid->svid.chain[0], Csr(NewKey()), {{}, {"127.0.0.1"}})
          .ok());
  auto other = service.IssueGatewayCertificate(svid->svid.chain[0], Csr(NewKey()),
                                               {{"bank.example.com"}, {"127.0.0.1"}});
  EXPECT_TRUE(absl::IsInvalidArgument(other.status()));
  EXPECT_NE(other.status().message().find("bank.example.com"), std::string::npos);
  EXPECT_FALSE(
      service.IssueGatewayCertificate(svid->svid.chain[0], Csr(NewKey()), {{}, {"10.0.0.1"}}).ok());
}

}  // namespace
}  // namespace bulwark::authority
