#include "authority/store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>
#include <vector>

#include "authority/store/internal/sqlite.h"
#include "crypto/digest.h"
#include "tests/support/temp_dir.h"

namespace bulwark::authority {
namespace {

using core::FromUnixSeconds;

AuditEntry Audit(const char* action) { return {0, FromUnixSeconds(1000), "test", action, "s", ""}; }

IssuedRecord Issued(std::string serial, std::string id = "spiffe://td/svc/a") {
  return {std::move(serial), std::move(id), "join", FromUnixSeconds(1000), FromUnixSeconds(5000)};
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteStore(dir_.File("a.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  JoinTokenRecord Token(const char* text, long long expires = 2000) {
    return {crypto::Sha256(std::string_view(text)), "spiffe://td/svc/a", FromUnixSeconds(1000),
            FromUnixSeconds(expires), std::nullopt};
  }
  testing::TempDir dir_;
  StorePtr store_;
};

TEST_F(SqliteStoreTest, DatabaseFileIsPrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(dir_.File("a.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST_F(SqliteStoreTest, JoinTokenIsConsumedOnceAndRecordsTheIssuance) {
  ASSERT_TRUE(store_->CreateJoinToken(Token("t1"), Audit("token.create")).ok());
  auto hash = crypto::Sha256(std::string_view("t1"));
  EXPECT_TRUE(
      store_->ConsumeJoinTokenAndRecord(hash, FromUnixSeconds(1500), Issued("01"), Audit("issue"))
          .ok());
  absl::Status again =
      store_->ConsumeJoinTokenAndRecord(hash, FromUnixSeconds(1500), Issued("02"), Audit("issue"));
  EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  EXPECT_TRUE(store_->FindIssued("01")->has_value());
  EXPECT_FALSE(store_->FindIssued("02")->has_value());  // the failed consume recorded nothing
  EXPECT_TRUE(store_->FindJoinToken(hash)->used_at.has_value());
}

TEST_F(SqliteStoreTest, ExpiredOrMisboundTokenIsNotConsumed) {
  ASSERT_TRUE(store_->CreateJoinToken(Token("t2", 1200), Audit("token.create")).ok());
  auto hash = crypto::Sha256(std::string_view("t2"));
  EXPECT_FALSE(
      store_->ConsumeJoinTokenAndRecord(hash, FromUnixSeconds(1200), Issued("03"), Audit("i"))
          .ok());
  EXPECT_FALSE(store_
                   ->ConsumeJoinTokenAndRecord(hash, FromUnixSeconds(1100),
                                               Issued("04", "spiffe://td/svc/other"), Audit("i"))
                   .ok());
  EXPECT_FALSE(store_->FindJoinToken(hash)->used_at.has_value());
}

TEST_F(SqliteStoreTest, ConcurrentConsumersGetExactlyOneSuccess) {
  ASSERT_TRUE(store_->CreateJoinToken(Token("race"), Audit("token.create")).ok());
  auto hash = crypto::Sha256(std::string_view("race"));
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      if (store_
              ->ConsumeJoinTokenAndRecord(hash, FromUnixSeconds(1500),
                                          Issued("s" + std::to_string(i)), Audit("issue"))
              .ok()) {
        successes.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(successes.load(), 1);
  EXPECT_EQ(store_->ListIssued(std::nullopt)->size(), 1u);
}

TEST_F(SqliteStoreTest, RevocationsAreVersionedAndIdempotent) {
  ASSERT_TRUE(store_->RecordIssued(Issued("aa"), Audit("issue")).ok());
  ASSERT_TRUE(store_->RecordIssued(Issued("bb"), Audit("issue")).ok());
  auto first = store_->Revoke({Issued("aa")}, Audit("revoke"));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  auto second = store_->Revoke({Issued("aa"), Issued("bb")}, Audit("revoke"));
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 1u);  // aa was revoked already
  EXPECT_EQ((*second)[0].serial, "bb");
  EXPECT_GT((*second)[0].version, (*first)[0].version);
  auto since = store_->RevocationsSince((*first)[0].version);
  ASSERT_EQ(since->size(), 1u);
  EXPECT_EQ((*since)[0].serial, "bb");
  EXPECT_TRUE(*store_->IsRevoked("aa"));
  EXPECT_FALSE(*store_->IsRevoked("cc"));
}

TEST_F(SqliteStoreTest, CommittedRecordsSurviveReopening) {
  ASSERT_TRUE(store_->RecordIssued(Issued("keep"), Audit("svid.issue")).ok());
  store_.reset();
  auto reopened = OpenSqliteStore(dir_.File("a.db"));
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->FindIssued("keep")->has_value());
  auto audit = (*reopened)->ListAudit(10);
  ASSERT_TRUE(audit.ok());
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->front().action, "svid.issue");
}

TEST_F(SqliteStoreTest, ApiKeysAreCreatedListedAndRevokedOnce) {
  ApiKeyRecord key{"id1",
                   crypto::Sha256(std::string_view("k")),
                   "billing",
                   {"a", "b:c"},
                   FromUnixSeconds(1000),
                   std::nullopt};
  ASSERT_TRUE(store_->CreateApiKey(key, Audit("apikey.create")).ok());
  EXPECT_EQ(store_->CreateApiKey(key, Audit("apikey.create")).code(),
            absl::StatusCode::kAlreadyExists);
  auto listed = store_->ListApiKeys();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].hash, key.hash);
  EXPECT_EQ((*listed)[0].scopes, key.scopes);
  EXPECT_FALSE((*listed)[0].revoked_at.has_value());
  ASSERT_TRUE(store_->RevokeApiKey("id1", FromUnixSeconds(1500), Audit("apikey.revoke")).ok());
  EXPECT_EQ(store_->RevokeApiKey("id1", FromUnixSeconds(1600), Audit("apikey.revoke")).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->RevokeApiKey("nope", FromUnixSeconds(1600), Audit("apikey.revoke")).code(),
            absl::StatusCode::kNotFound);
  listed = store_->ListApiKeys();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ((*listed)[0].revoked_at, FromUnixSeconds(1500));
  auto audit = store_->ListAudit(10);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), 2u);  // the refused calls recorded nothing
}

TEST_F(SqliteStoreTest, UsersAreCreatedUpdatedAndTheirNamesNeverReused) {
  UserRecord alice{"alice", "alice@example.test", "", false, FromUnixSeconds(1000), std::nullopt};
  ASSERT_TRUE(store_->CreateUser(alice, Audit("user.add")).ok());
  EXPECT_EQ(store_->CreateUser(alice, Audit("user.add")).code(), absl::StatusCode::kAlreadyExists);
  UserRecord changed = alice;
  changed.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  changed.disabled = true;
  changed.created_at = FromUnixSeconds(9999);  // kept: a user's creation time never changes
  ASSERT_TRUE(store_->UpdateUser(changed, Audit("user.disable")).ok());
  auto found = store_->FindUser("alice");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->password_hash, changed.password_hash);
  EXPECT_TRUE(found->disabled);
  EXPECT_EQ(found->created_at, FromUnixSeconds(1000));
  EXPECT_FALSE(found->deleted_at.has_value());

  changed.deleted_at = FromUnixSeconds(2000);
  ASSERT_TRUE(store_->UpdateUser(changed, Audit("user.delete")).ok());
  EXPECT_EQ(store_->CreateUser(alice, Audit("user.add")).code(), absl::StatusCode::kAlreadyExists)
      << "a deleted user's name must not be given to someone else";
  found = store_->FindUser("alice");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->deleted_at, FromUnixSeconds(2000));

  EXPECT_EQ(store_->FindUser("bob").status().code(), absl::StatusCode::kNotFound);
  UserRecord bob{"bob", "", "", false, FromUnixSeconds(1000), std::nullopt};
  EXPECT_EQ(store_->UpdateUser(bob, Audit("user.disable")).code(), absl::StatusCode::kNotFound);
  auto users = store_->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].name, "alice");
  auto audit = store_->ListAudit(10);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), 3u);  // the refused calls recorded nothing
}

TEST_F(SqliteStoreTest, LoginSessionsAreFoundByHashAndEndedOneOrAllOfAUser) {
  auto session = [](const char* cookie, const char* user, long long expires) {
    return LoginSessionRecord{crypto::Sha256(std::string_view(cookie)),
                              user,
                              {"pwd", "otp"},
                              FromUnixSeconds(1000),
                              FromUnixSeconds(expires),
                              std::nullopt};
  };
  ASSERT_TRUE(store_->CreateLoginSession(session("c1", "alice", 5000), Audit("login")).ok());
  ASSERT_TRUE(store_->CreateLoginSession(session("c2", "alice", 5000), Audit("login")).ok());
  ASSERT_TRUE(store_->CreateLoginSession(session("c3", "bob", 1500), Audit("login")).ok());
  EXPECT_EQ(store_->CreateLoginSession(session("c1", "bob", 5000), Audit("login")).code(),
            absl::StatusCode::kAlreadyExists);

  auto found = store_->FindLoginSession(crypto::Sha256(std::string_view("c1")));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->user, "alice");
  EXPECT_EQ(found->amr, (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_EQ(store_->FindLoginSession(crypto::Sha256(std::string_view("c9"))).status().code(),
            absl::StatusCode::kNotFound);

  auto open = store_->ListLoginSessions(FromUnixSeconds(2000));  // c3 has expired by then
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->size(), 2u);

  auto ended = store_->EndLoginSessions(crypto::Sha256(std::string_view("c1")), "",
                                        FromUnixSeconds(2000), Audit("logout"));
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, 1);
  found = store_->FindLoginSession(crypto::Sha256(std::string_view("c1")));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->ended_at, FromUnixSeconds(2000));
  found = store_->FindLoginSession(crypto::Sha256(std::string_view("c2")));
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->ended_at.has_value()) << "logging out one browser leaves the others";

  ended = store_->EndLoginSessions({}, "alice", FromUnixSeconds(2100), Audit("user.disable"));
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, 1);  // c2; c1 had ended already
  ended = store_->EndLoginSessions({}, "alice", FromUnixSeconds(2200), Audit("user.disable"));
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, 0);
  open = store_->ListLoginSessions(FromUnixSeconds(1200));
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ(open->front().user, "bob");
}

// A database made before grants recorded their login session (the tables as they were then)
// opens, keeps its rows, and stores new grants with their session.
TEST(SqliteStoreMigrationTest, GrantsOfAnOlderDatabaseKeepWorkingAndNewOnesRecordTheirSession) {
  testing::TempDir dir;
  std::string path = dir.File("old.db");
  {
    auto db = internal::OpenDatabase(path);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(internal::Exec(db->get(), R"sql(
CREATE TABLE oidc_codes (
  hash BLOB PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL, nonce TEXT NOT NULL, user TEXT NOT NULL,
  auth_time INTEGER NOT NULL, amr TEXT NOT NULL, scope TEXT NOT NULL, family TEXT NOT NULL,
  expires_at INTEGER NOT NULL, used_at INTEGER);
CREATE TABLE oidc_refresh_tokens (
  hash BLOB PRIMARY KEY, family TEXT NOT NULL, client_id TEXT NOT NULL, user TEXT NOT NULL,
  scope TEXT NOT NULL, auth_time INTEGER NOT NULL, amr TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, rotated_at INTEGER, access_jti TEXT NOT NULL,
  access_expires_at INTEGER NOT NULL);
INSERT INTO oidc_refresh_tokens VALUES (x'01', 'fam-old', 'app', 'alice', 'openid', 1000, 'pwd',
  1000, 999999, NULL, 'jti-old', 2000);
)sql")
                    .ok());
  }
  for (int open = 0; open < 2; ++open) {  // the second open finds the columns in place
    auto store = OpenSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.status();
    auto old = (*store)->FindRefreshToken(crypto::Bytes{1});
    ASSERT_TRUE(old.ok()) << old.status();
    EXPECT_EQ(old->family, "fam-old");
    EXPECT_EQ(old->login_session, "");
  }
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok());
  RefreshTokenRecord next{crypto::Bytes{2},
                          "fam-new",
                          "app",
                          "alice",
                          {"openid"},
                          FromUnixSeconds(1000),
                          {"pwd"},
                          FromUnixSeconds(1000),
                          FromUnixSeconds(999999),
                          std::nullopt,
                          "jti-new",
                          FromUnixSeconds(2000),
                          "session-id"};
  ASSERT_TRUE((*store)->CreateRefreshToken(next).ok());
  EXPECT_EQ((*store)->FindRefreshToken(crypto::Bytes{2})->login_session, "session-id");
  auto grants = (*store)->ListSessionGrants(FromUnixSeconds(1500));
  ASSERT_TRUE(grants.ok()) << grants.status();
  ASSERT_EQ(grants->size(), 1u) << "a grant of unknown session is not listed under any";
  EXPECT_EQ((*grants)[0].family, "fam-new");
}

}  // namespace
}  // namespace bulwark::authority
