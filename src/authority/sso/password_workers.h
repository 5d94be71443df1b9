// A few threads of the authority's own for argon2id (crypto/password.h): a sign-in's
// verification or an enrolment's hashing takes ~19 MiB and tens of milliseconds, which on a
// request thread would stall every other request there. The request coroutine hands the work
// over and awaits the answer; the number of jobs queued or running is bounded, and a caller
// beyond the bound is refused at once (the login pages answer 503). Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "asio/awaitable.hpp"
#include "asio/thread_pool.hpp"

namespace bulwark::authority {

struct PasswordWorkerOptions {
  int threads = 2;               // each holds at most one hash's memory (19 MiB) at a time
  std::size_t max_pending = 32;  // jobs queued or running; beyond it, ResourceExhausted
};

class PasswordWorkers {
 public:
  explicit PasswordWorkers(PasswordWorkerOptions options);
  // Waits for the jobs running and drops the queued ones' work (their callers are gone with the
  // io_context that awaited them).
  ~PasswordWorkers();

  // Returns whether `password` matches `hash` (crypto::VerifyPassword), computed on a worker
  // thread; the awaiting coroutine resumes on its own executor. ResourceExhausted when
  // max_pending jobs are already queued or running.
  asio::awaitable<absl::StatusOr<bool>> Verify(std::string hash, std::string password);
  // Returns crypto::HashPassword(`password`), computed on a worker thread; its errors, or
  // ResourceExhausted as for Verify.
  asio::awaitable<absl::StatusOr<std::string>> Hash(std::string password);

  // Returns the number of jobs queued or running now.
  std::size_t pending() const { return pending_.load(); }

 private:
  // Runs `work` on the pool and resumes the caller on its executor with the result.
  template <typename T>
  asio::awaitable<absl::StatusOr<T>> Run(std::function<absl::StatusOr<T>()> work);

  const PasswordWorkerOptions options_;
  asio::thread_pool pool_;
  std::atomic<std::size_t> pending_{0};
};

}  // namespace bulwark::authority
