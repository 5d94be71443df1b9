#include "proxy/long_poll.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace bulwark::proxy {
namespace {

using std::chrono::milliseconds;

// Waits (bounded) until `count` reaches `at_least`.
void WaitFor(const std::atomic<int>& count, int at_least) {
  for (int i = 0; i < 2000 && count.load() < at_least; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
}

TEST(LongPollLoopTest, PollsAgainAtOnceAfterASuccess) {
  std::atomic<int> calls{0};
  LongPollOptions options;
  options.min_backoff = std::chrono::hours(1);
  // Succeeds 20 times, then fails: the 21st call starts an hour of backoff.
  LongPollLoop loop([&] { return ++calls <= 20; }, options);
  WaitFor(calls, 21);
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(calls.load(), 21) << "no call may come before the backoff has passed";
  loop.Stop();
}

TEST(LongPollLoopTest, StopWakesALoopWaitingOutItsBackoff) {
  std::atomic<int> calls{0};
  LongPollOptions options;
  options.min_backoff = std::chrono::hours(1);
  LongPollLoop loop([&] { return ++calls, false; }, options);
  WaitFor(calls, 1);
  auto start = std::chrono::steady_clock::now();
  loop.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(calls.load(), 1);
}

TEST(LongPollLoopTest, BackoffDoublesUpToItsMaximum) {
  std::atomic<int> calls{0};
  std::vector<std::chrono::steady_clock::time_point> at;
  std::mutex mutex;
  LongPollOptions options;
  options.min_backoff = milliseconds(20);
  options.max_backoff = milliseconds(80);
  LongPollLoop loop(
      [&] {
        std::lock_guard lock(mutex);
        at.push_back(std::chrono::steady_clock::now());
        ++calls;
        return false;
      },
      options);
  WaitFor(calls, 6);
  loop.Stop();
  std::lock_guard lock(mutex);
  ASSERT_GE(at.size(), 6u);
  // The waits are 20, 40, 80, 80, 80 ms: each at least its planned length (never shorter).
  const int planned[] = {20, 40, 80, 80, 80};
  for (int i = 0; i < 5; ++i) {
    EXPECT_GE(at[i + 1] - at[i], milliseconds(planned[i])) << "wait " << i;
  }
}

}  // namespace
}  // namespace bulwark::proxy
