// A small blocking HTTPS/1.1 client for bulwark's own control-plane calls (identity fetch and
// renewal, admin commands, long-polls). One TLS connection per call; every call has a deadline.
// Thread-compatible: calls from several threads are independent.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/x509.h"
#include "http/codec.h"
#include "http/message.h"
#include "tls/context.h"

namespace bulwark::http {

struct ClientOptions {
  // Roots the server certificate must chain to.
  std::vector<crypto::Certificate> roots;
  // Client certificate for mTLS; null for none. Not owned; must outlive the call.
  const tls::Credentials* credentials = nullptr;
  // When non-empty, the server must present exactly this URI SAN (SPIFFE authentication);
  // otherwise its DNS/IP SAN must match the URL's host.
  std::string expected_server_id;
  std::chrono::milliseconds timeout{10'000};
  Limits limits;
};

// Sends `request` (method, headers, body; its target is taken from `url`) to `url` and returns
// the response. Errors: InvalidArgument for a bad URL, Unavailable when the server cannot be
// reached or the TLS handshake fails (with OpenSSL's reason), DeadlineExceeded on timeout.
absl::StatusOr<Response> Send(const std::string& url, Request request,
                              const ClientOptions& options);

}  // namespace bulwark::http
