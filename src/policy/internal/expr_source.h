// Where a `when:` expression sits in mesh.yaml, for messages that cite file:line:column. Every
// stage of the expression compiler reports its errors through ExprSource::Error. Pure value.
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "mesh/config.h"

namespace bulwark::policy::internal {

struct ExprSource {
  std::string_view text;
  mesh::SourcePosition position;  // of text[0] in the file
  std::string_view file_name;

  // Returns the file position of text[offset]: lines are counted from the newlines in the text
  // (a literal block scalar keeps them), and a column on a later line is counted from the
  // column of text[0] (a block scalar's lines share its indentation).
  mesh::SourcePosition PositionOf(std::size_t offset) const;

  // Returns InvalidArgument "<file>:<line>:<column>: <message>" for text[offset].
  absl::Status Error(std::size_t offset, std::string_view message) const;
};

}  // namespace bulwark::policy::internal
