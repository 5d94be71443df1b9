#include "policy/internal/path_trie.h"

namespace bulwark::policy::internal {

struct PathTrie::Node {
  absl::flat_hash_map<std::string, std::unique_ptr<Node>> literals;
  std::unique_ptr<Node> param;
  std::vector<std::uint32_t> ends;      // templates that end here
  std::vector<std::uint32_t> any_rest;  // templates that end here with "/**"
};

PathTrie::PathTrie() : root_(std::make_unique<Node>()) {}
PathTrie::PathTrie(PathTrie&&) noexcept = default;
PathTrie& PathTrie::operator=(PathTrie&&) noexcept = default;
PathTrie::~PathTrie() = default;

void PathTrie::Insert(const PathTemplate& path_template, std::uint32_t entry) {
  Node* node = root_.get();
  for (const PathTemplate::Segment& segment : path_template.segments) {
    std::unique_ptr<Node>& child = segment.is_param ? node->param : node->literals[segment.text];
    if (!child) {
      child = std::make_unique<Node>();
    }
    node = child.get();
  }
  (path_template.any_rest ? node->any_rest : node->ends).push_back(entry);
  empty_ = false;
}

void PathTrie::Match(std::span<const std::string_view> segments, MatchList& out) const {
  MatchFrom(*root_, segments, out);
}

// Recursion is bounded by the depth of the longest template: it only follows existing nodes.
void PathTrie::MatchFrom(const Node& node, std::span<const std::string_view> segments,
                         MatchList& out) {
  out.insert(out.end(), node.any_rest.begin(), node.any_rest.end());
  if (segments.empty()) {
    out.insert(out.end(), node.ends.begin(), node.ends.end());
    return;
  }
  const std::string_view segment = segments.front();
  if (!node.literals.empty()) {
    // Debian's abseil has its own string_view type for heterogeneous lookup.
    auto it = node.literals.find(absl::string_view(segment.data(), segment.size()));
    if (it != node.literals.end()) {
      MatchFrom(*it->second, segments.subspan(1), out);
    }
  }
  if (node.param && !segment.empty()) {
    MatchFrom(*node.param, segments.subspan(1), out);
  }
}

}  // namespace bulwark::policy::internal
