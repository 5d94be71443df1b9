// Access log formatting and the writer thread.
#include "proxy/access_log.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/status.h"
#include "fmt/chrono.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace bulwark::proxy {
namespace {

std::string Rfc3339(std::chrono::system_clock::time_point time) {
  auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(time);
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(ms);
  long long millis = (ms - seconds).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", seconds, millis);
}

bool IsLowerHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string FormatAccessRecord(const AccessRecord& record) {
  nlohmann::ordered_json line = {{"time", Rfc3339(record.time)},
                                 {"direction", DirectionName(record.direction)},
                                 {"peer", record.peer},
                                 {"method", record.method},
                                 {"path", record.path},
                                 {"status", record.status},
                                 {"request_bytes", record.request_bytes},
                                 {"response_bytes", record.response_bytes},
                                 {"duration_ms", record.duration_ms}};
  if (!record.trace_id.empty()) {
    line["trace_id"] = record.trace_id;
  }
  // Replace invalid UTF-8 rather than throw: method and path come from the network.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string TraceIdFromTraceparent(std::string_view value) {
  // version(2) '-' trace-id(32) '-' parent-id(16) '-' flags(2)
  if (value.size() < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return "";
  }
  std::string_view id = value.substr(3, 32);
  if (!IsLowerHex(value.substr(0, 2)) || !IsLowerHex(id) || value.substr(0, 2) == "ff" ||
      id == std::string(32, '0')) {
    return "";
  }
  return std::string(id);
}

std::string PathWithoutQuery(std::string_view target) {
  if (target.starts_with("http://") || target.starts_with("https://")) {
    std::size_t host = target.find("//") + 2;
    std::size_t slash = target.find_first_of("/?", host);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  return path.empty() ? "/" : std::string(path);
}

absl::StatusOr<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& path,
                                                           std::size_t capacity) {
  if (path == "-") {
    return std::make_unique<AccessLog>(
        [](std::string_view lines) {
          std::fwrite(lines.data(), 1, lines.size(), stdout);
          std::fflush(stdout);
        },
        capacity);
  }
  std::shared_ptr<std::FILE> file(std::fopen(path.c_str(), "ae"), [](std::FILE* f) {
    if (f != nullptr) {
      std::fclose(f);
    }
  });
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("--access-log: cannot open {}: {}", path, std::strerror(errno)));
  }
  return std::make_unique<AccessLog>(
      [file](std::string_view lines) {
        std::fwrite(lines.data(), 1, lines.size(), file.get());
        std::fflush(file.get());
      },
      capacity);
}

AccessLog::AccessLog(Sink sink, std::size_t capacity)
    : sink_(std::move(sink)), capacity_(capacity), writer_([this] { Write(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  ready_.notify_one();
  writer_.join();
}

bool AccessLog::Submit(AccessRecord record) {
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

// Takes the whole queue at once and formats it outside the lock.
void AccessLog::Write() {
  for (;;) {
    std::deque<AccessRecord> batch;
    bool stop = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      batch.swap(queue_);
      stop = stopping_;
    }
    std::string lines;
    for (const AccessRecord& record : batch) {
      lines += FormatAccessRecord(record);
    }
    if (!lines.empty()) {
      sink_(lines);
    }
    if (stop) {
      return;
    }
  }
}

}  // namespace bulwark::proxy
