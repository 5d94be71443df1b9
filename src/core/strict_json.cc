#include "core/strict_json.h"

#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"

namespace bulwark::core {
namespace {

// Watches nlohmann's parse events: one set of seen keys per open object, and the depth.
class StrictnessChecker {
 public:
  explicit StrictnessChecker(std::size_t max_depth) : max_depth_(max_depth) {}

  bool operator()(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (static_cast<std::size_t>(depth) > max_depth_) {
      too_deep_ = true;
      return false;
    }
    if (event == Event::object_start) {
      seen_.emplace_back();
    } else if (event == Event::object_end && !seen_.empty()) {
      seen_.pop_back();
    } else if (event == Event::key && !seen_.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!seen_.back().insert(key).second && duplicate_.empty()) {
        duplicate_ = key;
      }
    }
    return true;
  }
  bool too_deep() const { return too_deep_; }
  const std::string& duplicate() const { return duplicate_; }

 private:
  std::size_t max_depth_;
  std::vector<std::set<std::string>> seen_;
  std::string duplicate_;
  bool too_deep_ = false;
};

}  // namespace

absl::StatusOr<nlohmann::json> ParseStrictJson(std::string_view text, std::size_t max_depth) {
  StrictnessChecker checker(max_depth);
  nlohmann::json doc = nlohmann::json::parse(
      text.begin(), text.end(),
      [&checker](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        return checker(depth, event, parsed);
      },
      /*allow_exceptions=*/false);
  if (checker.too_deep()) {
    return absl::InvalidArgumentError(fmt::format("JSON nests deeper than {} levels", max_depth));
  }
  if (doc.is_discarded()) {
    return absl::InvalidArgumentError("not valid JSON");
  }
  if (!checker.duplicate().empty()) {
    return absl::InvalidArgumentError(
        fmt::format("JSON object repeats the key '{}'", checker.duplicate()));
  }
  return doc;
}

}  // namespace bulwark::core
