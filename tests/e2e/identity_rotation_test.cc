// The identity client's rotator against a real `bulwark authority serve`: with 3-second SVIDs it
// renews across many periods with no moment without a valid SVID, survives a restart of the
// authority, and a forced signing-CA rotation in the middle of the run breaks nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "core/files.h"
#include "identity/authority_client.h"
#include "identity/rotator.h"
#include "tests/support/child_process.h"
#include "tests/support/run_command.h"
#include "tests/support/temp_dir.h"

namespace bulwark {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class AuthorityProcess {
 public:
  AuthorityProcess(const testing::TempDir& dir, const std::string& listen) : dir_(dir) {
    std::remove(dir_.File("data/endpoint").c_str());
    process_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{BULWARK_BINARY, "authority", "serve", "--data-dir",
                                 dir_.File("data"), "--listen", listen, "--svid-ttl", "3s"},
        dir_.File("authority.log"));
    url_ = testing::WaitForFile(dir_.File("data/endpoint"), 10'000);
    while (!url_.empty() && url_.back() == '\n') {
      url_.pop_back();
    }
  }
  const std::string& url() const { return url_; }
  void Stop() { process_->Stop(); }

 private:
  const testing::TempDir& dir_;
  std::unique_ptr<testing::ChildProcess> process_;
  std::string url_;
};

testing::CommandResult Cli(const testing::TempDir& dir, std::vector<std::string> args) {
  std::vector<std::string> argv = {BULWARK_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--data-dir", dir.File("data")});
  return testing::RunCommand(argv);
}

// Checks every 20 ms that the rotator's SVID is valid now and chains to the bundle.
class Watchdog {
 public:
  explicit Watchdog(const identity::SvidRotator& rotator) : rotator_(rotator) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Watchdog() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  int checks() const { return checks_; }
  int failures() const { return failures_; }
  const std::string& first_failure() const { return first_failure_; }
  const std::set<std::string>& signing_cas() const { return signing_cas_; }

 private:
  void Run() {
    while (!stop_) {
      auto svid = rotator_.Current();
      const auto& chain = svid->credentials.chain;
      absl::Status valid = crypto::VerifyChain(chain[0], {chain.begin() + 1, chain.end()},
                                               svid->bundle, std::chrono::system_clock::now());
      ++checks_;
      if (!valid.ok() && failures_++ == 0) {
        first_failure_ = valid.ToString();
      }
      if (chain.size() > 1) {
        signing_cas_.insert(chain[1].SerialHex());
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  const identity::SvidRotator& rotator_;
  std::atomic<bool> stop_{false};
  int checks_ = 0;
  int failures_ = 0;
  std::string first_failure_;
  std::set<std::string> signing_cas_;
  std::thread thread_;
};

TEST(IdentityRotationTest, RenewsThroughAuthorityRestartAndCaRotation) {
  testing::TempDir dir;
  auto init = Cli(dir, {"authority", "init", "--trust-domain", "example.org"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto authority = std::make_unique<AuthorityProcess>(dir, "127.0.0.1:0");
  ASSERT_FALSE(authority->url().empty()) << core::ReadFile(dir.File("authority.log")).value_or("");
  std::string listen = authority->url().substr(std::string("https://").size());

  auto token = Cli(
      dir, {"authority", "token", "create", "--spiffe-id", "spiffe://example.org/svc/rotating"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  token.out.pop_back();
  auto bundle =
      crypto::Certificate::ChainFromPem(core::ReadFile(dir.File("data/bundle.pem")).value());
  auto client = identity::AuthorityClient::Create(authority->url(), *bundle, seconds(3));
  ASSERT_TRUE(client.ok()) << client.status();
  auto svid = client->FetchWithJoinToken(token.out);
  ASSERT_TRUE(svid.ok()) << svid.status();
  std::string first_serial = svid->leaf().SerialHex();

  identity::RotatorOptions options;
  options.min_backoff = milliseconds(100);
  options.max_backoff = milliseconds(400);
  options.revocation_wait = seconds(1);
  identity::SvidRotator rotator(*client, std::move(*svid), options);
  Watchdog watchdog(rotator);

  std::this_thread::sleep_for(seconds(5));
  int before_restart = rotator.renewals();
  authority->Stop();  // the authority is away for a moment, then back on the same address
  std::this_thread::sleep_for(milliseconds(700));
  authority = std::make_unique<AuthorityProcess>(dir, listen);
  ASSERT_FALSE(authority->url().empty());
  std::this_thread::sleep_for(seconds(4));
  auto rotate = Cli(dir, {"authority", "ca", "rotate"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  std::this_thread::sleep_for(seconds(4));
  // The rotator follows the revocation list: revoking one of its past SVIDs shows up in it.
  std::string old_serial = first_serial;
  auto revoke = Cli(dir, {"authority", "revoke", "--serial", old_serial});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  for (int i = 0; i < 40 && !rotator.IsRevoked(old_serial); ++i) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(rotator.IsRevoked(old_serial)) << "revocation not seen within 2 s";
  EXPECT_GT(rotator.revocation_version(), 0);
  std::this_thread::sleep_for(seconds(1));
  watchdog.Stop();
  rotator.Stop();

  EXPECT_GE(before_restart, 2);
  EXPECT_GE(rotator.renewals(), 7) << "3 s SVIDs over 15 s renew every ~1.5 s";
  EXPECT_GT(watchdog.checks(), 300);
  EXPECT_EQ(watchdog.failures(), 0) << watchdog.first_failure();
  EXPECT_GE(watchdog.signing_cas().size(), 2u) << "renewals after the rotation use the new CA";
  EXPECT_EQ(rotator.Current()->spiffe_id, "spiffe://example.org/svc/rotating");
}

}  // namespace
}  // namespace bulwark
