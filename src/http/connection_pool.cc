// Idle connections are closed outside the lock; liveness is a zero-timeout poll(): an idle
// HTTP/1.1 connection has nothing to read, so readable means closed by the peer (FIN, reset,
// TLS close_notify) or a protocol error, and either way it must not carry a request.
#include "http/connection_pool.h"

#include <poll.h>

#include <vector>

#include "http/internal/stream.h"

namespace bulwark::http {
namespace {

bool StillOpen(internal::Stream& stream) {
  if (!stream.socket().is_open()) {
    return false;
  }
  pollfd fd{stream.socket().native_handle(), POLLIN, 0};
  int ready = ::poll(&fd, 1, 0);
  return ready == 0;  // nothing to read, no error, no hang-up
}

void CloseAll(std::vector<std::shared_ptr<internal::Stream>>& streams) {
  for (const std::shared_ptr<internal::Stream>& stream : streams) {
    stream->Close();
  }
}

}  // namespace

ConnectionPool::~ConnectionPool() { Clear(); }

std::shared_ptr<internal::Stream> ConnectionPool::Take(const std::string& key) {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<internal::Stream>> stale;
  std::shared_ptr<internal::Stream> found;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idle_.find(key);
    while (it != idle_.end() && !it->second.empty() && found == nullptr) {
      Idle entry = std::move(it->second.back());
      it->second.pop_back();
      --idle_count_;
      bool fresh = now - entry.since < options_.idle_timeout;
      if (fresh && StillOpen(*entry.stream)) {
        found = std::move(entry.stream);
      } else {
        stale.push_back(std::move(entry.stream));
      }
    }
    // An emptied list stays for the Put that usually follows; Prune drops it if none does.
  }
  CloseAll(stale);
  if (found != nullptr) {
    reused_.fetch_add(1, std::memory_order_relaxed);
  }
  return found;
}

void ConnectionPool::Put(const std::string& key, std::shared_ptr<internal::Stream> stream) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::deque<Idle>& list = idle_[key];
    if (!closed_ && list.size() < options_.max_idle_per_key && idle_count_ < options_.max_idle) {
      list.push_back({std::move(stream), std::chrono::steady_clock::now()});
      ++idle_count_;
      return;
    }
    if (list.empty()) {
      idle_.erase(key);
    }
  }
  stream->Close();
}

void ConnectionPool::Prune() {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<internal::Stream>> stale;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = idle_.begin(); it != idle_.end();) {
      std::deque<Idle>& list = it->second;
      while (!list.empty() && now - list.front().since >= options_.idle_timeout) {
        stale.push_back(std::move(list.front().stream));
        list.pop_front();
        --idle_count_;
      }
      it = list.empty() ? idle_.erase(it) : std::next(it);
    }
  }
  CloseAll(stale);
}

void ConnectionPool::Clear() {
  std::vector<std::shared_ptr<internal::Stream>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, list] : idle_) {
      for (Idle& entry : list) {
        all.push_back(std::move(entry.stream));
      }
    }
    idle_.clear();
    idle_count_ = 0;
  }
  CloseAll(all);
}

void ConnectionPool::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  Clear();
}

std::size_t ConnectionPool::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_count_;
}

}  // namespace bulwark::http
