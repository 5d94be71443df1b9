// ASCII character helpers shared by the codecs (hex, percent-encoding). Pure; thread-safe.
#pragma once

namespace bulwark::core {

// Returns the value of a hexadecimal digit (either case), or -1 for any other character.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace bulwark::core
