#include "core/strict_json.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "fmt/format.h"

namespace bulwark::core {
namespace {

using nlohmann::json;

// Objects with up to this many keys are checked for duplicates by a linear scan over the keys
// seen so far (JOSE headers and claims: no allocation beyond one vector per nesting level);
// larger ones switch to a hash set, so a big API body stays linear.
constexpr std::size_t kLinearKeys = 32;

// The keys of one open object.
class KeySet {
 public:
  void Clear() {
    small_.clear();
    large_.clear();
  }
  // Adds `key`; false when the object already has it.
  bool Insert(const std::string& key) {
    if (large_.empty()) {
      if (std::find(small_.begin(), small_.end(), key) != small_.end()) {
        return false;
      }
      if (small_.size() < kLinearKeys) {
        small_.push_back(key);
        return true;
      }
      large_.insert(small_.begin(), small_.end());
    }
    return large_.insert(key).second;
  }

 private:
  std::vector<std::string> small_;
  absl::flat_hash_set<std::string> large_;
};

// An nlohmann SAX handler that builds the document (as nlohmann's own DOM parser does: a stack
// of the open containers, the slot of the last key) and refuses duplicate keys and nesting
// deeper than max_depth. Cheaper than the parse callback, which runs a std::function and
// bookkeeping for every event.
class StrictDomBuilder {
 public:
  StrictDomBuilder(json& root, std::size_t max_depth) : root_(root), max_depth_(max_depth) {}

  bool null() { return Add(nullptr) != nullptr; }
  bool boolean(bool value) { return Add(value) != nullptr; }
  bool number_integer(json::number_integer_t value) { return Add(value) != nullptr; }
  bool number_unsigned(json::number_unsigned_t value) { return Add(value) != nullptr; }
  bool number_float(json::number_float_t value, const std::string&) {
    return Add(value) != nullptr;
  }
  bool string(json::string_t& value) { return Add(std::move(value)) != nullptr; }
  bool binary(json::binary_t& value) { return Add(json::binary(std::move(value))) != nullptr; }
  bool start_object(std::size_t) {
    if (!Enter()) {
      return false;
    }
    if (keys_.size() < stack_.size() + 1) {
      keys_.resize(stack_.size() + 1);
    }
    keys_[stack_.size()].Clear();
    stack_.push_back(Add(json::value_t::object));
    return true;
  }
  bool key(json::string_t& name) {
    if (!keys_[stack_.size() - 1].Insert(name)) {
      duplicate_ = name;
      return false;
    }
    slot_ = &(*stack_.back())[name];
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    if (!Enter()) {
      return false;
    }
    stack_.push_back(Add(json::value_t::array));
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

  bool too_deep() const { return too_deep_; }
  const std::string& duplicate() const { return duplicate_; }

 private:
  bool Enter() {
    if (stack_.size() + 1 > max_depth_) {
      too_deep_ = true;
      return false;
    }
    return true;
  }
  // Places `value` in the open container (or as the root) and returns where it went.
  template <typename Value>
  json* Add(Value&& value) {
    if (stack_.empty()) {
      root_ = json(std::forward<Value>(value));
      return &root_;
    }
    json& top = *stack_.back();
    if (top.is_array()) {
      top.emplace_back(std::forward<Value>(value));
      return &top.back();
    }
    *slot_ = json(std::forward<Value>(value));
    return slot_;
  }

  json& root_;
  const std::size_t max_depth_;
  // Open containers, innermost last. Pointers stay valid: a container only grows while it is
  // the innermost one, and std::map nodes never move.
  std::vector<json*> stack_;
  std::vector<KeySet> keys_;  // by nesting level; kept between objects for their capacity
  json* slot_ = nullptr;      // the value of the last key of the innermost object
  std::string duplicate_;
  bool too_deep_ = false;
};

}  // namespace

absl::StatusOr<nlohmann::json> ParseStrictJson(std::string_view text, std::size_t max_depth) {
  json doc;
  StrictDomBuilder builder(doc, max_depth);
  bool parsed = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                                /*strict=*/true);
  if (builder.too_deep()) {
    return absl::InvalidArgumentError(fmt::format("JSON nests deeper than {} levels", max_depth));
  }
  if (!builder.duplicate().empty()) {
    return absl::InvalidArgumentError(
        fmt::format("JSON object repeats the key '{}'", builder.duplicate()));
  }
  if (!parsed) {
    return absl::InvalidArgumentError("not valid JSON");
  }
  return doc;
}

}  // namespace bulwark::core
