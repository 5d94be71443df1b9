// Error handling for all of bulwark: absl::Status / absl::StatusOr values and the macros that
// propagate them, plus the release/debug invariant checks. Thread-safe: only stateless macros.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"

// Lets fmt::format print absl::string_view (Status::message()); Debian's abseil keeps its own
// string_view type rather than aliasing std::string_view.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view text, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(text.data(), text.size()),
                                                    ctx);
  }
};

#define BULWARK_CONCAT_INNER_(a, b) a##b
#define BULWARK_CONCAT_(a, b) BULWARK_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define BULWARK_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status bulwark_status_ = (expr);           \
    if (!bulwark_status_.ok()) return bulwark_status_; \
  } while (false)

// Evaluates `rexpr` (a StatusOr); on error returns its status, else moves the value into `lhs`.
#define BULWARK_ASSIGN_OR_RETURN(lhs, rexpr) \
  BULWARK_ASSIGN_OR_RETURN_IMPL_(BULWARK_CONCAT_(bulwark_statusor_, __LINE__), lhs, rexpr)
#define BULWARK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();        \
  lhs = std::move(tmp).value()

// Aborts the process: for broken invariants after which it cannot continue. Never use it on
// anything that came from outside the process.
#define BULWARK_CHECK(cond)                                                                    \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "bulwark: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (false)

#ifdef NDEBUG
#define BULWARK_DCHECK(cond) \
  do {                       \
  } while (false)
#else
#define BULWARK_DCHECK(cond) BULWARK_CHECK(cond)
#endif
