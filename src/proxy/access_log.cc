// Access log formatting.
#include "proxy/access_log.h"

#include "fmt/chrono.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace bulwark::proxy {
namespace {

bool IsLowerHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string FormatRfc3339Millis(std::chrono::system_clock::time_point time) {
  auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(time);
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(ms);
  long long millis = (ms - seconds).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", seconds, millis);
}

std::string FormatAccessRecord(const AccessRecord& record) {
  nlohmann::ordered_json line = {{"time", FormatRfc3339Millis(record.time)},
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
  if (!record.route.empty()) {
    line["route"] = record.route;
  }
  if (record.worker.has_value()) {
    line["worker"] = *record.worker;
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

}  // namespace bulwark::proxy
