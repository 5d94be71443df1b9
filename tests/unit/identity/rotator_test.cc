#include "identity/rotator.h"

#include <gtest/gtest.h>

namespace bulwark::identity {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(SvidRotatorTest, RenewsAtHalfLifeWithBoundedJitter) {
  auto start = std::chrono::system_clock::time_point(hours(1000));
  auto end = start + hours(1);
  EXPECT_EQ(SvidRotator::NextRenewal(start, end, 0.1, 0.5), start + minutes(30));
  // The extremes of the jitter: 45% and 55% of the lifetime.
  EXPECT_EQ(SvidRotator::NextRenewal(start, end, 0.1, 0.0), start + minutes(27));
  auto latest = SvidRotator::NextRenewal(start, end, 0.1, 0.999999);
  EXPECT_GT(latest, start + minutes(32));
  EXPECT_LE(latest, start + minutes(33));
  EXPECT_EQ(SvidRotator::NextRenewal(start, end, 0.0, 0.9), start + minutes(30));
}

TEST(SvidRotatorTest, ShortLivedSvidsStillRenewBeforeExpiry) {
  auto start = std::chrono::system_clock::time_point(hours(1000));
  auto end = start + seconds(4);
  for (double u : {0.0, 0.25, 0.5, 0.75, 0.999}) {
    auto at = SvidRotator::NextRenewal(start, end, 0.1, u);
    EXPECT_GE(at, start + std::chrono::milliseconds(1800));
    EXPECT_LE(at, start + std::chrono::milliseconds(2200));
  }
}

}  // namespace
}  // namespace bulwark::identity
