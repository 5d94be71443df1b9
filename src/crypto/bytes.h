// Byte strings and their text encodings (hex, base64, base64url without padding). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace bulwark::crypto {

using Bytes = std::vector<std::uint8_t>;

// Returns the bytes of `s` unchanged.
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
// Returns `b` as a std::string (binary-safe).
inline std::string ToString(const Bytes& b) { return std::string(b.begin(), b.end()); }

// Returns lowercase hex.
std::string HexEncode(const Bytes& data);
// Decodes hex (either case); fails on odd length or a non-hex character.
absl::StatusOr<Bytes> HexDecode(std::string_view text);
// Returns standard base64 with padding.
std::string Base64Encode(const Bytes& data);
// Decodes standard base64 with padding; fails on anything else (whitespace included).
absl::StatusOr<Bytes> Base64Decode(std::string_view text);
// Returns base64url without padding (RFC 4648 §5, as JOSE uses it).
std::string Base64UrlEncode(const Bytes& data);
// Decodes base64url without padding, strictly: padding, other alphabets and non-zero trailing
// bits are refused.
absl::StatusOr<Bytes> Base64UrlDecode(std::string_view text);

}  // namespace bulwark::crypto
