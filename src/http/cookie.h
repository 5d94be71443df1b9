// The Cookie request header (RFC 6265 §4.2, §5.4): `name=value; name2=value2`. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"

namespace bulwark::http {

// Returns the value of the cookie `name` in the request's Cookie header(s), or nothing when it is
// absent or sent more than once (two values for one name are ambiguous, so neither is trusted).
// A value in double quotes is returned without them; names compare case-sensitively.
std::optional<std::string> FindCookie(const Headers& headers, std::string_view name);

}  // namespace bulwark::http
