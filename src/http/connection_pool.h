// Idle keep-alive connections of the HTTP client, by key (scheme, address, expected server ID
// and TLS context, so that a connection is only reused for the peer and the client identity it
// was opened with). Bounded per key and in total; a connection idle for longer than
// idle_timeout, or that the peer has closed (readable while idle), is never handed out.
// Thread-safe: one mutex, held only to push or pop a deque entry and for the zero-timeout
// poll() that checks an idle connection before it is handed out (the sidecar's io threads
// share one io_context, so a connection may be returned on another thread than it was taken).
// Pooled connections belong to the io_context they were opened on: Close() the pool before it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bulwark::http {
namespace internal {
class Stream;
}

struct PoolOptions {
  std::size_t max_idle_per_key = 256;
  std::size_t max_idle = 1024;
  std::chrono::milliseconds idle_timeout{15'000};
};

class ConnectionPool {
 public:
  explicit ConnectionPool(PoolOptions options = {}) : options_(options) {}
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Returns an idle connection for `key` that is still open and fresh, most recently used
  // first; null when there is none. Closes the stale ones it meets. The caller owns the result.
  std::shared_ptr<internal::Stream> Take(const std::string& key);
  // Keeps `stream` (after a complete keep-alive exchange; the caller must not touch it again)
  // for a later Take; closes it instead when the key or the pool is full.
  void Put(const std::string& key, std::shared_ptr<internal::Stream> stream);
  // Closes the idle connections older than idle_timeout.
  void Prune();
  // Closes every idle connection.
  void Clear();
  // Closes every idle connection and, from now on, each one given to Put. Call it before the
  // io_context the connections belong to goes away.
  void Close();
  // Counts a connection opened by a caller of this pool.
  void CountOpened() { opened_.fetch_add(1, std::memory_order_relaxed); }

  // Returns how many connections callers opened, and how many times one was reused.
  std::uint64_t opened() const { return opened_.load(std::memory_order_relaxed); }
  std::uint64_t reused() const { return reused_.load(std::memory_order_relaxed); }
  // Returns how many idle connections are kept.
  std::size_t idle() const;

 private:
  struct Idle {
    std::shared_ptr<internal::Stream> stream;
    std::chrono::steady_clock::time_point since;
  };

  const PoolOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::deque<Idle>> idle_;  // guarded by mu_; newest at back
  std::size_t idle_count_ = 0;                              // guarded by mu_
  bool closed_ = false;                                     // guarded by mu_
  std::atomic<std::uint64_t> opened_{0};
  std::atomic<std::uint64_t> reused_{0};
};

}  // namespace bulwark::http
