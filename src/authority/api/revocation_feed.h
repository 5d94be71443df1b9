// A version number and the long-poll waiters on it: the revocation list's (Notify() after
// revocations commit) and the distributed policy's (PolicyFeed). WaitBeyond() suspends a
// request until the version moves past a value or a timeout passes. Thread-safe: waiters may sit
// on any io_context thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "asio/awaitable.hpp"
#include "asio/steady_timer.hpp"

namespace bulwark::authority::api {

class VersionFeed {
 public:
  explicit VersionFeed(std::int64_t version) : version_(version) {}

  // Returns the current version (for revocations: 0 when nothing was ever revoked).
  std::int64_t version() const { return version_.load(); }
  // Raises the version to `version` and wakes every waiter.
  void Notify(std::int64_t version);
  // Returns once version() > since, or after `wait`.
  asio::awaitable<void> WaitBeyond(std::int64_t since, std::chrono::milliseconds wait);

 private:
  std::atomic<std::int64_t> version_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<asio::steady_timer>> waiters_;  // guarded by mutex_
};

using RevocationFeed = VersionFeed;

}  // namespace bulwark::authority::api
