#include "authority/api/json_body.h"

#include <algorithm>

#include "core/status.h"
#include "core/strict_json.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace bulwark::authority::api {

absl::StatusOr<std::map<std::string, std::string>> ParseStringFields(
    std::string_view body, const std::vector<FieldSpec>& fields) {
  absl::StatusOr<nlohmann::json> parsed = core::ParseStrictJson(body);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(fmt::format("request body: {}", parsed.status().message()));
  }
  const nlohmann::json& doc = *parsed;
  if (!doc.is_object()) {
    return absl::InvalidArgumentError("request body must be a JSON object");
  }
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
