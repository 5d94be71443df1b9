// File positions of offsets into a `when:` expression.
#include "policy/internal/expr_source.h"

#include <algorithm>

#include "core/status.h"

namespace bulwark::policy::internal {

mesh::SourcePosition ExprSource::PositionOf(std::size_t offset) const {
  offset = std::min(offset, text.size());
  std::string_view before = text.substr(0, offset);
  std::size_t newlines = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  std::size_t line_start = newlines == 0 ? 0 : before.rfind('\n') + 1;
  return {position.line + static_cast<int>(newlines),
          position.column + static_cast<int>(offset - line_start)};
}

absl::Status ExprSource::Error(std::size_t offset, std::string_view message) const {
  mesh::SourcePosition at = PositionOf(offset);
  return absl::InvalidArgumentError(
      fmt::format("{}:{}:{}: {}", file_name, at.line, at.column, message));
}

}  // namespace bulwark::policy::internal
