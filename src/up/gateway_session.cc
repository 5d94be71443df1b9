#include "up/gateway_session.h"

#include <filesystem>
#include <optional>

#include "authority/oauth/oidc_provider.h"
#include "authority/oauth/token_keys.h"
#include "authority/service.h"
#include "core/files.h"
#include "core/status.h"
#include "crypto/bytes.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "fmt/format.h"

namespace bulwark::up {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kCookieKeyBytes = 32;
constexpr const char* kActor = "bulwark up";

bool IsFile(const std::string& path) {
  std::error_code error;
  return fs::is_regular_file(path, error);
}

// A secret or key file as people write them: without the trailing newline of `echo` or `>`.
absl::StatusOr<std::string> ReadTrimmed(const std::string& path) {
  BULWARK_ASSIGN_OR_RETURN(std::string text, core::ReadSecretFile(path));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

// The client `id`, nullopt when it is not registered.
absl::StatusOr<std::optional<authority::OidcClientRecord>> FindClient(authority::Store& store,
                                                                      const std::string& id) {
  absl::StatusOr<authority::OidcClientRecord> record = store.FindOidcClient(id);
  if (record.status().code() == absl::StatusCode::kNotFound) {
    return std::nullopt;
  }
  BULWARK_RETURN_IF_ERROR(record.status());
  return std::optional<authority::OidcClientRecord>(*std::move(record));
}

// The client as up registers it for `mesh`'s gateway.
authority::oauth::NewOidcClient WantedClient(const mesh::GatewayConfig& gateway) {
  std::string url = gateway.PublicUrl();
  return {.id = gateway.session->client_id,
          .redirect_uris = {url + "/_bulwark/callback"},
          .post_logout_redirect_uris = {url + "/"},
          .is_public = false,
          .scopes = gateway.session->scopes};
}

bool Matches(const authority::OidcClientRecord& record,
             const authority::oauth::NewOidcClient& wanted, const std::string& secret) {
  return !record.is_public && record.secret_hash == crypto::Sha256(secret) &&
         record.redirect_uris == wanted.redirect_uris &&
         record.post_logout_redirect_uris == wanted.post_logout_redirect_uris &&
         record.scopes == wanted.scopes;
}

// Registers `wanted` afresh (removing an earlier registration) and returns its secret.
absl::StatusOr<std::string> Register(authority::OpenAuthority& opened,
                                     const authority::oauth::NewOidcClient& wanted, bool exists) {
  authority::AuthorityService service(*opened.store, *opened.ca, core::SystemClock(), {});
  BULWARK_ASSIGN_OR_RETURN(
      authority::oauth::TokenKeysPtr keys,
      authority::oauth::TokenKeys::Load(*opened.store, opened.kek, core::SystemClock(), {}));
  authority::oauth::OidcProvider provider(service, *keys, {});
  if (exists) {
    BULWARK_RETURN_IF_ERROR(provider.RemoveClient(wanted.id, kActor));
  }
  BULWARK_ASSIGN_OR_RETURN(authority::oauth::RegisteredOidcClient client,
                           provider.AddClient(wanted, kActor));
  return client.secret;
}

// The user's own secret: it must be the registered client's, which up leaves alone.
absl::Status CheckUserSecret(const std::string& path, const std::string& secret,
                             const std::optional<authority::OidcClientRecord>& record,
                             const authority::oauth::NewOidcClient& wanted,
                             const StateLayout& layout) {
  std::string fix = fmt::format(
      "register it with `bulwark authority client add {} --redirect-uri {} "
      "--post-logout-redirect-uri {}` and put the secret it prints in {}, or remove {} and "
      "bulwark up registers the client itself",
      wanted.id, wanted.redirect_uris[0], wanted.post_logout_redirect_uris[0], path, path);
  if (!record.has_value()) {
    return absl::FailedPreconditionError(fmt::format(
        "gateway.session.client_secret_file {} exists, so bulwark up uses it as the secret of the "
        "gateway's client {}, but the authority in {} has no client {}: {}",
        path, wanted.id, layout.authority_dir, wanted.id, fix));
  }
  if (record->secret_hash != crypto::Sha256(secret)) {
    return absl::FailedPreconditionError(fmt::format(
        "gateway.session.client_secret_file {} is not the secret of client {} at the authority "
        "in {}: {}",
        path, wanted.id, layout.authority_dir, fix));
  }
  return absl::OkStatus();
}

// The cookie key: the user's key_file if it is there, else up's own (made once, then reused).
absl::StatusOr<bool> PrepareKey(const mesh::SessionConfig& session, const StateLayout& layout,
                                const fs::path& base) {
  std::string user_key =
      session.key_file.empty() ? "" : (base / session.key_file).lexically_normal().string();
  std::string source = !user_key.empty() && IsFile(user_key)  ? user_key
                       : IsFile(layout.gateway_session_key()) ? layout.gateway_session_key()
                                                              : "";
  if (source.empty()) {
    crypto::Bytes key = crypto::RandomBytes(kCookieKeyBytes);
    BULWARK_RETURN_IF_ERROR(core::WriteFileAtomic(
        layout.gateway_session_key(),
        std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), 0600));
    return true;
  }
  BULWARK_ASSIGN_OR_RETURN(std::string key, core::ReadSecretFile(source));
  if (key.size() != kCookieKeyBytes) {
    std::string text = key;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();
    }
    absl::StatusOr<crypto::Bytes> decoded = crypto::Base64UrlDecode(text);
    if (!decoded.ok() || decoded->size() != kCookieKeyBytes) {
      return absl::InvalidArgumentError(fmt::format(
          "gateway.session.key_file {}: must hold {} bytes, raw or base64url (it has {} bytes)",
          source, kCookieKeyBytes, key.size()));
    }
  }
  if (source != layout.gateway_session_key()) {
    BULWARK_RETURN_IF_ERROR(core::WriteFileAtomic(layout.gateway_session_key(), key, 0600));
  }
  return false;
}

}  // namespace

absl::StatusOr<PreparedSession> PrepareGatewaySession(const mesh::MeshConfig& mesh,
                                                      const StateLayout& layout,
                                                      authority::OpenAuthority& authority,
                                                      const std::string& mesh_path) {
  const mesh::GatewayConfig& gateway = *mesh.gateway;
  const mesh::SessionConfig& session = *gateway.session;
  fs::path base = fs::absolute(fs::path(mesh_path).parent_path());
  authority::oauth::NewOidcClient wanted = WantedClient(gateway);
  PreparedSession out{.client_id = wanted.id, .redirect_uri = wanted.redirect_uris[0]};
  std::error_code error;
  fs::create_directories(fs::path(layout.gateway_client_secret()).parent_path(), error);
  if (error) {
    return absl::UnavailableError(fmt::format("cannot create the folder of {}: {}",
                                              layout.gateway_client_secret(), error.message()));
  }
  BULWARK_ASSIGN_OR_RETURN(std::optional<authority::OidcClientRecord> record,
                           FindClient(*authority.store, wanted.id));
  std::string user_secret = (base / session.client_secret_file).lexically_normal().string();
  std::string secret;
  if (IsFile(user_secret)) {
    BULWARK_ASSIGN_OR_RETURN(secret, ReadTrimmed(user_secret));
    BULWARK_RETURN_IF_ERROR(CheckUserSecret(user_secret, secret, record, wanted, layout));
    out.secret_source = user_secret;
  } else {
    out.secret_source = layout.gateway_client_secret();
    if (IsFile(out.secret_source)) {
      BULWARK_ASSIGN_OR_RETURN(secret, ReadTrimmed(out.secret_source));
    }
    if (!record.has_value() || !Matches(*record, wanted, secret)) {
      BULWARK_ASSIGN_OR_RETURN(secret, Register(authority, wanted, record.has_value()));
      out.registered = true;
    }
  }
  BULWARK_RETURN_IF_ERROR(core::WriteFileAtomic(layout.gateway_client_secret(), secret, 0600));
  BULWARK_ASSIGN_OR_RETURN(out.key_created, PrepareKey(session, layout, base));
  return out;
}

}  // namespace bulwark::up
