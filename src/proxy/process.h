// Process plumbing shared by `bulwark sidecar` and `bulwark gateway`: the authority's URL, an
// SVID from a join token, periodic ticks, SIGHUP reloads, the drain on SIGTERM and stopping
// threads that may sit in a blocking long-poll. Call from the thread that runs the process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "asio/awaitable.hpp"
#include "asio/executor_work_guard.hpp"
#include "asio/io_context.hpp"
#include "asio/signal_set.hpp"
#include "asio/steady_timer.hpp"
#include "asio/use_awaitable.hpp"
#include "identity/rotator.h"
#include "mesh/config.h"
#include "spdlog/spdlog.h"

namespace bulwark::proxy {

// Returns `given` (--authority) when set, else https://<authority.listen> from `mesh` (a
// wildcard listen address becomes the loopback address of its family).
std::string AuthorityUrl(const std::string& given, const mesh::MeshConfig& mesh);

// Redeems `join_token` at the authority `url` (authenticated with the bundle in the file
// `bundle_path`) and returns a rotator that keeps the SVID fresh. `role` names the process in
// logs ("sidecar", "gateway"). Errors: no bundle or token given, the bundle does not load, the
// authority refuses the token, or the SVID is not `expected_id`.
absl::StatusOr<std::unique_ptr<identity::SvidRotator>> FetchIdentity(std::string_view role,
                                                                     const std::string& bundle_path,
                                                                     const std::string& join_token,
                                                                     const std::string& expected_id,
                                                                     const std::string& url);

// Calls `tick` every `period` on the io_context until it stops.
asio::awaitable<void> Every(std::chrono::milliseconds period, std::function<void()> tick);

// Waits for SIGHUP and calls `reload`, again and again, until the io_context stops.
void OnEveryHangup(asio::signal_set& hangup, std::function<void()> reload);

// Drains `proxy` (anything with Drain(), OpenConnections() and Stop()): lets requests in flight
// finish for up to `limit`, then stops it and `io` (an io_context or EventLoops).
template <typename Proxy, typename Loop>
asio::awaitable<void> DrainThenStop(std::string_view role, Proxy& proxy, Loop& io,
                                    std::chrono::milliseconds limit) {
  proxy.Drain();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (proxy.OpenConnections() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (std::size_t left = proxy.OpenConnections(); left > 0) {
    spdlog::warn("{}: drain timeout; closing {} connections still open", role, left);
  }
  proxy.Stop();
  io.stop();
}

// Ends the process at once (exit status 0, log flushed); for StopOrExit.
[[noreturn]] void ExitNow(std::string_view role);

// Stops `stoppable` on another thread, waiting at most `limit`: a long-poll to the authority
// is a blocking call that may stay open for up to its wait. Past the limit the process ends at
// once; proxies keep no state, so there is nothing to flush but the log.
template <typename T>
void StopOrExit(std::string_view role, std::unique_ptr<T> stoppable,
                std::chrono::milliseconds limit) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> stopped = done->get_future();
  std::thread stopper([s = std::move(stoppable), done]() mutable {
    s.reset();  // the destructor stops and joins its threads
    done->set_value();
  });
  if (stopped.wait_for(limit) == std::future_status::ready) {
    stopper.join();
    return;
  }
  stopper.detach();
  ExitNow(role);
}

// The proxies' engine: one io_context per worker, each run by a thread of its own, so a
// connection, its handler and its worker's upstream pools never leave that thread. Loop 0 also
// carries the accept loops, signals and timers. Construct, Run and destroy on one thread; stop()
// on any. Destruction first shuts every loop down (destroying the coroutines still pending on
// it) and only then frees them: a connection's coroutine on one loop may hold a server whose
// acceptor belongs to loop 0, and loop 0's server registry may hold connections of the others.
class EventLoops {
 public:
  // Makes `count` loops (at least 1).
  explicit EventLoops(int count);
  ~EventLoops();
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  // Returns loop 0.
  asio::io_context& main() { return *loops_.front(); }
  // Returns every loop, loop 0 first (for ServerOptions::workers).
  std::vector<asio::io_context*> all() const;
  // Runs loop 0 on the calling thread and each other loop on a new thread until stop().
  void Run();
  // Stops every loop; Run() then returns once each thread has.
  void stop();

 private:
  // An io_context whose pending handlers can be destroyed (shutdown) before it is.
  class Loop : public asio::io_context {
   public:
    Loop() : asio::io_context(1) {}  // one thread runs it: Asio may skip some locking
    using asio::execution_context::shutdown;
  };
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<WorkGuard> guards_;  // keep loops 1.. running while they have nothing to do
};

// Returns `configured` workers, or one per core when it is 0.
int WorkerCount(std::uint32_t configured);

}  // namespace bulwark::proxy
