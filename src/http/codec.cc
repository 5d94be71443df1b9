// Strict HTTP/1.1 parsing and serialization (RFC 9112). Every parse restarts from the start of
// the buffer; the caller appends bytes and retries on kIncomplete. Bytes that could let two
// parsers disagree on message boundaries (request smuggling) are refused, never repaired.
#include "http/codec.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "core/ascii.h"
#include "fmt/format.h"

namespace bulwark::http {
namespace {

constexpr std::size_t kMaxChunkLineBytes = 4096;
constexpr std::size_t kMaxContentLengthDigits = 18;  // fits std::uint64_t without overflow
constexpr std::size_t kMaxChunkSizeDigits = 15;
constexpr std::size_t kChunkOverheadAllowance = 64 * 1024;

enum class Step { kOk, kIncomplete, kError };

using core::IsToken;

// field-vchar / SP / HTAB, obs-text included; no other control characters.
bool IsFieldValueChar(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (IsDigit(c)) {
    return c - '0';
  }
  char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return (l >= 'a' && l <= 'f') ? l - 'a' + 10 : -1;
}

// A read position in the buffer plus the error to report.
struct Parser {
  explicit Parser(std::string_view b) : buf(b) {}

  std::string_view buf;
  std::size_t pos = 0;
  bool http10 = false;
  int error_status = 400;
  std::string error;

  Step Fail(int status, std::string reason) {
    error_status = status;
    error = std::move(reason);
    return Step::kError;
  }

  // Reads the CRLF-terminated line at `pos` into `line` (without the CRLF). The line must end
  // before the absolute offset `limit`, else `too_long_status` with `too_long` is reported.
  Step ReadLine(std::string_view& line, std::size_t limit, int too_long_status,
                const char* too_long) {
    std::size_t lf = buf.find('\n', pos);
    std::size_t end = lf == std::string_view::npos ? buf.size() : lf + 1;
    if (end > limit) {
      return Fail(too_long_status, too_long);
    }
    if (lf == std::string_view::npos) {
      return Step::kIncomplete;
    }
    if (lf == pos || buf[lf - 1] != '\r') {
      return Fail(400, "bare LF line ending");
    }
    line = buf.substr(pos, lf - 1 - pos);
    if (line.find('\r') != std::string_view::npos) {
      return Fail(400, "bare CR in message head");
    }
    if (line.find('\0') != std::string_view::npos) {
      return Fail(400, "NUL byte in message head");
    }
    pos = lf + 1;
    return Step::kOk;
  }
};

#define BULWARK_STEP(expr)    \
  do {                        \
    Step step_ = (expr);      \
    if (step_ != Step::kOk) { \
      return step_;           \
    }                         \
  } while (false)

Step ParseField(Parser& p, std::string_view line, Headers& headers) {
  if (IsOws(line.front())) {
    return p.Fail(400, "obsolete line folding is not allowed");
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return p.Fail(400, "header field without a colon");
  }
  std::string_view name = line.substr(0, colon);
  if (!name.empty() && IsOws(name.back())) {
    return p.Fail(400, "whitespace before the colon in a header field");
  }
  if (!IsToken(name)) {
    return p.Fail(400, "invalid header field name");
  }
  std::string_view value = core::TrimOws(line.substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), IsFieldValueChar)) {
    return p.Fail(400, fmt::format("control character in header field {}", name));
  }
  headers.Add(std::string(name), std::string(value));
  return Step::kOk;
}

// Parses header (or trailer) fields up to and including the empty line.
Step ParseFields(Parser& p, Headers& headers, std::size_t limit, std::size_t max_fields,
                 const char* too_long) {
  for (;;) {
    std::string_view line;
    BULWARK_STEP(p.ReadLine(line, limit, 431, too_long));
    if (line.empty()) {
      return Step::kOk;
    }
    if (headers.size() >= max_fields) {
      return p.Fail(431, "too many header fields");
    }
    BULWARK_STEP(ParseField(p, line, headers));
  }
}

// Checks "HTTP/1.1" or "HTTP/1.0"; other well-formed versions get 505.
Step ParseVersion(Parser& p, std::string_view version, bool& http10) {
  if (version == "HTTP/1.1" || version == "HTTP/1.0") {
    http10 = version == "HTTP/1.0";
    return Step::kOk;
  }
  if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && IsDigit(version[5]) &&
      version[6] == '.' && IsDigit(version[7])) {
    return p.Fail(505, fmt::format("unsupported HTTP version {}", version));
  }
  return p.Fail(400, "malformed HTTP version");
}

Step ParseTarget(Parser& p, std::string_view method, std::string_view target, bool allow_absolute) {
  bool visible = std::all_of(target.begin(), target.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c > 0x20 && c < 0x7f;
  });
  if (target.empty() || !visible) {
    return p.Fail(400, "invalid request target");
  }
  if (target.front() == '/' || (target == "*" && method == "OPTIONS")) {
    return Step::kOk;
  }
  // Absolute-form (RFC 9112 §3.2.2), as sent to a forward proxy; the proxy parses the URL.
  if (allow_absolute && target.size() > 7 &&
      absl::AsciiStrToLower(std::string(target.substr(0, 7))) == "http://") {
    return Step::kOk;
  }
  return p.Fail(400, "request target must be in origin-form");
}

Step ParseRequestLine(Parser& p, std::string_view line, Request& request, bool& http10,
                      bool allow_absolute) {
  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return p.Fail(400, "malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!IsToken(method)) {
    return p.Fail(400, "invalid method");
  }
  BULWARK_STEP(ParseTarget(p, method, target, allow_absolute));
  BULWARK_STEP(ParseVersion(p, line.substr(sp2 + 1), http10));
  request.method = std::string(method);
  request.target = std::string(target);
  return Step::kOk;
}

Step ParseStatusLine(Parser& p, std::string_view line, Response& response) {
  std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos) {
    return p.Fail(400, "malformed status line");
  }
  BULWARK_STEP(ParseVersion(p, line.substr(0, sp), p.http10));
  std::string_view rest = line.substr(sp + 1);
  if (rest.size() < 3 || !std::all_of(rest.begin(), rest.begin() + 3, IsDigit) || rest[0] < '1' ||
      rest[0] > '5' || (rest.size() > 3 && rest[3] != ' ')) {
    return p.Fail(400, "malformed status code");
  }
  std::string_view reason = rest.substr(std::min<std::size_t>(rest.size(), 4));
  if (!std::all_of(reason.begin(), reason.end(), IsFieldValueChar)) {
    return p.Fail(400, "control character in reason phrase");
  }
  response.status = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
  return Step::kOk;
}

// A request must carry exactly one Host, except that HTTP/1.0 may omit it (RFC 9112 §3.2).
Step CheckHost(Parser& p, const Headers& headers, bool http10) {
  std::size_t hosts = headers.Count("Host");
  if (hosts > 1) {
    return p.Fail(400, "repeated Host header");
  }
  if (hosts == 0 && !http10) {
    return p.Fail(400, "missing Host header");
  }
  return Step::kOk;
}

enum class Framing { kNone, kLength, kChunked };

Step ParseContentLength(Parser& p, std::string_view value, const Limits& limits,
                        std::uint64_t& length) {
  if (value.empty() || value.size() > kMaxContentLengthDigits ||
      !std::all_of(value.begin(), value.end(), IsDigit)) {
    return p.Fail(400, "invalid Content-Length");
  }
  length = 0;
  for (char c : value) {
    length = length * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (length > limits.max_body_bytes) {
    return p.Fail(413, "body too large");
  }
  return Step::kOk;
}

// Decides how the body is delimited; refuses every ambiguous combination.
Step DetermineFraming(Parser& p, const Headers& headers, bool http10, const Limits& limits,
                      Framing& framing, std::uint64_t& length) {
  std::size_t cl = headers.Count("Content-Length");
  std::size_t te = headers.Count("Transfer-Encoding");
  if (cl > 0 && te > 0) {
    return p.Fail(400, "both Content-Length and Transfer-Encoding");
  }
  if (cl > 1) {
    return p.Fail(400, "repeated Content-Length");
  }
  if (te > 1) {
    return p.Fail(400, "repeated Transfer-Encoding");
  }
  if (te == 1) {
    if (http10) {
      return p.Fail(400, "Transfer-Encoding in an HTTP/1.0 message");
    }
    if (!core::AsciiEqualsIgnoreCase(*headers.Get("Transfer-Encoding"), "chunked")) {
      return p.Fail(501, "unsupported Transfer-Encoding");
    }
    framing = Framing::kChunked;
    return Step::kOk;
  }
  framing = cl == 1 ? Framing::kLength : Framing::kNone;
  if (cl == 1) {
    return ParseContentLength(p, *headers.Get("Content-Length"), limits, length);
  }
  return Step::kOk;
}

Step ReadFixedBody(Parser& p, std::uint64_t length, std::string& body) {
  if (p.buf.size() - p.pos < length) {
    return Step::kIncomplete;
  }
  body.assign(p.buf.substr(p.pos, length));
  p.pos += length;
  return Step::kOk;
}

// chunk-size [ BWS ";" chunk-ext ]: extensions are ignored but must be printable.
Step ParseChunkSize(Parser& p, std::string_view line, std::uint64_t& size) {
  std::size_t i = 0;
  size = 0;
  for (; i < line.size() && HexValue(line[i]) >= 0; ++i) {
    if (i >= kMaxChunkSizeDigits) {
      return p.Fail(413, "chunk too large");
    }
    size = size * 16 + static_cast<std::uint64_t>(HexValue(line[i]));
  }
  std::string_view ext = line.substr(i);
  while (!ext.empty() && IsOws(ext.front())) {
    ext.remove_prefix(1);
  }
  if (i == 0 || (!ext.empty() && ext.front() != ';')) {
    return p.Fail(400, "invalid chunk size");
  }
  if (!std::all_of(ext.begin(), ext.end(), IsFieldValueChar)) {
    return p.Fail(400, "control character in chunk extension");
  }
  return Step::kOk;
}

Step ReadChunkedBody(Parser& p, const Limits& limits, std::string& body) {
  // Bounds the framing bytes too, so that tiny chunks with long extensions cannot make the
  // caller buffer far more than max_body_bytes.
  const std::size_t start = p.pos;
  const std::size_t budget = 2 * limits.max_body_bytes + kChunkOverheadAllowance;
  for (;;) {
    if (p.pos - start > budget) {
      return p.Fail(413, "chunked body too large");
    }
    std::string_view line;
    BULWARK_STEP(p.ReadLine(line, p.pos + kMaxChunkLineBytes, 400, "chunk size line too long"));
    std::uint64_t size = 0;
    BULWARK_STEP(ParseChunkSize(p, line, size));
    if (size == 0) {
      Headers trailers;  // parsed for validity, then dropped
      return ParseFields(p, trailers, p.pos + limits.max_header_bytes, limits.max_headers,
                         "trailer section too large");
    }
    if (size > limits.max_body_bytes - std::min<std::size_t>(body.size(), limits.max_body_bytes)) {
      return p.Fail(413, "body too large");
    }
    if (p.buf.size() - p.pos < size + 2) {
      return Step::kIncomplete;
    }
    if (p.buf.substr(p.pos + size, 2) != "\r\n") {
      return p.Fail(400, "chunk data not followed by CRLF");
    }
    body.append(p.buf.substr(p.pos, size));
    p.pos += size + 2;
  }
}

Step ReadBody(Parser& p, Framing framing, std::uint64_t length, const Limits& limits,
              std::string& body) {
  switch (framing) {
    case Framing::kLength:
      return ReadFixedBody(p, length, body);
    case Framing::kChunked:
      return ReadChunkedBody(p, limits, body);
    case Framing::kNone:
      break;
  }
  return Step::kOk;
}

Step ParseRequestMessage(Parser& p, const Limits& limits, Request& request) {
  // RFC 9112 §2.2: ignore empty lines before the request-line (they count against the limit).
  while (p.buf.substr(p.pos, 2) == "\r\n" && p.pos + 2 <= limits.max_header_bytes) {
    p.pos += 2;
  }
  std::string_view line;
  const char* too_long = "request head too large";
  BULWARK_STEP(p.ReadLine(line, limits.max_header_bytes, 431, too_long));
  BULWARK_STEP(ParseRequestLine(p, line, request, p.http10, limits.allow_absolute_form));
  BULWARK_STEP(
      ParseFields(p, request.headers, limits.max_header_bytes, limits.max_headers, too_long));
  BULWARK_STEP(CheckHost(p, request.headers, p.http10));
  Framing framing = Framing::kNone;
  std::uint64_t length = 0;
  BULWARK_STEP(DetermineFraming(p, request.headers, p.http10, limits, framing, length));
  return ReadBody(p, framing, length, limits, request.body);
}

bool StatusHasNoBody(int status) { return status < 200 || status == 204 || status == 304; }

Step ReadUntilEof(Parser& p, const Limits& limits, bool at_eof, std::string& body) {
  if (p.buf.size() - p.pos > limits.max_body_bytes) {
    return p.Fail(413, "body too large");
  }
  if (!at_eof) {
    return Step::kIncomplete;
  }
  body.assign(p.buf.substr(p.pos));
  p.pos = p.buf.size();
  return Step::kOk;
}

Step ParseResponseMessage(Parser& p, const Limits& limits, bool at_eof, bool head_request,
                          Response& response) {
  std::string_view line;
  const char* too_long = "response head too large";
  BULWARK_STEP(p.ReadLine(line, limits.max_header_bytes, 431, too_long));
  BULWARK_STEP(ParseStatusLine(p, line, response));
  BULWARK_STEP(
      ParseFields(p, response.headers, limits.max_header_bytes, limits.max_headers, too_long));
  if (StatusHasNoBody(response.status) || head_request) {
    return Step::kOk;
  }
  Framing framing = Framing::kNone;
  std::uint64_t length = 0;
  BULWARK_STEP(DetermineFraming(p, response.headers, p.http10, limits, framing, length));
  if (framing == Framing::kNone) {
    return ReadUntilEof(p, limits, at_eof, response.body);
  }
  return ReadBody(p, framing, length, limits, response.body);
}

// Returns whether any Connection header lists the "close" option.
bool HasConnectionClose(const Headers& headers) {
  for (const Header& h : headers.all()) {
    if (!core::AsciiEqualsIgnoreCase(h.name, "Connection")) {
      continue;
    }
    std::string_view list = h.value;
    while (!list.empty()) {
      std::size_t comma = list.find(',');
      if (core::AsciiEqualsIgnoreCase(core::TrimOws(list.substr(0, comma)), "close")) {
        return true;
      }
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  return false;
}

template <typename Message>
ParseResult<Message> Finish(Parser& p, Step step, Message message) {
  ParseResult<Message> result;
  if (step == Step::kOk) {
    result.state = ParseState::kComplete;
    result.consumed = p.pos;
    result.keep_alive = !p.http10 && !HasConnectionClose(message.headers);
    result.message = std::move(message);
  } else if (step == Step::kError) {
    result.state = ParseState::kError;
    result.error_status = p.error_status;
    result.error = std::move(p.error);
  }
  return result;
}

// Appends the header fields except framing ones. A field that could not be parsed back (CR, LF
// or other control characters, an invalid name) is dropped rather than allowed to split the
// message.
void AppendHeaders(std::string& out, const Headers& headers) {
  for (const Header& h : headers.all()) {
    if (core::AsciiEqualsIgnoreCase(h.name, "Content-Length") ||
        core::AsciiEqualsIgnoreCase(h.name, "Transfer-Encoding") || !IsToken(h.name) ||
        !std::all_of(h.value.begin(), h.value.end(), IsFieldValueChar)) {
      continue;
    }
    out.append(h.name).append(": ").append(core::TrimOws(h.value)).append("\r\n");
  }
}

bool MethodExpectsBody(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

#undef BULWARK_STEP

}  // namespace

ParseResult<Request> ParseRequest(std::string_view buffer, const Limits& limits) {
  Parser p(buffer);
  Request request;
  Step step = ParseRequestMessage(p, limits, request);
  return Finish(p, step, std::move(request));
}

ParseResult<Response> ParseResponse(std::string_view buffer, const Limits& limits, bool at_eof,
                                    bool head_request) {
  Parser p(buffer);
  Response response;
  Step step = ParseResponseMessage(p, limits, at_eof, head_request, response);
  return Finish(p, step, std::move(response));
}

std::string SerializeRequest(const Request& request) {
  std::string out = fmt::format("{} {} HTTP/1.1\r\n", request.method, request.target);
  AppendHeaders(out, request.headers);
  if (!request.body.empty() || MethodExpectsBody(request.method)) {
    out.append(fmt::format("Content-Length: {}\r\n", request.body.size()));
  }
  out.append("\r\n").append(request.body);
  return out;
}

std::string SerializeResponse(const Response& response) {
  std::string out =
      fmt::format("HTTP/1.1 {:03d} {}\r\n", response.status, ReasonPhrase(response.status));
  AppendHeaders(out, response.headers);
  if (StatusHasNoBody(response.status)) {
    return out.append("\r\n");
  }
  out.append(fmt::format("Content-Length: {}\r\n\r\n", response.body.size()));
  out.append(response.body);
  return out;
}

}  // namespace bulwark::http
