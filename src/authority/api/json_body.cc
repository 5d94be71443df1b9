#include "authority/api/json_body.h"

#include <algorithm>
#include <set>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace bulwark::authority::api {
namespace {

// Detects duplicate keys while nlohmann parses: one set of seen keys per open object.
struct DuplicateKeyDetector {
  std::vector<std::set<std::string>> seen;
  std::string duplicate;

  bool operator()(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    (void)depth;
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      seen.emplace_back();
    } else if (event == Event::object_end && !seen.empty()) {
      seen.pop_back();
    } else if (event == Event::key && !seen.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!seen.back().insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  }
};

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseStringFields(
    std::string_view body, const std::vector<FieldSpec>& fields) {
  DuplicateKeyDetector detector;
  nlohmann::json doc = nlohmann::json::parse(
      body.begin(), body.end(),
      [&detector](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        return detector(depth, event, parsed);
      },
      /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("request body is not valid JSON");
  if (!detector.duplicate.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("request body repeats the field '{}'", detector.duplicate));
  }
  if (!doc.is_object()) return absl::InvalidArgumentError("request body must be a JSON object");
  std::map<std::string, std::string> out;
  for (auto& item : doc.items()) {
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    auto spec = std::find_if(fields.begin(), fields.end(),
                             [&key](const FieldSpec& f) { return f.name == key; });
    if (spec == fields.end()) {
      return absl::InvalidArgumentError(fmt::format("unknown field '{}'", key));
    }
    if (!value.is_string()) {
      return absl::InvalidArgumentError(fmt::format("field '{}' must be a string", key));
    }
    std::string text = value.get<std::string>();
    if (text.size() > spec->max_bytes) {
      return absl::InvalidArgumentError(
          fmt::format("field '{}' is longer than {} bytes", key, spec->max_bytes));
    }
    out.emplace(key, std::move(text));
  }
  for (const FieldSpec& spec : fields) {
    if (spec.required && !out.contains(spec.name)) {
      return absl::InvalidArgumentError(fmt::format("missing field '{}'", spec.name));
    }
  }
  return out;
}

}  // namespace bulwark::authority::api
