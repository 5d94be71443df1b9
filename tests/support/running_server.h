// A started http::Server on 127.0.0.1:0 with an io_context on two threads, for tests; stops
// and joins on destruction, also when an assertion failed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "asio/executor_work_guard.hpp"
#include "asio/io_context.hpp"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "http/server.h"

namespace bulwark::testing {

class RunningServer {
 public:
  // A null `context` makes a plain TCP server; `threads` run the io_context.
  RunningServer(std::shared_ptr<asio::ssl::context> context, http::Handler handler,
                http::ServerOptions options = {}, int threads = 2) {
    http::TlsContextProvider provider;
    if (context != nullptr) {
      provider = [context] { return context; };
    }
    absl::StatusOr<std::unique_ptr<http::Server>> server = http::Server::Create(
        io_, "127.0.0.1:0", std::move(provider), std::move(handler), std::move(options));
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) {
      return;
    }
    server_ = *std::move(server);
    server_->Start();
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }
  ~RunningServer() {
    if (server_ != nullptr) {
      server_->Stop();
    }
    guard_.reset();
    io_.stop();
    for (std::thread& t : threads_) {
      t.join();
    }
    server_.reset();  // after the io_context stopped
  }

  bool ok() const { return server_ != nullptr; }
  std::uint16_t port() const { return server_->local_endpoint().port(); }
  std::string Url(const std::string& path, const std::string& host = "127.0.0.1",
                  const std::string& scheme = "https") const {
    return fmt::format("{}://{}:{}{}", scheme, host, port(), path);
  }
  http::Server& server() { return *server_; }

 private:
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_{
      asio::make_work_guard(io_)};
  std::unique_ptr<http::Server> server_;
  std::vector<std::thread> threads_;
};

}  // namespace bulwark::testing
