// Helpers shared by the crypto unit tests: files in a temp dir, the openssl CLI, Wycheproof
// vectors read in place from BULWARK_TESTDATA_DIR. Test-thread only.
#pragma once

#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/bytes.h"
#include "nlohmann/json.hpp"
#include "tests/support/run_command.h"

namespace bulwark::crypto::test {

// Writes `content` to `path`, replacing it; returns whether it worked.
inline bool WriteText(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return static_cast<bool>(out);
}

inline bool WriteBytes(const std::string& path, const Bytes& content) {
  return WriteText(path,
                   std::string_view(reinterpret_cast<const char*>(content.data()), content.size()));
}

// Returns the whole file at `path` ("" if it cannot be read).
inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs `openssl args...` with `input` on stdin.
inline bulwark::testing::CommandResult Openssl(std::vector<std::string> args,
                                               const std::string& input = "") {
  args.insert(args.begin(), "openssl");
  return bulwark::testing::RunCommand(args, input);
}

// Returns a readable account of a command's result, for assertion messages.
inline std::string Describe(const bulwark::testing::CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// Parses a Wycheproof file in BULWARK_TESTDATA_DIR/wycheproof (null JSON if unreadable).
inline nlohmann::json LoadWycheproof(const std::string& name) {
  std::string text = ReadText(std::string(BULWARK_TESTDATA_DIR) + "/wycheproof/" + name);
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

// Decodes hex from test data, failing loudly on bad data.
inline Bytes Hex(std::string_view text) {
  absl::StatusOr<Bytes> bytes = HexDecode(text);
  return bytes.ok() ? *bytes : Bytes{0xde, 0xad};
}

// Decodes a hex string field of a Wycheproof vector.
inline Bytes HexField(const nlohmann::json& field) { return Hex(field.get<std::string>()); }

}  // namespace bulwark::crypto::test
