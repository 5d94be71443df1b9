// The path level of the policy matcher: a trie over path-template segments with literal
// children, one parameter child per node, and the entries whose template ends at a node or
// continues there with "/**". Built once by the policy compiler; Match is const and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "policy/path_template.h"

namespace bulwark::policy::internal {

// Matches found for one request (entries of the trie), kept on the stack in the common case.
using MatchList = absl::InlinedVector<std::uint32_t, 16>;

class PathTrie {
 public:
  PathTrie();
  PathTrie(PathTrie&&) noexcept;
  PathTrie& operator=(PathTrie&&) noexcept;
  ~PathTrie();

  // Adds `path_template`, reported as `entry` when it matches.
  void Insert(const PathTemplate& path_template, std::uint32_t entry);
  // Returns whether nothing was inserted.
  bool empty() const { return empty_; }
  // Appends to `out` the entry of every template that matches `segments` (SplitPathSegments of
  // a normalized path), in no particular order. A parameter matches one non-empty segment.
  void Match(std::span<const std::string_view> segments, MatchList& out) const;

 private:
  struct Node;
  static void MatchFrom(const Node& node, std::span<const std::string_view> segments,
                        MatchList& out);
  std::unique_ptr<Node> root_;
  bool empty_ = true;
};

}  // namespace bulwark::policy::internal
