#include "up/gateway_session.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "core/files.h"
#include "crypto/digest.h"
#include "fmt/format.h"
#include "tests/support/temp_dir.h"

namespace bulwark::up {
namespace {

constexpr char kMesh[] = R"(trust_domain: dvd.example
gateway:
  listen: 127.0.0.1:8443
  session: { client_secret_file: secrets/gateway-secret, scopes: [openid, email] }
  routes:
    - { path: /, service: web, auth: [session] }
services:
  web:
    command: [python3, web.py]
    port: 9000
    allow: [{ from: gateway, paths: [/] }]
)";

unsigned Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class GatewaySessionTest : public ::testing::Test {
 protected:
  GatewaySessionTest() {
    layout_.dir = dir_.File("state");
    layout_.authority_dir = dir_.File("state/authority");
    mesh_path_ = dir_.File("mesh.yaml");
    auto opened =
        authority::InitializeDataDir(layout_.authority_dir, "dvd.example", core::SystemClock(), {});
    EXPECT_TRUE(opened.ok()) << opened.status();
    authority_.emplace(*std::move(opened));
  }

  mesh::MeshConfig Mesh(const std::string& text = kMesh) {
    absl::StatusOr<mesh::MeshConfig> mesh = mesh::ParseMeshConfig(text, mesh_path_);
    EXPECT_TRUE(mesh.ok()) << mesh.status();
    return *mesh;
  }

  absl::StatusOr<PreparedSession> Prepare(const mesh::MeshConfig& mesh) {
    return PrepareGatewaySession(mesh, layout_, *authority_, mesh_path_);
  }

  authority::OidcClientRecord Client(const std::string& id = "gateway") {
    absl::StatusOr<authority::OidcClientRecord> record = authority_->store->FindOidcClient(id);
    EXPECT_TRUE(record.ok()) << record.status();
    return record.ok() ? *record : authority::OidcClientRecord{};
  }

  std::string Read(const std::string& path) {
    absl::StatusOr<std::string> text = core::ReadFile(path);
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? *text : "";
  }

  testing::TempDir dir_;
  StateLayout layout_;
  std::string mesh_path_;
  std::optional<authority::OpenAuthority> authority_;
};

TEST_F(GatewaySessionTest, FirstRunRegistersTheClientAndWritesItsSecretAndAKey) {
  absl::StatusOr<PreparedSession> session = Prepare(Mesh());
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE(session->registered);
  EXPECT_TRUE(session->key_created);
  EXPECT_EQ(session->redirect_uri, "https://127.0.0.1:8443/_bulwark/callback");
  EXPECT_EQ(session->secret_source, layout_.gateway_client_secret());
  authority::OidcClientRecord client = Client();
  EXPECT_FALSE(client.is_public);
  EXPECT_EQ(client.redirect_uris,
            std::vector<std::string>{"https://127.0.0.1:8443/_bulwark/callback"});
  EXPECT_EQ(client.post_logout_redirect_uris, std::vector<std::string>{"https://127.0.0.1:8443/"});
  EXPECT_EQ(client.scopes, (std::vector<std::string>{"openid", "email"}));
  // The file holds the secret the store knows by its hash.
  std::string secret = Read(layout_.gateway_client_secret());
  EXPECT_GE(secret.size(), 43u);
  EXPECT_EQ(crypto::Sha256(secret), client.secret_hash);
  EXPECT_EQ(Mode(layout_.gateway_client_secret()), 0600u);
  EXPECT_EQ(Read(layout_.gateway_session_key()).size(), 32u);
  EXPECT_EQ(Mode(layout_.gateway_session_key()), 0600u);
}

TEST_F(GatewaySessionTest, RerunReusesTheClientSecretAndKey) {
  ASSERT_TRUE(Prepare(Mesh()).ok());
  std::string secret = Read(layout_.gateway_client_secret());
  std::string key = Read(layout_.gateway_session_key());
  core::TimePoint created = Client().created_at;
  absl::StatusOr<PreparedSession> again = Prepare(Mesh());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->registered);
  EXPECT_FALSE(again->key_created);
  EXPECT_EQ(Read(layout_.gateway_client_secret()), secret);
  EXPECT_EQ(Read(layout_.gateway_session_key()), key);
  EXPECT_EQ(Client().created_at, created);
}

TEST_F(GatewaySessionTest, ANewPublicUrlOrALostSecretRegistersTheClientAgain) {
  ASSERT_TRUE(Prepare(Mesh()).ok());
  std::string first = Read(layout_.gateway_client_secret());
  std::string moved = kMesh;
  moved.replace(moved.find("  session:"), 0, "  public_url: https://dvd.example:9443\n");
  absl::StatusOr<PreparedSession> session = Prepare(Mesh(moved));
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE(session->registered);
  EXPECT_EQ(Client().redirect_uris,
            std::vector<std::string>{"https://dvd.example:9443/_bulwark/callback"});
  std::string second = Read(layout_.gateway_client_secret());
  EXPECT_NE(second, first);
  EXPECT_EQ(crypto::Sha256(second), Client().secret_hash);

  ASSERT_EQ(std::remove(layout_.gateway_client_secret().c_str()), 0);
  session = Prepare(Mesh(moved));
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE(session->registered);
  EXPECT_EQ(crypto::Sha256(Read(layout_.gateway_client_secret())), Client().secret_hash);
}

TEST_F(GatewaySessionTest, TheUsersOwnSecretIsUsedOnlyWhenItIsTheRegisteredClients) {
  ASSERT_TRUE(std::filesystem::create_directories(dir_.File("secrets")));
  std::string user_file = dir_.File("secrets/gateway-secret");
  ASSERT_TRUE(core::WriteFileAtomic(user_file, "not-registered-anywhere\n", 0600).ok());
  // No client "gateway" at this authority: up says so, and registers nothing.
  absl::Status status = Prepare(Mesh()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find(user_file), std::string::npos) << status;
  EXPECT_NE(status.message().find("has no client gateway"), std::string::npos) << status;
  EXPECT_FALSE(authority_->store->FindOidcClient("gateway").ok());

  // Registered by up, then the user's file holds another secret: refused, not overwritten.
  ASSERT_TRUE(std::remove(user_file.c_str()) == 0);
  ASSERT_TRUE(Prepare(Mesh()).ok());
  std::string registered = Read(layout_.gateway_client_secret());
  ASSERT_TRUE(core::WriteFileAtomic(user_file, "a-wrong-secret", 0600).ok());
  status = Prepare(Mesh()).status();
  EXPECT_NE(status.message().find("is not the secret of client gateway"), std::string::npos)
      << status;
  EXPECT_EQ(Read(user_file), "a-wrong-secret");

  // The right one (with the newline `>` leaves) is copied for the gateway, without it.
  ASSERT_TRUE(core::WriteFileAtomic(user_file, registered + "\n", 0600).ok());
  absl::StatusOr<PreparedSession> session = Prepare(Mesh());
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_FALSE(session->registered);
  EXPECT_EQ(session->secret_source, user_file);
  EXPECT_EQ(Read(layout_.gateway_client_secret()), registered);
}

TEST_F(GatewaySessionTest, TheUsersKeyFileIsUsedWhenPresentAndMustHold32Bytes) {
  std::string text = kMesh;
  text.replace(text.find("scopes:"), 0, "key_file: cookie.key, ");
  std::string user_key = dir_.File("cookie.key");
  // Absent: up makes its own.
  absl::StatusOr<PreparedSession> session = Prepare(Mesh(text));
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE(session->key_created);
  // Present, base64url of 32 bytes: copied as written.
  std::string b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  ASSERT_TRUE(core::WriteFileAtomic(user_key, b64, 0600).ok());
  session = Prepare(Mesh(text));
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_FALSE(session->key_created);
  EXPECT_EQ(Read(layout_.gateway_session_key()), b64);
  // Too short: a clear error naming the file.
  ASSERT_TRUE(core::WriteFileAtomic(user_key, "short", 0600).ok());
  absl::Status status = Prepare(Mesh(text)).status();
  EXPECT_NE(status.message().find(
                fmt::format("gateway.session.key_file {}: must hold 32 bytes", user_key)),
            std::string::npos)
      << status;
}

}  // namespace
}  // namespace bulwark::up
