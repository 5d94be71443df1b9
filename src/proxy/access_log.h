// The sidecar's access log: one JSON line per request, formatted and written by one writer
// thread fed through a bounded queue, so a slow disk never holds a request. When the queue is
// full the record is dropped and counted. Submit() and dropped() may be called on any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "proxy/metrics.h"

namespace bulwark::proxy {

struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the request arrived
  Direction direction = Direction::kInbound;
  std::string peer;  // the caller's SPIFFE ID (inbound) or the target service (outbound)
  std::string method;
  std::string path;  // without the query string
  int status = 0;
  std::uint64_t request_bytes = 0;   // body
  std::uint64_t response_bytes = 0;  // body
  double duration_ms = 0;
  std::string trace_id;  // from traceparent; empty when absent or malformed
};

// Returns `record` as one JSON object followed by '\n'; time is RFC 3339 UTC with milliseconds.
// trace_id is omitted when empty.
std::string FormatAccessRecord(const AccessRecord& record);

// Returns the trace id (32 lowercase hex digits) of a W3C traceparent header value
// ("00-<trace id>-<parent id>-<flags>"), or "" when it is malformed or all zeros.
std::string TraceIdFromTraceparent(std::string_view traceparent);

// Returns `target` without its query string (and an absolute-form target's scheme and host).
std::string PathWithoutQuery(std::string_view target);

class AccessLog {
 public:
  using Sink = std::function<void(std::string_view lines)>;
  static constexpr std::size_t kDefaultCapacity = 8192;

  // Opens `path` for appending ("-" is stdout). Errors: the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<AccessLog>> Open(const std::string& path,
                                                         std::size_t capacity = kDefaultCapacity);

  // Starts the writer thread, which hands formatted lines to `sink` (called on that thread only).
  AccessLog(Sink sink, std::size_t capacity);
  // Writes what is queued, then stops the writer thread.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Queues `record`; returns false (and counts a drop) when the queue is full.
  bool Submit(AccessRecord record);
  // Returns how many records were dropped so far.
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void Write();

  Sink sink_;
  const std::size_t capacity_;
  std::mutex mu_;  // guards queue_ and stopping_; held only to push or swap
  std::condition_variable ready_;
  std::deque<AccessRecord> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread writer_;  // last: starts after everything it uses
};

using AccessLogPtr = std::unique_ptr<AccessLog>;

}  // namespace bulwark::proxy
