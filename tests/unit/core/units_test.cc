#include "core/units.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::core {
namespace {

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

TEST(UnitsTest, ParsesDurations) {
  EXPECT_EQ(*ParseDuration("30s"), Seconds(30));
  EXPECT_EQ(*ParseDuration("10m"), Seconds(600));
  EXPECT_EQ(*ParseDuration("1h"), Seconds(3600));
  EXPECT_EQ(*ParseDuration("7d"), Seconds(7 * 86400));
}

TEST(UnitsTest, RejectsBadDurations) {
  EXPECT_EQ(Message(ParseDuration("10").status()),
            "duration '10' needs a unit: s, m, h or d (as in 30s, 10m, 1h)");
  EXPECT_EQ(Message(ParseDuration("1 h").status()),
            "duration '1 h' needs a unit: s, m, h or d (as in 30s, 10m, 1h)");
  EXPECT_EQ(Message(ParseDuration("h").status()), "duration 'h' must start with a number");
  EXPECT_EQ(Message(ParseDuration("").status()), "duration '' must start with a number");
  EXPECT_EQ(Message(ParseDuration("-5s").status()), "duration '-5s' must start with a number");
  EXPECT_EQ(Message(ParseDuration("0s").status()), "duration '0s' must be positive");
}

TEST(UnitsTest, RejectsDurationOverflow) {
  EXPECT_EQ(Message(ParseDuration("99999999999999999999s").status()),
            "duration '99999999999999999999s' is too large");
  EXPECT_EQ(Message(ParseDuration("400000d").status()), "duration '400000d' is too large");
  EXPECT_TRUE(ParseDuration("366000d").ok());
}

TEST(UnitsTest, FormatsDurations) {
  EXPECT_EQ(FormatDuration(Seconds(90)), "90s");
  EXPECT_EQ(FormatDuration(Seconds(600)), "10m");
  EXPECT_EQ(FormatDuration(Seconds(7200)), "2h");
  EXPECT_EQ(FormatDuration(Seconds(86400)), "1d");
  EXPECT_EQ(FormatDuration(Seconds(0)), "0s");
  EXPECT_EQ(*ParseDuration(FormatDuration(Seconds(3660))), Seconds(3660));
}

TEST(UnitsTest, ParsesSizes) {
  EXPECT_EQ(*ParseSize("0B"), 0u);
  EXPECT_EQ(*ParseSize("512B"), 512u);
  EXPECT_EQ(*ParseSize("64KiB"), 64u * 1024);
  EXPECT_EQ(*ParseSize("128MiB"), 128u * 1024 * 1024);
  EXPECT_EQ(*ParseSize("2GiB"), 2ULL * 1024 * 1024 * 1024);
}

TEST(UnitsTest, RejectsBadSizes) {
  EXPECT_EQ(Message(ParseSize("64").status()),
            "size '64' needs a unit: B, KiB, MiB or GiB (as in 64KiB)");
  EXPECT_EQ(Message(ParseSize("64KB").status()),
            "size '64KB' needs a unit: B, KiB, MiB or GiB (as in 64KiB)");
  EXPECT_EQ(Message(ParseSize("KiB").status()), "size 'KiB' must start with a number");
}

TEST(UnitsTest, RejectsSizeOverflow) {
  EXPECT_EQ(Message(ParseSize("18446744073709551616B").status()),
            "size '18446744073709551616B' is too large");
  EXPECT_EQ(Message(ParseSize("17179869184GiB").status()), "size '17179869184GiB' is too large");
  EXPECT_TRUE(ParseSize("18446744073709551615B").ok());
}

}  // namespace
}  // namespace bulwark::core
