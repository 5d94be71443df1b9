// `bulwark identity ...`: obtain an SVID with a join token, and renew it over mTLS.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"
#include "identity/authority_client.h"
#include "identity/svid.h"

namespace bulwark::cli {
namespace {

struct IdentityFlags {
  std::string authority_url;
  std::string bundle;
  std::string token_file;
  int token_fd = -1;
  std::string out;
  std::string dir;
};

void PrintSvid(const char* verb, const identity::Svid& svid, const std::string& dir) {
  std::printf("%s %s\n", verb, svid.spiffe_id.c_str());
  std::printf("  serial   %s\n", svid.leaf().SerialHex().c_str());
  std::printf("  expires  %lld (unix seconds)\n",
              static_cast<long long>(core::ToUnixSeconds(svid.leaf().NotAfter())));
  std::printf("  files    %s/svid.pem, %s/key.pem (0600), %s/bundle.pem\n", dir.c_str(),
              dir.c_str(), dir.c_str());
}

int RunFetch(const IdentityFlags& flags) {
  absl::StatusOr<std::string> bundle_pem = core::ReadFile(flags.bundle, 256 * 1024);
  if (!bundle_pem.ok()) {
    return Fail(std::string(bundle_pem.status().message()));
  }
  auto bundle = crypto::Certificate::ChainFromPem(*bundle_pem);
  if (!bundle.ok()) {
    return Fail(fmt::format("{}: {}", flags.bundle, bundle.status().message()));
  }
  absl::StatusOr<std::string> token = ReadJoinToken(flags.token_file, flags.token_fd);
  if (!token.ok()) {
    return Fail(std::string(token.status().message()));
  }
  auto client = identity::AuthorityClient::Create(flags.authority_url, std::move(*bundle));
  if (!client.ok()) {
    return Fail(std::string(client.status().message()));
  }
  absl::StatusOr<identity::Svid> svid = client->FetchWithJoinToken(*token);
  if (!svid.ok()) {
    return Fail(std::string(svid.status().message()));
  }
  std::error_code ec;
  std::filesystem::create_directories(flags.out, ec);
  ::chmod(flags.out.c_str(), 0700);
  if (absl::Status s = identity::WriteSvidFiles(flags.out, *svid); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  PrintSvid("obtained", *svid, flags.out);
  return 0;
}

int RunRenew(const IdentityFlags& flags) {
  absl::StatusOr<identity::Svid> current = identity::ReadSvidFiles(flags.dir);
  if (!current.ok()) {
    return Fail(fmt::format("{}: {}", flags.dir, current.status().message()));
  }
  auto client = identity::AuthorityClient::Create(flags.authority_url, current->bundle);
  if (!client.ok()) {
    return Fail(std::string(client.status().message()));
  }
  absl::StatusOr<identity::Svid> renewed = client->Renew(*current);
  if (!renewed.ok()) {
    return Fail(std::string(renewed.status().message()));
  }
  if (absl::Status s = identity::WriteSvidFiles(flags.dir, *renewed); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  PrintSvid("renewed", *renewed, flags.dir);
  return 0;
}

}  // namespace

void AddIdentityCommands(CLI::App& app, Action& action) {
  static IdentityFlags flags;
  CLI::App* identity = app.add_subcommand(
      "identity", "The workload side: obtain and renew an X.509-SVID from the authority");
  identity->require_subcommand(1);

  CLI::App* fetch = identity->add_subcommand(
      "fetch", "Redeem a join token for an SVID; writes svid.pem, key.pem (0600), bundle.pem");
  fetch
      ->add_option("--authority", flags.authority_url, "Authority URL, e.g. https://127.0.0.1:7443")
      ->required();
  fetch->add_option("--bundle", flags.bundle, "Trust bundle (the authority's bundle.pem)")
      ->required();
  fetch->add_option("--token-file", flags.token_file, "File holding the join token (mode 0600)");
  fetch->add_option("--token-fd", flags.token_fd,
                    "Inherited descriptor to read the join token from");
  fetch->add_option("--out", flags.out, "Directory for the SVID files (created 0700)")->required();
  fetch->footer(
      "Example:\n  bulwark identity fetch --authority https://127.0.0.1:7443 --bundle bundle.pem "
      "\\\n"
      "      --token-file api.token --out id/api\n"
      "The key is generated here and never leaves; only a CSR is sent.");
  fetch->callback([&action] { action = [] { return RunFetch(flags); }; });

  CLI::App* renew = identity->add_subcommand(
      "renew", "Renew the SVID in a directory over mTLS with a new key, replacing the files");
  renew->add_option("--authority", flags.authority_url, "Authority URL")->required();
  renew->add_option("--dir", flags.dir, "Directory written by 'identity fetch'")->required();
  renew->footer(
      "Example:\n  bulwark identity renew --authority https://127.0.0.1:7443 --dir id/api");
  renew->callback([&action] { action = [] { return RunRenew(flags); }; });
}

}  // namespace bulwark::cli
