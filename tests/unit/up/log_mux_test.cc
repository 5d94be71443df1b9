#include "up/log_mux.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace bulwark::up {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(LogMuxTest, PrefixesWholeLinesAndKeepsAFilePerProcess) {
  testing::TempDir dir;
  std::FILE* out = std::fopen(dir.File("combined").c_str(), "w");
  ASSERT_NE(out, nullptr);
  {
    LogMux mux(out);
    absl::StatusOr<sandbox::UniqueFd> a = mux.Open("contract", dir.File("contract.log"));
    absl::StatusOr<sandbox::UniqueFd> b = mux.Open("sidecar-user", dir.File("sidecar-user.log"));
    ASSERT_TRUE(a.ok() && b.ok());
    // A line written in two pieces comes out whole; a last line without newline still shows.
    ASSERT_EQ(write(a->get(), "listen", 6), 6);
    ASSERT_EQ(write(b->get(), "ready\n", 6), 6);
    ASSERT_EQ(write(a->get(), "ing on 9001\nbye", 15), 15);
    mux.Say("stopping");
    a->Reset();
    b->Reset();
  }  // waits for both pipes to end
  std::fclose(out);
  std::string combined = Slurp(dir.File("combined"));
  EXPECT_NE(combined.find("contract         | listening on 9001\n"), std::string::npos) << combined;
  EXPECT_NE(combined.find("contract         | bye\n"), std::string::npos) << combined;
  EXPECT_NE(combined.find("sidecar-user     | ready\n"), std::string::npos) << combined;
  EXPECT_NE(combined.find("up               | stopping\n"), std::string::npos) << combined;
  EXPECT_EQ(Slurp(dir.File("contract.log")), "listening on 9001\nbye");
  EXPECT_EQ(Slurp(dir.File("sidecar-user.log")), "ready\n");
}

TEST(LogMuxTest, AnUnwritableLogFileIsAClearError) {
  LogMux mux(stdout);
  absl::StatusOr<sandbox::UniqueFd> fd = mux.Open("x", "/nonexistent-dir/x.log");
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.status().message().find("/nonexistent-dir/x.log"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::up
