// The sidecar's decision log: one JSON line per authorization decision on inbound requests
// (every deny, and one allow in `sample`), written by a LineLog (bounded queue, one writer
// thread, drops counted), so the request path never waits for the disk. The 403 a caller gets
// says nothing internal; the reason is here. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/line_log.h"

namespace bulwark::proxy {

struct DecisionRecord {
  std::chrono::system_clock::time_point time;  // when the request arrived
  std::string peer;                            // the caller's verified SPIFFE ID
  std::string method;
  std::string path;  // normalized; the raw path when normalization refused it
  bool allowed = false;
  int rule = -1;            // the allowing rule, or the rule whose `when` was false; -1: none
  std::string description;  // of `rule` (ServicePolicy::RuleDescription); empty when rule < 0
  std::string reason;       // denied: policy::DenyReasonName or "bad_path: <why>"; else empty
  std::string trace_id;     // from traceparent; empty when absent
  std::int64_t policy_version = 0;
};

// Returns `record` as one JSON object and '\n': time (RFC 3339 UTC, milliseconds), peer, method,
// path, decision ("allow"/"deny"), rule and description (when rule >= 0), reason (deny),
// trace_id (when set), policy_version.
std::string FormatDecisionRecord(const DecisionRecord& record);

// Returns FormatDecisionRecord(record): the line LineLog<DecisionRecord> writes.
inline std::string FormatLine(const DecisionRecord& record) { return FormatDecisionRecord(record); }

class DecisionLog {
 public:
  // Starts a log handing lines to `sink` that keeps every deny and one allow in `sample`
  // (1: all; 0 counts as 1).
  DecisionLog(LineSink sink, std::uint32_t sample,
              std::size_t capacity = LineLog<DecisionRecord>::kDefaultCapacity,
              LineReopen reopen = nullptr)
      : log_(std::move(sink), capacity, std::move(reopen)), sample_(sample == 0 ? 1 : sample) {}

  // Opens `path` ("-": stdout) as OpenLineSink does; errors name `option`.
  static absl::StatusOr<std::shared_ptr<DecisionLog>> Open(const std::string& path,
                                                           std::string_view option,
                                                           std::uint32_t sample);

  // Returns whether a decision with this outcome is to be logged (every deny; the 1st, (N+1)th,
  // ... allow), so the caller builds a record only then.
  bool Sampled(bool allowed) {
    return !allowed || allows_.fetch_add(1, std::memory_order_relaxed) % sample_ == 0;
  }
  // Queues `record`; returns false (and counts a drop) when the queue is full.
  bool Submit(DecisionRecord record) { return log_.Submit(std::move(record)); }
  // Reopens the file by its path once the queued records are written (LineLog::Reopen).
  void Reopen() { log_.Reopen(); }
  // Returns how many records were dropped so far.
  std::uint64_t dropped() const { return log_.dropped(); }

 private:
  LineLog<DecisionRecord> log_;
  const std::uint64_t sample_;
  std::atomic<std::uint64_t> allows_{0};
};

}  // namespace bulwark::proxy
