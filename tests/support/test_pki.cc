// Runs openssl genpkey/req/x509 for each certificate of the test PKI.
#include "tests/support/test_pki.h"

#include <fstream>

#include "core/files.h"
#include "core/status.h"
#include "crypto/key.h"
#include "gtest/gtest.h"
#include "tests/support/run_command.h"

namespace bulwark::testing {
namespace {

constexpr char kExtensions[] = R"([req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ca_td]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
subjectAltName = URI:spiffe://example.org
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = URI:spiffe://example.org/authority,DNS:localhost,IP:127.0.0.1
[server_dns_only]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = URI:spiffe://example.org/authority,DNS:localhost
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://example.org/svc/a
[svc_a]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = URI:spiffe://example.org/svc/a
[svc_b]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = URI:spiffe://example.org/svc/b
[foreign_td]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://other.org/svc/a
[two_ids]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://example.org/svc/a,URI:spiffe://example.org/svc/b
)";

}  // namespace

TestPki::TestPki() {
  std::ofstream(dir_.File("ext.cnf")) << kExtensions;
  MakeRoot("root");
  MakeRoot("other_root");
  MakeRoot("td_root", "ca_td");
  MakeLeaf("td_authority", "td_root", "server");
  MakeLeaf("server", "root", "server");
  MakeLeaf("server_dns_only", "root", "server_dns_only");
  MakeLeaf("client", "root", "client");
  MakeLeaf("stranger", "other_root", "client");
  MakeLeaf("svc_a", "root", "svc_a");
  MakeLeaf("svc_b", "root", "svc_b");
  MakeLeaf("foreign_td", "root", "foreign_td");
  MakeLeaf("two_ids", "root", "two_ids");
}

crypto::Certificate TestPki::Cert(const std::string& name) const {
  absl::StatusOr<std::string> pem = core::ReadFile(Path(name));
  BULWARK_CHECK(pem.ok());
  absl::StatusOr<crypto::Certificate> cert = crypto::Certificate::FromPem(*pem);
  BULWARK_CHECK(cert.ok());
  return *std::move(cert);
}

tls::Credentials TestPki::Credentials(const std::string& name) const {
  absl::StatusOr<std::string> pem = core::ReadFile(KeyPath(name));
  BULWARK_CHECK(pem.ok());
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::FromPem(*pem);
  BULWARK_CHECK(key.ok());
  return tls::Credentials{{Cert(name)}, *std::move(key)};
}

void TestPki::Run(const std::vector<std::string>& argv) {
  CommandResult r = RunCommand(argv);
  if (r.exit_code != 0) {
    ADD_FAILURE() << argv[0] << " " << argv[1] << " failed: " << r.err;
    ok_ = false;
  }
}

void TestPki::MakeKey(const std::string& name) {
  Run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
       KeyPath(name)});
}

void TestPki::MakeRoot(const std::string& name, const std::string& ext) {
  MakeKey(name);
  Run({"openssl", "req", "-x509", "-new", "-key", KeyPath(name), "-subj", "/CN=" + name, "-days",
       "2", "-config", dir_.File("ext.cnf"), "-extensions", ext, "-out", Path(name)});
}

void TestPki::MakeLeaf(const std::string& name, const std::string& issuer, const std::string& ext) {
  MakeKey(name);
  Run({"openssl", "req", "-new", "-key", KeyPath(name), "-subj", "/CN=" + name, "-config",
       dir_.File("ext.cnf"), "-out", dir_.File(name + ".csr")});
  Run({"openssl", "x509", "-req", "-in", dir_.File(name + ".csr"), "-CA", Path(issuer), "-CAkey",
       KeyPath(issuer), "-set_serial", "0x" + std::to_string(++serial_), "-days", "2", "-extfile",
       dir_.File("ext.cnf"), "-extensions", ext, "-out", Path(name)});
}

}  // namespace bulwark::testing
