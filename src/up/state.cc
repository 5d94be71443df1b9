#include "up/state.h"

#include <unistd.h>

#include <filesystem>

#include "authority/data_dir.h"
#include "core/files.h"
#include "core/status.h"
#include "crypto/key.h"
#include "fmt/format.h"
#include "identity/spiffe_id.h"

namespace bulwark::up {
namespace {

namespace fs = std::filesystem;

// The gateway's public certificate lives as long as a signing CA allows (at most its rest).
constexpr core::Seconds kGatewayCertTtl = std::chrono::hours(24 * 7);

absl::Status MakeDir(const std::string& dir, fs::perms perms) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (!error) {
    fs::permissions(dir, perms, error);
  }
  if (error) {
    return absl::UnavailableError(fmt::format("cannot create {}: {}", dir, error.message()));
  }
  return absl::OkStatus();
}

// Gives `path` (and, for a directory, everything under it) to `uid`:`gid`.
absl::Status Chown(const std::string& path, uid_t uid, gid_t gid) {
  auto one = [uid, gid](const fs::path& p) -> absl::Status {
    if (lchown(p.c_str(), uid, gid) != 0) {
      return absl::UnavailableError(fmt::format("chown {}: {}", p.string(), std::strerror(errno)));
    }
    return absl::OkStatus();
  };
  BULWARK_RETURN_IF_ERROR(one(path));
  std::error_code error;
  if (fs::is_directory(path, error)) {
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(path, error)) {
      BULWARK_RETURN_IF_ERROR(one(entry.path()));
    }
  }
  return absl::OkStatus();
}

absl::Status IssueGatewayCertificate(const mesh::MeshConfig& mesh, const StateLayout& layout,
                                     authority::CertificateAuthority& ca) {
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                           crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId id,
                           identity::SpiffeId::FromParts(mesh.trust_domain, "/gateway"));
  std::vector<std::string> dns = {"localhost"};
  std::vector<std::string> ips = {"127.0.0.1", "::1"};
  const mesh::HostPort& listen = mesh.gateway->listen;
  bool literal = listen.host.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos;
  if (!listen.IsWildcard() && listen.host != "localhost" && listen.host != "127.0.0.1") {
    (literal ? ips : dns).push_back(listen.host);
  }
  BULWARK_ASSIGN_OR_RETURN(authority::SignedSvid signed_cert,
                           ca.Sign(key.Public(), id, kGatewayCertTtl, dns, ips));
  std::string chain;
  for (const crypto::Certificate& cert : signed_cert.chain) {
    chain += cert.ToPem();
  }
  BULWARK_RETURN_IF_ERROR(MakeDir(fs::path(layout.gateway_cert()).parent_path(), fs::perms(0755)));
  BULWARK_RETURN_IF_ERROR(core::WriteFileAtomic(layout.gateway_cert(), chain, 0644));
  return core::WriteFileAtomic(layout.gateway_key(), key.ToPem(), 0600);
}

// Copies gateway.tls (relative to mesh.yaml's folder) into the state directory, where the
// gateway's uid may read the key.
absl::Status CopyGatewayTls(const mesh::TlsFiles& tls, const std::string& mesh_path,
                            const StateLayout& layout) {
  fs::path base = fs::path(mesh_path).parent_path();
  BULWARK_ASSIGN_OR_RETURN(std::string cert, core::ReadFile((base / tls.cert).string()));
  BULWARK_ASSIGN_OR_RETURN(std::string key, core::ReadFile((base / tls.key).string()));
  BULWARK_RETURN_IF_ERROR(MakeDir(fs::path(layout.gateway_cert()).parent_path(), fs::perms(0755)));
  BULWARK_RETURN_IF_ERROR(core::WriteFileAtomic(layout.gateway_cert(), cert, 0644));
  return core::WriteFileAtomic(layout.gateway_key(), key, 0600);
}

}  // namespace

absl::StatusOr<PreparedState> PrepareState(const mesh::MeshConfig& mesh, const Plan& plan,
                                           std::string_view mesh_text,
                                           const std::string& mesh_path) {
  const StateLayout& layout = plan.layout;
  BULWARK_RETURN_IF_ERROR(MakeDir(layout.dir, fs::perms(0755)));
  BULWARK_RETURN_IF_ERROR(MakeDir(layout.logs(), fs::perms(0750)));
  PreparedState state;
  authority::DataDirLayout data{layout.authority_dir};
  std::error_code error;
  std::optional<authority::OpenAuthority> opened;
  if (!fs::exists(data.kek(), error)) {
    BULWARK_ASSIGN_OR_RETURN(opened,
                             authority::InitializeDataDir(layout.authority_dir, mesh.trust_domain,
                                                          core::SystemClock(), {}));
    state.initialised = true;
  } else {
    BULWARK_ASSIGN_OR_RETURN(opened,
                             authority::OpenDataDir(layout.authority_dir, core::SystemClock(), {}));
  }
  if (opened->ca->trust_domain() != mesh.trust_domain) {
    return absl::FailedPreconditionError(fmt::format(
        "the authority in {} is for trust domain {}, {} says {}; use another --state-dir",
        layout.authority_dir, opened->ca->trust_domain(), mesh_path, mesh.trust_domain));
  }
  state.root_serial = opened->ca->Roots().front().SerialHex();
  BULWARK_ASSIGN_OR_RETURN(std::string bundle, core::ReadFile(data.bundle()));
  BULWARK_RETURN_IF_ERROR(core::WriteFileAtomic(layout.bundle(), bundle, 0644));
  if (plan.issue_gateway_tls) {
    BULWARK_RETURN_IF_ERROR(IssueGatewayCertificate(mesh, layout, *opened->ca));
  } else if (mesh.gateway.has_value()) {
    BULWARK_RETURN_IF_ERROR(CopyGatewayTls(*mesh.gateway->tls, mesh_path, layout));
  }
  if (mesh.gateway.has_value() && mesh.gateway->session.has_value()) {
    BULWARK_ASSIGN_OR_RETURN(state.session,
                             PrepareGatewaySession(mesh, layout, *opened, mesh_path));
  }
  opened.reset();  // closes the store before the authority process opens it
  BULWARK_ASSIGN_OR_RETURN(std::string resolved, ResolveMeshYaml(mesh_text, plan, mesh_path));
  BULWARK_RETURN_IF_ERROR(core::WriteFileAtomic(layout.mesh(), resolved, 0644));
  // The resolved file must say what the original says: parse it as every process will.
  BULWARK_RETURN_IF_ERROR(mesh::LoadMeshConfig(layout.mesh()).status());
  for (const ProcessSpec& process : plan.processes) {
    if (process.kind == ProcessKind::kAuthority) {
      BULWARK_RETURN_IF_ERROR(Chown(layout.authority_dir, process.uid, process.gid));
    }
    if (process.kind == ProcessKind::kGateway) {
      BULWARK_RETURN_IF_ERROR(Chown(layout.gateway_key(), process.uid, process.gid));
      if (state.session.has_value()) {
        BULWARK_RETURN_IF_ERROR(Chown(layout.gateway_client_secret(), process.uid, process.gid));
        BULWARK_RETURN_IF_ERROR(Chown(layout.gateway_session_key(), process.uid, process.gid));
      }
    }
  }
  return state;
}

}  // namespace bulwark::up
