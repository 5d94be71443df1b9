// The compiled form of a `when:` expression: a flat vector of nodes whose operands are indices
// of earlier nodes, with variable names resolved and constant lists pre-built (large ones as
// hash sets). Built once by the compiler, read by the evaluator. Immutable after compilation,
// so thread-safe to share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace bulwark::policy::internal {

enum class Op : std::uint8_t {
  // Constants: kBool and kInt in Node::value; kString and kList index strings / lists.
  kBool,
  kInt,
  kString,
  kList,
  // Variables: kToken indexes token_paths; kPath, kQuery, kHeader index strings (the name;
  // header names in lower case).
  kToken,
  kScope,
  kPath,
  kQuery,
  kHeader,
  kPeerId,
  kPeerService,
  // Operators: `a` (and `b`) are operand nodes; kAnd and kOr list `b` operands from
  // operands[a].
  kHas,
  kNot,
  kAnd,
  kOr,
  kEqual,
  kNotEqual,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kIn,
  kSize,
  kStartsWith,
  kEndsWith,
};

struct Node {
  Op op = Op::kBool;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  std::int64_t value = 0;
};

// A list literal: strings or integers, never both.
struct ConstList {
  // Lists longer than this are also kept as a hash set; shorter ones are scanned.
  static constexpr std::size_t kSetThreshold = 8;

  bool is_string = true;
  std::vector<std::string> strings;
  std::vector<std::int64_t> ints;
  absl::flat_hash_set<std::string> string_set;
  absl::flat_hash_set<std::int64_t> int_set;

  std::size_t size() const { return is_string ? strings.size() : ints.size(); }
  bool has_set() const { return size() > kSetThreshold; }
};

struct ExprProgram {
  std::vector<Node> nodes;  // operands before the nodes that use them
  std::uint32_t root = 0;
  std::vector<std::uint32_t> operands;  // of kAnd / kOr nodes
  std::vector<std::string> strings;
  std::vector<ConstList> lists;
  std::vector<std::vector<std::string>> token_paths;  // claim, then members
};

}  // namespace bulwark::policy::internal
