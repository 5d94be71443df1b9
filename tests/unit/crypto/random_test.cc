#include "crypto/random.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace bulwark::crypto {
namespace {

TEST(RandomTest, ReturnsRequestedLength) {
  EXPECT_TRUE(RandomBytes(0).empty());
  EXPECT_EQ(RandomBytes(1).size(), 1u);
  EXPECT_EQ(RandomBytes(4096).size(), 4096u);
}

TEST(RandomTest, SuccessiveCallsDiffer) { EXPECT_NE(RandomBytes(32), RandomBytes(32)); }

TEST(RandomTest, BytesAreNotConstant) {
  Bytes b = RandomBytes(1024);
  std::set<std::uint8_t> values(b.begin(), b.end());
  EXPECT_GT(values.size(), 128u);  // ~250 expected; a stuck generator gives 1
}

TEST(RandomTest, UniformStaysBelowBoundAndCoversIt) {
  EXPECT_EQ(RandomUniform(1), 0u);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 2000; ++i) {
    std::uint64_t v = RandomUniform(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  for (int c : counts) {
    EXPECT_GT(c, 100);  // expected 200 each
  }
  std::uint64_t big = (std::uint64_t{1} << 63) + 12345;
  for (int i = 0; i < 100; ++i) {
    EXPECT_LT(RandomUniform(big), big);
  }
}

TEST(RandomTest, UniformWithZeroBoundAborts) { EXPECT_DEATH(RandomUniform(0), "check failed"); }

}  // namespace
}  // namespace bulwark::crypto
