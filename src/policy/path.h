// Normalization of request paths before authorization (docs/policy.md#path-normalization): one
// canonical spelling per resource, so that a rule cannot be bypassed by another spelling of the
// same path, and ambiguous spellings refused. The sidecar forwards the normalized path, so the
// service sees what the policy saw. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace bulwark::policy {

// Returns the normalized form of `raw_path`, the path of an origin-form request target (without
// its '?query'):
//  - percent-escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded, other escapes
//    are uppercased (%7b -> %7B); raw characters outside RFC 3986's pchar set and the bytes of
//    non-ASCII characters are percent-encoded;
//  - "." and ".." segments are resolved (RFC 3986 §5.2.4), also when they were spelled with
//    escapes (%2e%2e), after duplicate slashes are collapsed;
//  - a trailing slash is kept ("/a/" and "/a" are different paths).
// Errors (InvalidArgument, a short reason for the 400 answer): a path not starting with '/';
// an encoded '/' or '\' (%2F, %5C); a raw '\'; NUL, control characters (raw or encoded, C1
// included); a malformed escape; ';' (path parameters); '?', '#' or a space; invalid, overlong,
// truncated or surrogate UTF-8 (raw or encoded); Unicode look-alikes of '.', '/' and '\',
// fullwidth ASCII forms and invisible formatting characters; a ".." above the root.
// NormalizePath(*NormalizePath(p)) == *NormalizePath(p).
absl::StatusOr<std::string> NormalizePath(std::string_view raw_path);

}  // namespace bulwark::policy
