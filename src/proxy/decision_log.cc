// Decision log formatting.
#include "proxy/decision_log.h"

#include "nlohmann/json.hpp"
#include "proxy/access_log.h"

namespace bulwark::proxy {

std::string FormatDecisionRecord(const DecisionRecord& record) {
  nlohmann::ordered_json line = {{"time", FormatRfc3339Millis(record.time)},
                                 {"peer", record.peer},
                                 {"method", record.method},
                                 {"path", record.path},
                                 {"decision", record.allowed ? "allow" : "deny"}};
  if (record.rule >= 0) {
    line["rule"] = record.rule;
    line["description"] = record.description;
  }
  if (!record.allowed) {
    line["reason"] = record.reason;
  }
  if (!record.trace_id.empty()) {
    line["trace_id"] = record.trace_id;
  }
  line["policy_version"] = record.policy_version;
  // Replace invalid UTF-8 rather than throw: method and a refused path come from the network.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

absl::StatusOr<std::shared_ptr<DecisionLog>> DecisionLog::Open(const std::string& path,
                                                               std::string_view option,
                                                               std::uint32_t sample) {
  absl::StatusOr<LineDestination> out = OpenLineSink(path, option);
  if (!out.ok()) {
    return out.status();
  }
  return std::make_shared<DecisionLog>(std::move(out->sink), sample,
                                       LineLog<DecisionRecord>::kDefaultCapacity,
                                       std::move(out->reopen));
}

}  // namespace bulwark::proxy
