// A test PKI made with the openssl CLI (an independent implementation) in a temporary
// directory: roots "root" and "other_root"; leaves "server" (URI spiffe://example.org/authority,
// DNS localhost, IP 127.0.0.1), "server_dns_only", "client" (svc/a, clientAuth only),
// "stranger" (svc/a under other_root), "svc_a" and "svc_b" (server and client auth),
// "foreign_td" (spiffe://other.org/svc/a) and "two_ids" (svc/a and svc/b), both under root;
// "td_root" (a bundle naming spiffe://example.org, as the authority's) with "td_authority" (as
// "server").
// Construction reports failures with ADD_FAILURE; check ok(). Not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "crypto/x509.h"
#include "tests/support/temp_dir.h"
#include "tls/context.h"

namespace bulwark::testing {

class TestPki {
 public:
  TestPki();

  // Returns the PEM file of certificate `name`.
  std::string Path(const std::string& name) const { return dir_.File(name + ".pem"); }
  // Returns the PEM file of the key of `name`.
  std::string KeyPath(const std::string& name) const { return dir_.File(name + ".key"); }
  // Returns certificate `name` (aborts if it cannot be read).
  crypto::Certificate Cert(const std::string& name) const;
  // Returns certificate `name` with its key.
  tls::Credentials Credentials(const std::string& name) const;
  bool ok() const { return ok_; }

 private:
  void Run(const std::vector<std::string>& argv);
  void MakeKey(const std::string& name);
  void MakeRoot(const std::string& name, const std::string& ext = "ca");
  void MakeLeaf(const std::string& name, const std::string& issuer, const std::string& ext);

  TempDir dir_;
  int serial_ = 4096;
  bool ok_ = true;
};

}  // namespace bulwark::testing
