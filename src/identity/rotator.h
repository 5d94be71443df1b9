// Keeps a workload's SVID fresh in memory: renews at half its lifetime (±10% jitter), retries
// with exponential backoff while the authority is away, and follows the revocation list by
// long-poll. TLS code reads Current() on any thread; the rotator's own threads do the calls.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "identity/authority_client.h"
#include "identity/svid.h"

namespace bulwark::identity {

struct RotatorOptions {
  double jitter = 0.1;  // renewal moves by up to ±jitter/2 of the lifetime around its half
  std::chrono::milliseconds min_backoff{250};
  std::chrono::milliseconds max_backoff{30'000};
  bool follow_revocations = true;
  std::chrono::seconds revocation_wait{30};  // long-poll length; Stop() may wait this long
  // Called on the rotator's thread after each successful renewal (for example to write files).
  std::function<void(const Svid&)> on_renewed;
};

class SvidRotator {
 public:
  // Starts keeping `initial` fresh with `client`.
  SvidRotator(AuthorityClient client, Svid initial, RotatorOptions options);
  ~SvidRotator();
  SvidRotator(const SvidRotator&) = delete;
  SvidRotator& operator=(const SvidRotator&) = delete;

  // Returns the current SVID (never null).
  std::shared_ptr<const Svid> Current() const { return current_.load(); }
  // Returns whether the revocation list seen so far contains `serial`. Lock-free.
  bool IsRevoked(const std::string& serial) const;
  // Returns the version of the revocation list seen so far.
  std::int64_t revocation_version() const { return revocation_version_.load(); }
  // Returns how many renewals succeeded.
  int renewals() const { return renewals_.load(); }
  // Stops the threads and waits for them.
  void Stop();

  // Returns when an SVID valid from `not_before` to `not_after` should be renewed: at half its
  // lifetime, moved by up to ±jitter/2 of the lifetime. `unit_random` is in [0, 1).
  static std::chrono::system_clock::time_point NextRenewal(
      std::chrono::system_clock::time_point not_before,
      std::chrono::system_clock::time_point not_after, double jitter, double unit_random);

 private:
  void RenewLoop();
  void RevocationLoop();
  // Sleeps until `deadline` or Stop(); returns false when stopping.
  bool SleepUntil(std::chrono::system_clock::time_point deadline);

  const AuthorityClient client_;
  const RotatorOptions options_;
  std::atomic<std::shared_ptr<const Svid>> current_;
  std::atomic<std::int64_t> revocation_version_{0};
  std::atomic<int> renewals_{0};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  // Revoked serials seen so far: an immutable snapshot, replaced (copy and add) only by the
  // revocation thread, so that the per-request IsRevoked check takes no lock.
  std::atomic<std::shared_ptr<const absl::flat_hash_set<std::string>>> revoked_serials_{
      std::make_shared<const absl::flat_hash_set<std::string>>()};
  std::thread renew_thread_;
  std::thread revocation_thread_;
};

}  // namespace bulwark::identity
