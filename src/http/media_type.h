// Media types (RFC 9110 §8.3.1) as written in Content-Type: `type/subtype` and parameters, for
// the gateway's content-type checks and mesh.yaml's `content_types`. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace bulwark::http {

struct MediaType {
  std::string type;     // lowercase
  std::string subtype;  // lowercase
  // Names lowercase, values as sent (quoted strings unquoted), in the order written.
  std::vector<std::pair<std::string, std::string>> parameters;

  // Returns "type/subtype".
  std::string Essence() const { return type + "/" + subtype; }
  // Returns the value of the parameter `name` (lowercase), or nullopt.
  std::optional<std::string_view> Parameter(std::string_view name) const;
  // Returns whether this is JSON: application/json or a structured suffix +json (RFC 6839).
  bool IsJson() const;
};

// Parses a Content-Type value: `type "/" subtype *( OWS ";" OWS [ name "=" value ] )`, type,
// subtype and names tokens, a value a token or a quoted-string; case-insensitive type, subtype
// and names. Errors (InvalidArgument, a short reason for a 415): anything else, a parameter
// given twice, a value over 1 KiB.
absl::StatusOr<MediaType> ParseMediaType(std::string_view text);

}  // namespace bulwark::http
