#include "crypto/password.h"

#include <gtest/gtest.h>

#include <chrono>

namespace bulwark::crypto {
namespace {

// Small parameters keep the round-trip tests fast; the default ones are exercised once below.
constexpr PasswordHashParams kFast{1, std::size_t{8} << 20};

TEST(PasswordTest, AHashVerifiesItsPasswordAndNoOther) {
  absl::StatusOr<std::string> hash = HashPassword("correct horse battery", kFast);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=8192,t=1,p=1$")) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse batterY"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse battery "));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
}

TEST(PasswordTest, EachHashHasItsOwnSalt) {
  absl::StatusOr<std::string> a = HashPassword("same password", kFast);
  absl::StatusOr<std::string> b = HashPassword("same password", kFast);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(VerifyPassword(*b, "same password"));
}

TEST(PasswordTest, MalformedHashesAndOverlongPasswordsNeverVerify) {
  EXPECT_FALSE(VerifyPassword("", "x"));
  EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=8192,t=1,p=1$garbage", "x"));
  EXPECT_FALSE(VerifyPassword(std::string(1000, 'a'), "x"));
  std::string long_password(kMaxPasswordBytes + 1, 'p');
  EXPECT_FALSE(HashPassword(long_password, kFast).ok());
  absl::StatusOr<std::string> hash = HashPassword(long_password.substr(1), kFast);
  ASSERT_TRUE(hash.ok());
  EXPECT_FALSE(VerifyPassword(*hash, long_password));
}

TEST(PasswordTest, HashesWithOtherParametersNeedARehash) {
  absl::StatusOr<std::string> fast = HashPassword("a password here", kFast);
  ASSERT_TRUE(fast.ok());
  EXPECT_TRUE(PasswordNeedsRehash(*fast));
  EXPECT_FALSE(PasswordNeedsRehash(*fast, kFast));
}

TEST(PasswordTest, TheDefaultParametersAndTheDummyHashCostTheSame) {
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> hash = HashPassword("a real password");
  auto hashed = std::chrono::steady_clock::now();
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *hash;
  EXPECT_FALSE(PasswordNeedsRehash(*hash));
  EXPECT_FALSE(PasswordNeedsRehash(DummyPasswordHash()));
  EXPECT_NE(DummyPasswordHash(), *hash);
  auto real_start = std::chrono::steady_clock::now();
  EXPECT_TRUE(VerifyPassword(*hash, "a real password"));
  auto real = std::chrono::steady_clock::now() - real_start;
  auto dummy_start = std::chrono::steady_clock::now();
  EXPECT_FALSE(VerifyPassword(DummyPasswordHash(), "a real password"));
  auto dummy = std::chrono::steady_clock::now() - dummy_start;
  using Ms = std::chrono::duration<double, std::milli>;
  RecordProperty("hash_ms", std::to_string(Ms(hashed - start).count()));
  RecordProperty("verify_ms", std::to_string(Ms(real).count()));
  RecordProperty("dummy_verify_ms", std::to_string(Ms(dummy).count()));
}

}  // namespace
}  // namespace bulwark::crypto
