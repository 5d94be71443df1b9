// The authority's data directory: its layout, first-time initialisation (key-encryption key,
// store, CAs, published bundle) and opening it again. Call from one thread at start-up.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "authority/ca/ca.h"
#include "authority/store/store.h"
#include "core/clock.h"

namespace bulwark::authority {

// Files in a data directory (mode 0700).
struct DataDirLayout {
  std::string dir;
  std::string kek() const { return dir + "/kek.key"; }            // 0600: the key-encryption key
  std::string database() const { return dir + "/authority.db"; }  // 0600: SQLite store
  std::string bundle() const { return dir + "/bundle.pem"; }      // 0644: trust bundle to share
  std::string endpoint() const { return dir + "/endpoint"; }      // the URL serve listens on
};

struct OpenAuthority {
  crypto::Bytes kek;
  StorePtr store;
  std::unique_ptr<CertificateAuthority> ca;
};

// Creates a new authority in `dir` for `trust_domain`: the directory (0700) unless it exists
// empty, a fresh key-encryption key (0600), the store, the root and signing CAs, and bundle.pem.
// Refuses (AlreadyExists) when `dir` already holds an authority or anything else.
absl::StatusOr<OpenAuthority> InitializeDataDir(const std::string& dir,
                                                std::string_view trust_domain,
                                                const core::Clock& clock, CaOptions options);
// Opens the authority in `dir`. Refuses a key file readable by others, and says to run init
// when there is no authority.
absl::StatusOr<OpenAuthority> OpenDataDir(const std::string& dir, const core::Clock& clock,
                                          CaOptions options);
// Writes the trust bundle of `ca` to `dir`/bundle.pem.
absl::Status WriteBundle(const DataDirLayout& layout, const CertificateAuthority& ca);

}  // namespace bulwark::authority
