#include "crypto/bytes.h"

#include <array>

#include "absl/status/status.h"
#include "core/ascii.h"
#include "fmt/format.h"

namespace bulwark::crypto {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Returns the 6-bit value of every alphabet character, -1 for anything else.
std::array<int, 256> ReverseTable(std::string_view alphabet) {
  std::array<int, 256> table;
  table.fill(-1);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  }
  return table;
}

std::string EncodeBase64(const Bytes& data, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  std::size_t rest = data.size() - i;
  if (rest > 0) {
    std::uint32_t v = data[i] << 16;
    if (rest == 2) {
      v |= data[i + 1] << 8;
    }
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? std::string(1, alphabet[(v >> 6) & 63]) : std::string(pad ? "=" : "");
    out += pad ? "=" : "";
  }
  return out;
}

// Decodes unpadded base64 digits from `table`. Refuses a length of 1 mod 4, characters outside
// the alphabet and non-zero trailing bits, so that every byte string has exactly one encoding.
absl::StatusOr<Bytes> DecodeDigits(std::string_view text, const std::array<int, 256>& table,
                                   std::string_view what) {
  if (text.size() % 4 == 1) {
    return absl::InvalidArgumentError(fmt::format("{}: invalid length {}", what, text.size()));
  }
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    int v = table[static_cast<unsigned char>(text[i])];
    if (v < 0) {
      return absl::InvalidArgumentError(fmt::format("{}: invalid character at offset {}", what, i));
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) {
    return absl::InvalidArgumentError(fmt::format("{}: non-zero trailing bits", what));
  }
  return out;
}

}  // namespace

std::string HexEncode(const Bytes& data) {
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out += kHexDigits[b >> 4];
    out += kHexDigits[b & 15];
  }
  return out;
}

absl::StatusOr<Bytes> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) {
    return absl::InvalidArgumentError(fmt::format("hex: odd length {}", text.size()));
  }
  Bytes out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = core::HexDigitValue(text[i]);
    int lo = core::HexDigitValue(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          fmt::format("hex: invalid character at offset {}", hi < 0 ? i : i + 1));
    }
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string Base64Encode(const Bytes& data) { return EncodeBase64(data, kBase64Alphabet, true); }

absl::StatusOr<Bytes> Base64Decode(std::string_view text) {
  static const std::array<int, 256> kTable = ReverseTable(kBase64Alphabet);
  if (text.size() % 4 != 0) {
    return absl::InvalidArgumentError(
        fmt::format("base64: length {} is not a multiple of 4", text.size()));
  }
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  // Any '=' left in the digits (a third one, or one in the middle) is refused as a character.
  return DecodeDigits(text.substr(0, text.size() - padding), kTable, "base64");
}

std::string Base64UrlEncode(const Bytes& data) {
  return EncodeBase64(data, kBase64UrlAlphabet, false);
}

absl::StatusOr<Bytes> Base64UrlDecode(std::string_view text) {
  static const std::array<int, 256> kTable = ReverseTable(kBase64UrlAlphabet);
  return DecodeDigits(text, kTable, "base64url");
}

}  // namespace bulwark::crypto
