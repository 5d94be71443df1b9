#include "authority/data_dir.h"

#include <sys/stat.h>

#include <filesystem>

#include "authority/store/sqlite_store.h"
#include "core/files.h"
#include "core/status.h"
#include "crypto/random.h"
#include "fmt/format.h"

namespace bulwark::authority {
namespace {

absl::Status PrepareEmptyDir(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    if (std::filesystem::exists(DataDirLayout{dir}.database(), ec)) {
      return absl::AlreadyExistsError(
          fmt::format("{} already holds an authority; refusing to overwrite it", dir));
    }
    if (!std::filesystem::is_directory(dir, ec) || !std::filesystem::is_empty(dir, ec)) {
      return absl::AlreadyExistsError(
          fmt::format("{} exists and is not an empty directory; choose a new --data-dir", dir));
    }
  } else if (!std::filesystem::create_directories(dir, ec)) {
    return absl::PermissionDeniedError(fmt::format("cannot create {}: {}", dir, ec.message()));
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(fmt::format("cannot chmod 700 {}", dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::Bytes> ReadKek(const std::string& path) {
  absl::StatusOr<std::string> text = core::ReadSecretFile(path);
  if (absl::IsNotFound(text.status())) {
    return absl::FailedPreconditionError(fmt::format(
        "{} is missing: this is not an authority data directory (run 'bulwark authority init')",
        path));
  }
  if (!text.ok()) {
    return text.status();
  }
  std::string_view hex(*text);
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) {
    hex.remove_suffix(1);
  }
  absl::StatusOr<crypto::Bytes> kek = crypto::HexDecode(hex);
  if (!kek.ok() || kek->size() != 32) {
    return absl::DataLossError(fmt::format("{} does not hold a 256-bit key in hex", path));
  }
  return kek;
}

}  // namespace

absl::StatusOr<OpenAuthority> InitializeDataDir(const std::string& dir,
                                                std::string_view trust_domain,
                                                const core::Clock& clock, CaOptions options) {
  BULWARK_RETURN_IF_ERROR(identity::ValidateTrustDomain(trust_domain));
  BULWARK_RETURN_IF_ERROR(PrepareEmptyDir(dir));
  DataDirLayout layout{dir};
  crypto::Bytes kek = crypto::RandomBytes(32);
  BULWARK_RETURN_IF_ERROR(core::WriteFileAtomic(layout.kek(), crypto::HexEncode(kek) + "\n", 0600));
  BULWARK_ASSIGN_OR_RETURN(StorePtr store, OpenSqliteStore(layout.database()));
  BULWARK_ASSIGN_OR_RETURN(
      std::unique_ptr<CertificateAuthority> ca,
      CertificateAuthority::Initialize(*store, kek, trust_domain, clock, options));
  BULWARK_RETURN_IF_ERROR(WriteBundle(layout, *ca));
  return OpenAuthority{std::move(kek), std::move(store), std::move(ca)};
}

absl::StatusOr<OpenAuthority> OpenDataDir(const std::string& dir, const core::Clock& clock,
                                          CaOptions options) {
  DataDirLayout layout{dir};
  BULWARK_ASSIGN_OR_RETURN(crypto::Bytes kek, ReadKek(layout.kek()));
  std::error_code ec;
  if (!std::filesystem::exists(layout.database(), ec)) {
    return absl::FailedPreconditionError(
        fmt::format("{} is missing: run 'bulwark authority init' first", layout.database()));
  }
  BULWARK_ASSIGN_OR_RETURN(StorePtr store, OpenSqliteStore(layout.database()));
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<CertificateAuthority> ca,
                           CertificateAuthority::Load(*store, kek, clock, options));
  return OpenAuthority{std::move(kek), std::move(store), std::move(ca)};
}

absl::Status WriteBundle(const DataDirLayout& layout, const CertificateAuthority& ca) {
  std::string pem;
  for (const crypto::Certificate& root : ca.Roots()) {
    pem += root.ToPem();
  }
  return core::WriteFileAtomic(layout.bundle(), pem, 0644);
}

}  // namespace bulwark::authority
