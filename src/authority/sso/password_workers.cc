#include "authority/sso/password_workers.h"

#include <algorithm>
#include <utility>

#include "asio/async_result.hpp"
#include "asio/executor_work_guard.hpp"
#include "asio/post.hpp"
#include "asio/use_awaitable.hpp"
#include "crypto/password.h"
#include "fmt/format.h"

namespace bulwark::authority {

PasswordWorkers::PasswordWorkers(PasswordWorkerOptions options)
    : options_(options), pool_(static_cast<std::size_t>(std::max(1, options.threads))) {}

PasswordWorkers::~PasswordWorkers() {
  pool_.stop();
  pool_.join();
}

template <typename T>
asio::awaitable<absl::StatusOr<T>> PasswordWorkers::Run(std::function<absl::StatusOr<T>()> work) {
  // The bound is taken before queueing, so the backlog never exceeds max_pending.
  if (pending_.fetch_add(1) >= options_.max_pending) {
    pending_.fetch_sub(1);
    co_return absl::ResourceExhaustedError(
        fmt::format("{} password checks are already queued or running", options_.max_pending));
  }
  auto initiate = [this, work = std::move(work)](auto handler) mutable {
    // The guard keeps the caller's executor running until the answer is posted back to it.
    auto guard = asio::make_work_guard(asio::get_associated_executor(handler));
    asio::post(pool_, [this, work = std::move(work), handler = std::move(handler),
                       guard = std::move(guard)]() mutable {
      absl::StatusOr<T> result = work();
      pending_.fetch_sub(1);
      auto executor = guard.get_executor();
      asio::post(executor, [handler = std::move(handler), result = std::move(result)]() mutable {
        std::move(handler)(std::move(result));
      });
    });
  };
  absl::StatusOr<T> result =
      co_await asio::async_initiate<decltype(asio::use_awaitable), void(absl::StatusOr<T>)>(
          std::move(initiate), asio::use_awaitable);
  co_return result;
}

asio::awaitable<absl::StatusOr<bool>> PasswordWorkers::Verify(std::string hash,
                                                              std::string password) {
  std::function<absl::StatusOr<bool>()> work = [hash = std::move(hash),
                                                password = std::move(password)] {
    return absl::StatusOr<bool>(crypto::VerifyPassword(hash, password));
  };
  absl::StatusOr<bool> verdict = co_await Run<bool>(std::move(work));
  co_return verdict;
}

asio::awaitable<absl::StatusOr<std::string>> PasswordWorkers::Hash(std::string password) {
  std::function<absl::StatusOr<std::string>()> work = [password = std::move(password)] {
    return crypto::HashPassword(password);
  };
  absl::StatusOr<std::string> hash = co_await Run<std::string>(std::move(work));
  co_return hash;
}

}  // namespace bulwark::authority
