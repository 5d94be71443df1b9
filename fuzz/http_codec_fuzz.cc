// Fuzzes the HTTP/1.1 codec: requests and responses must parse without crashing, and a
// completed request must survive serialize-then-parse unchanged (aborts on mismatch).
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/codec.h"

namespace {

using bulwark::http::Header;
using bulwark::http::ParseRequest;
using bulwark::http::ParseResponse;
using bulwark::http::ParseState;
using bulwark::http::Request;

void Fail(const char* what) {
  std::fprintf(stderr, "http_codec_fuzz: %s\n", what);
  std::abort();
}

bool IsFraming(const Header& h) {
  auto lower = [](std::string s) {
    for (char& c : s) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
  };
  std::string n = lower(h.name);
  return n == "content-length" || n == "transfer-encoding";
}

// Returns whether both header lists agree once framing fields are left out.
bool SameHeaders(const Request& a, const Request& b) {
  auto strip = [](const Request& r) {
    std::vector<Header> out;
    for (const Header& h : r.headers.all()) {
      if (!IsFraming(h)) {
        out.push_back(h);
      }
    }
    return out;
  };
  std::vector<Header> x = strip(a);
  std::vector<Header> y = strip(b);
  if (x.size() != y.size()) {
    return false;
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i].name != y[i].name || x[i].value != y[i].value) {
      return false;
    }
  }
  return true;
}

void CheckRoundTrip(const Request& request, const bulwark::http::Limits& limits) {
  // An HTTP/1.0 request may omit Host; serialized as HTTP/1.1 it would (rightly) be refused.
  if (request.headers.Count("Host") == 0) {
    return;
  }
  std::string wire = bulwark::http::SerializeRequest(request);
  auto again = ParseRequest(wire, limits);
  if (again.state != ParseState::kComplete) {
    std::fprintf(stderr, "http_codec_fuzz: %s\n", again.error.c_str());
    Fail("serialized request does not parse");
  }
  if (again.consumed != wire.size()) {
    Fail("serialized request not consumed exactly");
  }
  const Request& r = again.message;
  if (r.method != request.method || r.target != request.target || r.body != request.body ||
      !SameHeaders(r, request)) {
    Fail("request changed in round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  bulwark::http::Limits limits;
  limits.max_header_bytes = 4096;
  limits.max_body_bytes = 64 * 1024;
  auto request = ParseRequest(input, limits);
  if (request.state == ParseState::kComplete) {
    if (request.consumed > size) {
      Fail("consumed beyond the input");
    }
    // Generous limits for the re-parse: serialization writes "name: value" (one more byte per
    // header than "name:value") and may add a Content-Length line.
    bulwark::http::Limits roomy = limits;
    roomy.max_header_bytes += 2 * limits.max_headers + 64;
    roomy.max_headers += 1;
    CheckRoundTrip(request.message, roomy);
  }
  // Accepting absolute-form targets (forward-proxy listeners) only widens what parses.
  bulwark::http::Limits proxy = limits;
  proxy.allow_absolute_form = true;
  auto permissive = ParseRequest(input, proxy);
  if (request.state == ParseState::kComplete &&
      (permissive.state != ParseState::kComplete || permissive.consumed != request.consumed)) {
    Fail("allow_absolute_form changed the parse of an origin-form request");
  }
  if (permissive.state == ParseState::kComplete && permissive.consumed > size) {
    Fail("consumed beyond the input (absolute form allowed)");
  }
  for (bool at_eof : {false, true}) {
    for (bool head : {false, true}) {
      auto response = ParseResponse(input, limits, at_eof, head);
      if (response.state == ParseState::kComplete && response.consumed > size) {
        Fail("response consumed beyond the input");
      }
      if (head && response.state == ParseState::kComplete && !response.message.body.empty()) {
        Fail("a response to HEAD has content");
      }
    }
  }
  return 0;
}
