// A JSON-lines log written off the request path: records go through a bounded queue to one
// writer thread, which formats them (with the FormatLine overload for the record type, found by
// argument-dependent lookup) and hands the lines to a sink. When the queue is full the record is
// dropped and counted, so a slow disk never holds a request. Reopen() makes the writer reopen a
// file by its path (logrotate: rename, then SIGHUP). The access log and the decision log are both
// LineLogs. Submit(), Reopen() and dropped() may be called on any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"

namespace bulwark::proxy {

using LineSink = std::function<void(std::string_view lines)>;
// Reopens a sink's file by its path; called on the writer thread, between two writes.
using LineReopen = std::function<void()>;

struct LineDestination {
  LineSink sink;
  LineReopen reopen;  // empty for stdout
};

// Returns a sink appending to `path` ("-" is stdout), flushed after every batch, and how to
// reopen it (a file that cannot be reopened is logged and the old one kept). Errors name
// `option` (the command-line flag) and the file.
absl::StatusOr<LineDestination> OpenLineSink(const std::string& path, std::string_view option);

template <typename Record>
class LineLog {
 public:
  static constexpr std::size_t kDefaultCapacity = 8192;

  // Starts the writer thread, which hands formatted lines to `sink` and calls `reopen` (may be
  // empty) on Reopen(), both on that thread only.
  LineLog(LineSink sink, std::size_t capacity, LineReopen reopen = nullptr)
      : sink_(std::move(sink)),
        reopen_(std::move(reopen)),
        capacity_(capacity),
        writer_([this] { Write(); }) {}
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
    absl::StatusOr<LineDestination> out = OpenLineSink(path, option);
    if (!out.ok()) {
      return out.status();
    }
    return std::make_unique<LineLog>(std::move(out->sink), capacity, std::move(out->reopen));
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
  // Makes the writer reopen the destination once the records queued so far are written: those
  // go to the old file, every later one to the reopened one. Nothing is dropped.
  void Reopen() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      reopen_after_ = queue_.size();  // the records queued so far still go to the old file
    }
    ready_.notify_one();
  }
  // Returns how many records were dropped so far.
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  // Takes the whole queue at once and formats it outside the lock.
  void Write() {
    for (;;) {
      std::deque<Record> batch;
      bool stop = false;
      std::optional<std::size_t> reopen_after;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return stopping_ || reopen_after_ || !queue_.empty(); });
        batch.swap(queue_);
        stop = stopping_;
        reopen_after = std::exchange(reopen_after_, std::nullopt);
      }
      std::size_t split = reopen_after.value_or(batch.size());
      WriteLines(batch, 0, split);
      if (reopen_after.has_value() && reopen_) {
        reopen_();
      }
      WriteLines(batch, split, batch.size());
      if (stop) {
        return;
      }
    }
  }

  // Formats records [begin, end) of `batch` and hands them to the sink in one call.
  void WriteLines(const std::deque<Record>& batch, std::size_t begin, std::size_t end) {
    std::string lines;
    for (std::size_t i = begin; i < end; ++i) {
      lines += FormatLine(batch[i]);
    }
    if (!lines.empty()) {
      sink_(lines);
    }
  }

  LineSink sink_;
  LineReopen reopen_;
  const std::size_t capacity_;
  std::mutex mu_;  // guards queue_, stopping_ and reopen_after_; held only to push or swap
  std::condition_variable ready_;
  std::deque<Record> queue_;
  bool stopping_ = false;
  // Set by Reopen: how many records at the front of queue_ go to the file before it is reopened.
  std::optional<std::size_t> reopen_after_;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread writer_;  // last: starts after everything it uses
};

}  // namespace bulwark::proxy
