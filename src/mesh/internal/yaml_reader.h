// A small typed reader over yaml-cpp nodes for the mesh.yaml parser: every value carries the
// field path that led to it ("services.user.allow[0].from") and its position, so that every
// error can say "<file>:<line>:<column>: <path>: <message>". Not thread-safe (one per parse).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "yaml-cpp/yaml.h"

namespace bulwark::mesh::internal {

// Returns " (did you mean 'x'?)" for the candidate closest to `word` when it is a likely typo
// (small edit distance, case-insensitive), else "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

// Shared state of one parse: the file name for messages and a budget of visited nodes, which
// bounds the work that YAML aliases can multiply.
class ParseContext {
 public:
  explicit ParseContext(std::string file_name) : file_name_(std::move(file_name)) {}

  // Returns an InvalidArgument status "<file>:<line>:<col>: <path>: <message>" (1-based).
  absl::Status Error(const YAML::Mark& mark, std::string_view path, std::string_view message) const;
  // Spends `nodes` from the budget; fails once the document has expanded to too many nodes.
  absl::Status Spend(std::size_t nodes, const YAML::Mark& mark, std::string_view path);

 private:
  std::string file_name_;
  std::size_t budget_ = 1'000'000;
};

// Parses `text`, which must hold at most one YAML document; returns its root (a Null node for
// an empty text). Syntax errors become "<file>:<line>:<col>: invalid YAML: <message>". Works
// around yaml-cpp 0.7's YAML::LoadAll, which loops forever on a stray top-level ','.
absl::StatusOr<YAML::Node> LoadSingleDocument(const std::string& text, const ParseContext& context);

// A YAML node, the field path that reached it and the position to report for it.
class Field {
 public:
  Field(ParseContext& context, YAML::Node node, YAML::Mark mark, std::string path)
      : context_(&context), node_(std::move(node)), mark_(mark), path_(std::move(path)) {}

  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  const YAML::Mark& mark() const { return mark_; }
  ParseContext& context() const { return *context_; }
  bool IsScalar() const { return node_.IsScalar(); }
  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }

  // Returns an error at this field.
  absl::Status Error(std::string_view message) const;
  // Returns an error at this field saying what was expected and what was found instead.
  absl::Status TypeError(std::string_view expected) const;

  // Reads a non-empty scalar.
  absl::StatusOr<std::string> String() const;
  // Reads a plain (unquoted) integer scalar within [min, max].
  absl::StatusOr<std::int64_t> Integer(std::int64_t min, std::int64_t max) const;
  // Reads a duration ("30s", "1h") with core::ParseDuration.
  absl::StatusOr<core::Seconds> Duration() const;
  // Reads a size ("64KiB") with core::ParseSize.
  absl::StatusOr<std::uint64_t> Size() const;
  // Returns the elements of a non-empty sequence, with paths "<path>[i]".
  absl::StatusOr<std::vector<Field>> Elements() const;
  // Reads a non-empty sequence of non-empty scalars; repeated values are errors.
  absl::StatusOr<std::vector<std::string>> StringList() const;
  // Returns the (key, value) entries of a mapping in file order, with value paths
  // "<path>.<key>"; non-scalar and repeated keys are errors.
  absl::StatusOr<std::vector<std::pair<Field, Field>>> Entries() const;

 private:
  ParseContext* context_;
  YAML::Node node_;
  YAML::Mark mark_;
  std::string path_;
};

// A mapping with a fixed set of keys: unknown keys (with a hint) and repeated keys are errors.
class MapReader {
 public:
  // Checks that `field` is a mapping whose keys are all in `known`.
  static absl::StatusOr<MapReader> Create(const Field& field, std::vector<std::string> known);

  const Field& field() const { return field_; }
  // Returns the value of `key`, or nullopt when the key is absent.
  std::optional<Field> Get(std::string_view key) const;
  // Returns the value of `key`; fails at the mapping when it is absent.
  absl::StatusOr<Field> Require(std::string_view key) const;

 private:
  MapReader(Field field, std::vector<std::pair<std::string, Field>> entries)
      : field_(std::move(field)), entries_(std::move(entries)) {}
  Field field_;
  std::vector<std::pair<std::string, Field>> entries_;
};

}  // namespace bulwark::mesh::internal
