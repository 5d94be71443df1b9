// The sidecar's access log: one JSON line per request, written by a LineLog (bounded queue, one
// writer thread, drops counted).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/line_log.h"
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
  std::string route;     // the gateway's route (its pattern); empty in the sidecar
  // The sidecar's worker (event loop) that served the request; unset in the gateway.
  std::optional<std::size_t> worker;
};

// Returns `record` as one JSON object followed by '\n'; time is RFC 3339 UTC with milliseconds.
// trace_id and route are omitted when empty, worker when unset.
std::string FormatAccessRecord(const AccessRecord& record);

// Returns `time` as RFC 3339 UTC with milliseconds ("2026-12-01T11:00:51.123Z").
std::string FormatRfc3339Millis(std::chrono::system_clock::time_point time);

// Returns the trace id (32 lowercase hex digits) of a W3C traceparent header value
// ("00-<trace id>-<parent id>-<flags>"), or "" when it is malformed or all zeros.
std::string TraceIdFromTraceparent(std::string_view traceparent);

// Returns `target` without its query string (and an absolute-form target's scheme and host).
std::string PathWithoutQuery(std::string_view target);

// Returns FormatAccessRecord(record): the line LineLog<AccessRecord> writes.
inline std::string FormatLine(const AccessRecord& record) { return FormatAccessRecord(record); }

using AccessLog = LineLog<AccessRecord>;
using AccessLogPtr = std::unique_ptr<AccessLog>;

}  // namespace bulwark::proxy
