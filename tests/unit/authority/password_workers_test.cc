#include "authority/sso/password_workers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "asio/co_spawn.hpp"
#include "asio/detached.hpp"
#include "asio/io_context.hpp"
#include "asio/post.hpp"
#include "asio/use_awaitable.hpp"
#include "crypto/password.h"

namespace bulwark::authority {
namespace {

using namespace std::chrono_literals;

class PasswordWorkersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    hash_ = new std::string(*crypto::HashPassword("correct horse battery staple"));
  }
  static void TearDownTestSuite() { delete hash_; }
  static std::string* hash_;
};
std::string* PasswordWorkersTest::hash_ = nullptr;

TEST_F(PasswordWorkersTest, VerifiesAndHashesOnItsThreads) {
  PasswordWorkers workers({1, 4});
  asio::io_context io;
  std::vector<bool> verdicts;
  std::string made;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        verdicts.push_back(*co_await workers.Verify(*hash_, "correct horse battery staple"));
        verdicts.push_back(*co_await workers.Verify(*hash_, "wrong horse battery staple"));
        verdicts.push_back(*co_await workers.Verify("not a hash", "correct horse battery staple"));
        made = *co_await workers.Hash("another long password");
      },
      asio::detached);
  io.run_for(60s);
  EXPECT_EQ(verdicts, (std::vector<bool>{true, false, false}));
  EXPECT_TRUE(crypto::VerifyPassword(made, "another long password"));
  EXPECT_EQ(workers.pending(), 0u);
}

// The io_context has one thread: had the verification run on it, the cheap handler could run
// only after the verification's end.
TEST_F(PasswordWorkersTest, TheRequestThreadServesOthersWhileAPasswordIsVerified) {
  PasswordWorkers workers({1, 4});
  asio::io_context io;
  std::vector<std::string> order;
  std::size_t pending_seen_by_cheap = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        absl::StatusOr<bool> ok = co_await workers.Verify(*hash_, "correct horse battery staple");
        order.push_back(ok.ok() && *ok ? "verified" : "verify failed");
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // Yield once so that the verification was handed over first.
        co_await asio::post(io, asio::use_awaitable);
        pending_seen_by_cheap = workers.pending();
        order.push_back("cheap");
      },
      asio::detached);
  io.run_for(60s);
  EXPECT_EQ(order, (std::vector<std::string>{"cheap", "verified"}));
  EXPECT_EQ(pending_seen_by_cheap, 1u) << "the cheap request ran while the verification was open";
}

TEST_F(PasswordWorkersTest, BeyondTheBoundACallIsRefusedAtOnceNotQueued) {
  PasswordWorkers workers({1, 2});
  asio::io_context io;
  std::vector<absl::StatusCode> codes;
  for (int i = 0; i < 5; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          absl::StatusOr<bool> ok = co_await workers.Verify(*hash_, "wrong");
          codes.push_back(ok.status().code());
        },
        asio::detached);
  }
  io.run_for(60s);
  ASSERT_EQ(codes.size(), 5u);
  // The three refused answer first (at once), then the two that were admitted.
  EXPECT_EQ(codes, (std::vector<absl::StatusCode>{absl::StatusCode::kResourceExhausted,
                                                  absl::StatusCode::kResourceExhausted,
                                                  absl::StatusCode::kResourceExhausted,
                                                  absl::StatusCode::kOk, absl::StatusCode::kOk}));
  // Freed slots admit new work.
  bool again = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        again = (co_await workers.Verify(*hash_, "correct horse battery staple")).value_or(false);
      },
      asio::detached);
  io.restart();
  io.run_for(60s);
  EXPECT_TRUE(again);
}

}  // namespace
}  // namespace bulwark::authority
