// Process plumbing of the proxies.
#include "proxy/process.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"
#include "identity/authority_client.h"

namespace bulwark::proxy {

std::string AuthorityUrl(const std::string& given, const mesh::MeshConfig& mesh) {
  if (!given.empty()) {
    return given;
  }
  mesh::HostPort listen = mesh.authority.listen;
  if (listen.IsWildcard()) {
    listen.host = listen.host == "::" ? "::1" : "127.0.0.1";
  }
  return "https://" + listen.ToString();
}

absl::StatusOr<std::unique_ptr<identity::SvidRotator>> FetchIdentity(std::string_view role,
                                                                     const std::string& bundle_path,
                                                                     const std::string& join_token,
                                                                     const std::string& expected_id,
                                                                     const std::string& url) {
  if (bundle_path.empty() || join_token.empty()) {
    return absl::InvalidArgumentError(
        "without identity files, give --bundle and a join token (--token-file or --token-fd)");
  }
  BULWARK_ASSIGN_OR_RETURN(std::string pem, core::ReadFile(bundle_path, 256 * 1024));
  BULWARK_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> bundle,
                           crypto::Certificate::ChainFromPem(pem));
  BULWARK_ASSIGN_OR_RETURN(identity::AuthorityClient client,
                           identity::AuthorityClient::Create(url, bundle));
  BULWARK_ASSIGN_OR_RETURN(identity::Svid svid, client.FetchWithJoinToken(join_token));
  if (svid.spiffe_id != expected_id) {
    return absl::PermissionDeniedError(
        fmt::format("the join token is for {}, not {}", svid.spiffe_id, expected_id));
  }
  spdlog::info("{}: obtained {} (serial {})", role, svid.spiffe_id, svid.leaf().SerialHex());
  return std::make_unique<identity::SvidRotator>(std::move(client), std::move(svid),
                                                 identity::RotatorOptions{});
}

asio::awaitable<void> Every(std::chrono::milliseconds period, std::function<void()> tick) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(period);
    co_await timer.async_wait(asio::use_awaitable);
    tick();
  }
}

void OnEveryHangup(asio::signal_set& hangup, std::function<void()> reload) {
  hangup.async_wait([&hangup, reload = std::move(reload)](const std::error_code& ec, int) {
    if (ec) {
      return;
    }
    reload();
    OnEveryHangup(hangup, reload);
  });
}

void ExitNow(std::string_view role) {
  spdlog::info("{}: not waiting for an open long-poll to the authority; exiting", role);
  spdlog::shutdown();
  std::_Exit(0);
}

EventLoops::EventLoops(int count) {
  for (int i = 0; i < std::max(1, count); ++i) {
    loops_.push_back(std::make_unique<Loop>());
    if (i > 0) {
      guards_.push_back(asio::make_work_guard(*loops_.back()));
    }
  }
}

EventLoops::~EventLoops() {
  stop();
  guards_.clear();
  for (const std::unique_ptr<Loop>& loop : loops_) {
    loop->shutdown();  // every loop's services still exist while any loop's handlers go
  }
}

std::vector<asio::io_context*> EventLoops::all() const {
  std::vector<asio::io_context*> out;
  for (const std::unique_ptr<Loop>& loop : loops_) {
    out.push_back(loop.get());
  }
  return out;
}

void EventLoops::Run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops_.size(); ++i) {
    threads.emplace_back([loop = loops_[i].get()] { loop->run(); });
  }
  loops_.front()->run();
  stop();  // loop 0 ran out of work: the others end with it
  for (std::thread& t : threads) {
    t.join();
  }
}

void EventLoops::stop() {
  for (const std::unique_ptr<Loop>& loop : loops_) {
    loop->stop();
  }
}

int WorkerCount(std::uint32_t configured) {
  if (configured > 0) {
    return static_cast<int>(configured);
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace bulwark::proxy
