#include "cli/admin_session.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>

#include "authority/data_dir.h"
#include "authority/service.h"
#include "cli/commands.h"
#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"

namespace bulwark::cli {
namespace {

// Returns the login name of this process's user, reduced to SPIFFE path characters.
std::string AdminName() {
  const passwd* pw = ::getpwuid(::getuid());
  std::string name = pw != nullptr ? pw->pw_name : "cli";
  for (char& c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    if (!ok) {
      c = '_';
    }
  }
  return name.empty() || name == "." || name == ".." ? "cli" : name;
}

absl::StatusOr<std::string> EndpointUrl(const std::string& data_dir) {
  std::string path = authority::DataDirLayout{data_dir}.endpoint();
  absl::StatusOr<std::string> text = core::ReadFile(path, 4096);
  if (!text.ok()) {
    return absl::FailedPreconditionError(fmt::format(
        "cannot tell where the authority listens ({} is missing): is 'bulwark authority serve' "
        "running? Or pass --authority URL",
        path));
  }
  std::string url = *text;
  while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) {
    url.pop_back();
  }
  return url;
}

}  // namespace

absl::StatusOr<AdminSession> OpenAdminSession(const std::string& data_dir,
                                              const std::string& authority_url) {
  std::string url = authority_url;
  if (url.empty()) {
    BULWARK_ASSIGN_OR_RETURN(url, EndpointUrl(data_dir));
  }
  BULWARK_ASSIGN_OR_RETURN(
      authority::OpenAuthority opened,
      authority::OpenDataDir(data_dir, core::SystemClock(), authority::CaOptions{}));
  authority::AuthorityService service(*opened.store, *opened.ca, core::SystemClock(), {});
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                           crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  BULWARK_ASSIGN_OR_RETURN(
      identity::SpiffeId id,
      identity::SpiffeId::FromParts(opened.ca->trust_domain(), "/admin/" + AdminName()));
  BULWARK_ASSIGN_OR_RETURN(authority::IssuedSvid issued,
                           service.IssueDirect(key.Public(), id, kAdminSvidTtl, "admin"));
  BULWARK_ASSIGN_OR_RETURN(identity::AuthorityClient client,
                           identity::AuthorityClient::Create(url, opened.ca->Roots()));
  return AdminSession{std::move(client), tls::Credentials{issued.svid.chain, std::move(key)},
                      id.str()};
}

absl::StatusOr<nlohmann::json> AdminRequest(const std::string& data_dir,
                                            const std::string& authority_url,
                                            const std::string& method, const std::string& path,
                                            const nlohmann::json& body) {
  BULWARK_ASSIGN_OR_RETURN(AdminSession session, OpenAdminSession(data_dir, authority_url));
  return session.client.CallJson(method, path, body, &session.credentials,
                                 std::chrono::seconds(30));
}

int AdminCall(const std::string& data_dir, const std::string& authority_url,
              const std::string& method, const std::string& path, const nlohmann::json& body) {
  absl::StatusOr<nlohmann::json> answer = AdminRequest(data_dir, authority_url, method, path, body);
  if (!answer.ok()) {
    return Fail(std::string(answer.status().message()));
  }
  std::printf("%s\n", answer->dump(2).c_str());
  return 0;
}

}  // namespace bulwark::cli
