#include "proxy/long_poll.h"

#include <algorithm>

namespace bulwark::proxy {

LongPollLoop::LongPollLoop(std::function<bool()> poll, LongPollOptions options)
    : poll_(std::move(poll)), options_(options), thread_([this] { Loop(); }) {}

LongPollLoop::~LongPollLoop() { Stop(); }

void LongPollLoop::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool LongPollLoop::Sleep(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, duration, [this] { return stopping_; });
  return !stopping_;
}

void LongPollLoop::Loop() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  while (Sleep(std::chrono::milliseconds(0))) {
    if (poll_()) {
      backoff = options_.min_backoff;
      continue;
    }
    if (!Sleep(backoff)) {
      return;
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace bulwark::proxy
