#include "mesh/internal/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "core/status.h"
#include "core/units.h"
#include "fmt/format.h"
#include "yaml-cpp/eventhandler.h"

namespace bulwark::mesh::internal {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Optimal string alignment distance: insertions, deletions, substitutions and transpositions.
std::size_t EditDistance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= m; ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string_view KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "an empty value";
  }
}

std::string ToStd(absl::string_view s) { return std::string(s.data(), s.size()); }

// Picks the position to report for `value`: an empty value has no useful position of its
// own (yaml-cpp puts it at the next token), so report the key or the enclosing node.
YAML::Mark MarkFor(const YAML::Node& value, const YAML::Mark& fallback) {
  if (value.IsNull() || value.Mark().is_null()) {
    return fallback;
  }
  return value.Mark();
}

// Records where a document and its first node start, to tell a second document from a parser
// that is stuck on a token it cannot place.
class DocumentProbe : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { First(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { First(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    First(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    First(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    First(mark);
  }
  void OnMapEnd() override {}

  YAML::Mark start = YAML::Mark::null_mark();
  YAML::Mark first_node = YAML::Mark::null_mark();

 private:
  void First(const YAML::Mark& mark) {
    if (first_node.is_null()) {
      first_node = mark;
    }
  }
};

// Explains the most common syntax error in mesh.yaml: an unquoted path template inside a flow
// list ([/users/{id}]), where '{' opens a flow mapping.
std::string FlowTemplateHint(const std::string& text, const YAML::Mark& mark) {
  if (mark.is_null() || mark.pos < 0 || static_cast<std::size_t>(mark.pos) > text.size()) {
    return "";
  }
  const std::size_t begin = text.rfind('\n', mark.pos == 0 ? 0 : mark.pos - 1);
  const std::size_t start = begin == std::string::npos ? 0 : begin + 1;
  const std::string_view line =
      std::string_view(text).substr(start, text.find('\n', start) - start);
  if (line.find('[') != std::string_view::npos && line.find("/{") != std::string_view::npos) {
    return " (inside [ ], quote paths with templates: [\"/users/{id}\"])";
  }
  return "";
}

// Fails when `text` holds a second document (or content the parser cannot place).
absl::Status CheckSingleDocument(const std::string& text, const ParseContext& context) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentProbe first;
  if (!parser.HandleNextDocument(first)) {
    return absl::OkStatus();
  }
  DocumentProbe second;
  // At most two calls: yaml-cpp does not advance past a stray top-level ','.
  if (!parser.HandleNextDocument(second)) {
    return absl::OkStatus();
  }
  const YAML::Mark& at = second.start;
  const bool is_document =
      !at.is_null() && at.pos >= 0 && std::string_view(text).substr(at.pos).starts_with("---");
  if (is_document) {
    return context.Error(at, "", "only one YAML document is allowed");
  }
  const YAML::Mark& stuck = second.first_node.is_null() ? at : second.first_node;
  const bool in_text =
      !stuck.is_null() && stuck.pos >= 0 && static_cast<std::size_t>(stuck.pos) < text.size();
  return context.Error(stuck, "invalid YAML",
                       in_text ? fmt::format("unexpected '{}'", text[stuck.pos])
                               : std::string("unexpected content after the document"));
}

}  // namespace

absl::StatusOr<YAML::Node> LoadSingleDocument(const std::string& text,
                                              const ParseContext& context) {
  try {
    YAML::Node root = YAML::Load(text);
    BULWARK_RETURN_IF_ERROR(CheckSingleDocument(text, context));
    return root;
  } catch (const YAML::Exception& e) {
    return context.Error(e.mark, "invalid YAML", e.msg + FlowTemplateHint(text, e.mark));
  }
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.size() > 64) {
    return "";
  }
  const std::string lower = Lower(word);
  const std::string* best = nullptr;
  std::size_t best_distance = 0;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = EditDistance(lower, Lower(candidate));
    if (best == nullptr || distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  if (best == nullptr) {
    return "";
  }
  const std::size_t longest = std::max(word.size(), best->size());
  const std::size_t allowed = longest <= 4 ? 1 : (longest <= 8 ? 2 : 3);
  if (best_distance > allowed) {
    return "";
  }
  return fmt::format(" (did you mean '{}'?)", *best);
}

absl::Status ParseContext::Error(const YAML::Mark& mark, std::string_view path,
                                 std::string_view message) const {
  const int line = mark.is_null() ? 1 : mark.line + 1;
  const int column = mark.is_null() ? 1 : mark.column + 1;
  return absl::InvalidArgumentError(fmt::format("{}:{}:{}: {}: {}", file_name_, line, column,
                                                path.empty() ? "(document)" : path, message));
}

absl::Status ParseContext::Spend(std::size_t nodes, const YAML::Mark& mark, std::string_view path) {
  if (nodes > budget_) {
    budget_ = 0;
    return Error(mark, path, "the document expands to too many values (through aliases?)");
  }
  budget_ -= nodes;
  return absl::OkStatus();
}

absl::Status Field::Error(std::string_view message) const {
  return context_->Error(mark_, path_, message);
}

absl::Status Field::TypeError(std::string_view expected) const {
  if (node_.IsScalar()) {
    return Error(fmt::format("expected {}, got '{}'", expected, node_.Scalar()));
  }
  return Error(fmt::format("expected {}, got {}", expected, KindName(node_)));
}

absl::StatusOr<std::string> Field::String() const {
  if (!node_.IsScalar()) {
    return TypeError("a string");
  }
  if (node_.Scalar().empty()) {
    return Error("must not be empty");
  }
  return node_.Scalar();
}

absl::StatusOr<std::int64_t> Field::Integer(std::int64_t min, std::int64_t max) const {
  // A quoted scalar ("9001") is a string in YAML; yaml-cpp tags plain scalars "?".
  if (!node_.IsScalar() || node_.Tag() != "?") {
    return TypeError("an integer");
  }
  const std::string& text = node_.Scalar();
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) {
    return Error(fmt::format("must be between {} and {}, got {}", min, max, text));
  }
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return TypeError("an integer");
  }
  if (value < min || value > max) {
    return Error(fmt::format("must be between {} and {}, got {}", min, max, value));
  }
  return value;
}

absl::StatusOr<core::Seconds> Field::Duration() const {
  BULWARK_ASSIGN_OR_RETURN(std::string text, String());
  auto duration = core::ParseDuration(text);
  if (!duration.ok()) {
    return Error(ToStd(duration.status().message()));
  }
  return *duration;
}

absl::StatusOr<std::uint64_t> Field::Size() const {
  BULWARK_ASSIGN_OR_RETURN(std::string text, String());
  auto size = core::ParseSize(text);
  if (!size.ok()) {
    return Error(ToStd(size.status().message()));
  }
  return *size;
}

absl::StatusOr<std::vector<Field>> Field::Elements() const {
  if (!node_.IsSequence()) {
    return TypeError("a list");
  }
  if (node_.size() == 0) {
    return Error("must not be an empty list");
  }
  BULWARK_RETURN_IF_ERROR(context_->Spend(node_.size(), mark_, path_));
  std::vector<Field> elements;
  elements.reserve(node_.size());
  std::size_t i = 0;
  for (auto it = node_.begin(); it != node_.end(); ++it, ++i) {
    const YAML::Node element = *it;
    elements.emplace_back(*context_, element, MarkFor(element, mark_),
                          fmt::format("{}[{}]", path_, i));
  }
  return elements;
}

absl::StatusOr<std::vector<std::string>> Field::StringList() const {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, Elements());
  std::vector<std::string> values;
  for (const Field& element : elements) {
    BULWARK_ASSIGN_OR_RETURN(std::string value, element.String());
    if (std::find(values.begin(), values.end(), value) != values.end()) {
      return element.Error(fmt::format("'{}' is listed twice", value));
    }
    values.push_back(std::move(value));
  }
  return values;
}

absl::StatusOr<std::vector<std::pair<Field, Field>>> Field::Entries() const {
  if (!node_.IsMap()) {
    return TypeError("a mapping");
  }
  BULWARK_RETURN_IF_ERROR(context_->Spend(node_.size() + 1, mark_, path_));
  std::vector<std::pair<Field, Field>> entries;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    // Copies: yaml-cpp's iterator hands out a temporary pair, so references would dangle.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    const YAML::Mark key_mark = MarkFor(key, mark_);
    if (!key.IsScalar() || key.Scalar().empty()) {
      return context_->Error(key_mark, path_, "keys must be non-empty strings");
    }
    const std::string& name = key.Scalar();
    const std::string path = path_.empty() ? name : fmt::format("{}.{}", path_, name);
    for (const auto& [seen, unused] : entries) {
      if (seen.node().Scalar() == name) {
        return context_->Error(
            key_mark, path,
            fmt::format("key '{}' is repeated (first at line {})", name, seen.mark().line + 1));
      }
    }
    entries.emplace_back(Field(*context_, key, key_mark, path),
                         Field(*context_, value, MarkFor(value, key_mark), path));
  }
  return entries;
}

absl::StatusOr<MapReader> MapReader::Create(const Field& field, std::vector<std::string> known) {
  BULWARK_ASSIGN_OR_RETURN(auto entries, field.Entries());
  std::vector<std::pair<std::string, Field>> by_name;
  for (auto& [key, value] : entries) {
    const std::string& name = key.node().Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return key.Error(fmt::format("unknown key '{}'{}", name, DidYouMean(name, known)));
    }
    by_name.emplace_back(name, std::move(value));
  }
  return MapReader(field, std::move(by_name));
}

std::optional<Field> MapReader::Get(std::string_view key) const {
  for (const auto& [name, value] : entries_) {
    if (name == key) {
      return value;
    }
  }
  return std::nullopt;
}

absl::StatusOr<Field> MapReader::Require(std::string_view key) const {
  std::optional<Field> value = Get(key);
  if (!value) {
    const std::string path =
        field_.path().empty() ? std::string(key) : fmt::format("{}.{}", field_.path(), key);
    return field_.context().Error(field_.mark(), path, "required field is missing");
  }
  return *value;
}

}  // namespace bulwark::mesh::internal
