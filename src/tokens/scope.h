// OAuth 2.0 scopes (RFC 6749 §3.3): parsing a space-delimited scope string strictly and
// narrowing one set of scopes to another. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace bulwark::tokens {

// Parses `text` into its scope tokens, in order, without repeats. Tokens are separated by
// single spaces and made of %x21 / %x23-5B / %x5D-7E (no '"' or '\'). InvalidArgument naming the
// problem: an empty token (leading, trailing or double space), a forbidden character, more than
// `max_tokens` tokens, a token given twice.
absl::StatusOr<std::vector<std::string>> ParseScope(std::string_view text,
                                                    std::size_t max_tokens = 64);
// Returns the scopes of the `scope` claim of JWT `claims` (a string, parsed by ParseScope); empty
// when there is none. InvalidArgument "claim 'scope': <why>" when it is not a valid scope string.
absl::StatusOr<std::vector<std::string>> ScopeClaim(const nlohmann::json& claims);
// Returns the scopes joined by single spaces.
std::string JoinScope(const std::vector<std::string>& scopes);
// Returns `requested` if every one of its scopes is in `granted` (narrowing); otherwise
// PermissionDenied naming the first scope that would widen the grant.
absl::StatusOr<std::vector<std::string>> NarrowScope(const std::vector<std::string>& granted,
                                                     const std::vector<std::string>& requested);

}  // namespace bulwark::tokens
