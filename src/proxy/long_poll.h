// The loop every follower of an authority feed runs (the policy, the API keys): on its own
// thread, call `poll` again and again; `poll` makes one long-poll call and returns whether it
// succeeded. After a failure the loop waits with exponential backoff (min_backoff doubling up to
// max_backoff), after a success it polls again at once. Stop() wakes a waiting loop and joins the
// thread; a call in flight finishes first (up to its long-poll length). Create and Stop from one
// thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace bulwark::proxy {

struct LongPollOptions {
  std::chrono::seconds wait{30};  // long-poll length; Stop() may wait this long
  std::chrono::milliseconds min_backoff{250};
  std::chrono::milliseconds max_backoff{30'000};
};

class LongPollLoop {
 public:
  // Starts the thread; `poll` runs on it only.
  LongPollLoop(std::function<bool()> poll, LongPollOptions options);
  ~LongPollLoop();
  LongPollLoop(const LongPollLoop&) = delete;
  LongPollLoop& operator=(const LongPollLoop&) = delete;

  // Stops the thread and waits for it.
  void Stop();

 private:
  void Loop();
  // Sleeps for `duration` or until Stop(); returns false when stopping.
  bool Sleep(std::chrono::milliseconds duration);

  const std::function<bool()> poll_;
  const LongPollOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;     // last: starts after everything it uses
};

}  // namespace bulwark::proxy
