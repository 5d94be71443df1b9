// A JSON-lines log written off the request path: records go through a bounded queue to one
// writer thread, which formats them (with the FormatLine overload for the record type, found by
// argument-dependent lookup) and hands the lines to a sink. When the queue is full the record is
// dropped and counted, so a slow disk never holds a request. The access log and the decision log
// are both LineLogs. Submit() and dropped() may be called on any thread.
#pragma once

#include <atomic>
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

namespace bulwark::proxy {

using LineSink = std::function<void(std::string_view lines)>;

// Returns a sink appending to `path` ("-" is stdout), flushed after every batch. Errors name
// `option` (the command-line flag) and the file.
absl::StatusOr<LineSink> OpenLineSink(const std::string& path, std::string_view option);

template <typename Record>
class LineLog {
 public:
  static constexpr std::size_t kDefaultCapacity = 8192;

  // Starts the writer thread, which hands formatted lines to `sink` (called on that thread only).
  LineLog(LineSink sink, std::size_t capacity)
      : sink_(std::move(sink)), capacity_(capacity), writer_([this] { Write(); }) {}
  // Writes what is queued, then stops the writer thread.
  ~LineLog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    ready_.notify_one();
    writer_.join();
  }
  LineLog(const LineLog&) = delete;
  LineLog& operator=(const LineLog&) = delete;

  // Opens `path` as OpenLineSink does and starts a log writing to it.
  static absl::StatusOr<std::unique_ptr<LineLog>> Open(const std::string& path,
                                                       std::string_view option,
                                                       std::size_t capacity = kDefaultCapacity) {
    absl::StatusOr<LineSink> sink = OpenLineSink(path, option);
    if (!sink.ok()) {
      return sink.status();
    }
    return std::make_unique<LineLog>(*std::move(sink), capacity);
  }

  // Queues `record`; returns false (and counts a drop) when the queue is full.
  bool Submit(Record record) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.size() >= capacity_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      queue_.push_back(std::move(record));
    }
    ready_.notify_one();
    return true;
  }
  // Returns how many records were dropped so far.
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  // Takes the whole queue at once and formats it outside the lock.
  void Write() {
    for (;;) {
      std::deque<Record> batch;
      bool stop = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        batch.swap(queue_);
        stop = stopping_;
      }
      std::string lines;
      for (const Record& record : batch) {
        lines += FormatLine(record);
      }
      if (!lines.empty()) {
        sink_(lines);
      }
      if (stop) {
        return;
      }
    }
  }

  LineSink sink_;
  const std::size_t capacity_;
  std::mutex mu_;  // guards queue_ and stopping_; held only to push or swap
  std::condition_variable ready_;
  std::deque<Record> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread writer_;  // last: starts after everything it uses
};

}  // namespace bulwark::proxy
