// HTTP/1.1 messages as plain values: requests, responses and their header lists. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::http {

struct Header {
  std::string name;
  std::string value;
};

// An ordered header list with case-insensitive lookup by name.
class Headers {
 public:
  // Returns the value of the first header named `name`, if any.
  std::optional<std::string_view> Get(std::string_view name) const;
  // Returns how many headers are named `name`.
  std::size_t Count(std::string_view name) const;
  // Appends a header.
  void Add(std::string name, std::string value);
  // Replaces every header named `name` by one with `value`.
  void Set(std::string_view name, std::string value);
  // Removes every header named `name`.
  void Remove(std::string_view name);
  const std::vector<Header>& all() const { return headers_; }
  std::size_t size() const { return headers_.size(); }

 private:
  std::vector<Header> headers_;
};

struct Request {
  std::string method;
  std::string target;  // origin-form: path and optional ?query, as received
  Headers headers;
  std::string body;

  // Returns the target up to '?'.
  std::string_view Path() const;
  // Returns the value of query parameter `name` (percent-decoded), if present.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
};

// Returns a query-string name or value decoded (%XX escapes, and '+' as a space, as in
// application/x-www-form-urlencoded); a malformed escape is kept literally.
std::string DecodeQueryComponent(std::string_view s);
// Returns a path segment with its %XX escapes decoded ('+' stays '+'); a malformed escape is
// kept literally.
std::string DecodePathSegment(std::string_view s);

// Returns the standard reason phrase for `status` ("OK", "Not Found", ...), or "Unknown".
std::string_view ReasonPhrase(int status);

}  // namespace bulwark::http
