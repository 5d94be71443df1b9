// Sans-I/O HTTP/1.1 codec: parses requests and responses from a byte buffer and serializes them.
// Strict (RFC 9112): bare LF, obs-fold, control characters, invalid tokens, conflicting or
// repeated Content-Length, Transfer-Encoding other than a final "chunked", and limit overflows
// are errors. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/message.h"

namespace bulwark::http {

struct Limits {
  std::size_t max_header_bytes = 16 * 1024;  // request/status line plus all headers
  std::size_t max_headers = 100;
  std::size_t max_body_bytes = 1024 * 1024;
  // Also accept absolute-form "http://host/path" request targets (for forward-proxy listeners
  // only, such as the sidecar's outbound one); the target is then kept verbatim.
  bool allow_absolute_form = false;
};

enum class ParseState {
  kIncomplete,  // more bytes are needed
  kComplete,    // `message` is filled and `consumed` bytes of the buffer belong to it
  kError,       // the input is invalid: answer `error_status` with `error` and close
};

template <typename Message>
struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  std::size_t consumed = 0;
  Message message;
  int error_status = 400;  // 400, 413 (body), 431 (headers), 501 (coding), 505 (version)
  std::string error;       // a reason fit to show the client
  // For a complete message: whether the connection may carry another message after it (false
  // for HTTP/1.0 and for "Connection: close", RFC 9112 §9.3).
  bool keep_alive = true;
};

// Parses one request from the start of `buffer` (which may hold more than one message).
ParseResult<Request> ParseRequest(std::string_view buffer, const Limits& limits);
// Parses one response from the start of `buffer`. A response without Content-Length or chunked
// coding is delimited by the end of the connection: pass `at_eof` once the peer has closed.
// Pass `head_request` when the response answers a HEAD request: it then has no content, whatever
// its Content-Length says (RFC 9110 §9.3.2).
ParseResult<Response> ParseResponse(std::string_view buffer, const Limits& limits,
                                    bool at_eof = false, bool head_request = false);

// Serializes a request; sets Content-Length from the body (and removes Transfer-Encoding).
std::string SerializeRequest(const Request& request);
// Serializes a response; sets Content-Length from the body (and removes Transfer-Encoding).
std::string SerializeResponse(const Response& response);

}  // namespace bulwark::http
