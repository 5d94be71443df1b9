#include "authority/api/revocation_feed.h"

#include <algorithm>

#include "asio/post.hpp"
#include "asio/redirect_error.hpp"
#include "asio/this_coro.hpp"
#include "asio/use_awaitable.hpp"

namespace bulwark::authority::api {

void VersionFeed::Notify(std::int64_t version) {
  std::int64_t current = version_.load();
  while (current < version && !version_.compare_exchange_weak(current, version)) {
  }
  std::lock_guard lock(mutex_);
  for (const auto& timer : waiters_) {
    // Touch the timer only on its own executor (the connection's strand). Moving its expiry to
    // the past both cancels a pending wait and makes a wait that has not started yet return.
    asio::post(timer->get_executor(),
               [timer] { timer->expires_at(asio::steady_timer::time_point::min()); });
  }
}

asio::awaitable<void> VersionFeed::WaitBeyond(std::int64_t since, std::chrono::milliseconds wait) {
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, wait);
  {
    std::lock_guard lock(mutex_);
    // Checked under the lock that Notify takes, so a revocation cannot slip in between.
    if (version_.load() > since) co_return;
    waiters_.push_back(timer);
  }
  std::error_code ignored;  // cancelled or expired: either way, the wait is over
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  std::lock_guard lock(mutex_);
  waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), timer), waiters_.end());
}

}  // namespace bulwark::authority::api
