// Strict parsing of application/x-www-form-urlencoded request bodies (the OAuth 2.0 endpoints,
// RFC 6749 §3.2 and Appendix B): well-formed percent-encoding only, no control characters, size
// and count limits, no repeated parameter, only the known parameters kept (unknown ones are
// ignored, as RFC 6749 §3.2 requires). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "authority/api/json_body.h"

namespace bulwark::authority::api {

struct FormLimits {
  std::size_t max_bytes = 64 * 1024;  // the whole body
  std::size_t max_pairs = 32;         // name=value pairs, known or not
  std::size_t max_name_bytes = 64;    // any name, decoded
};

// Parses `body` into the parameters named in `fields` that have a non-empty value (RFC 6749
// §3.2: "parameters sent without a value MUST be treated as if they were omitted"). '+' is a
// space and %XX a byte. InvalidArgument, naming the parameter where there is one, for: a body
// over the limits; a malformed %-escape; a decoded control character (0x00-0x1f, 0x7f) or a
// value that is not UTF-8; a known parameter given twice; a value over its max_bytes; a required
// parameter missing.
absl::StatusOr<std::map<std::string, std::string>> ParseFormFields(
    std::string_view body, const std::vector<FieldSpec>& fields, const FormLimits& limits = {});

}  // namespace bulwark::authority::api
