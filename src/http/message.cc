// HTTP message values: case-insensitive header lookup, target helpers and reason phrases.
#include "http/message.h"

#include <algorithm>
#include <cctype>

#include "core/ascii.h"

namespace bulwark::http {
namespace {

struct Reason {
  int status;
  std::string_view phrase;
};

constexpr Reason kReasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

}  // namespace

namespace {

std::string DecodePercent(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && core::HexDigitValue(s[i + 1]) >= 0 &&
               core::HexDigitValue(s[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(core::HexDigitValue(s[i + 1]) * 16 + core::HexDigitValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string DecodeQueryComponent(std::string_view s) { return DecodePercent(s, true); }

std::string DecodePathSegment(std::string_view s) { return DecodePercent(s, false); }

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const Header& h : headers_) {
    if (core::AsciiEqualsIgnoreCase(h.name, name)) {
      return std::string_view(h.value);
    }
  }
  return std::nullopt;
}

std::size_t Headers::Count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(headers_.begin(), headers_.end(),
                    [&](const Header& h) { return core::AsciiEqualsIgnoreCase(h.name, name); }));
}

void Headers::Add(std::string name, std::string value) {
  headers_.push_back(Header{std::move(name), std::move(value)});
}

void Headers::Set(std::string_view name, std::string value) {
  Remove(name);
  Add(std::string(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(headers_,
                [&](const Header& h) { return core::AsciiEqualsIgnoreCase(h.name, name); });
}

std::string_view Request::Path() const {
  std::string_view t(target);
  return t.substr(0, t.find('?'));
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  std::string_view t(target);
  std::size_t q = t.find('?');
  if (q == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view query = t.substr(q + 1);
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (DecodeQueryComponent(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string()
                                          : DecodeQueryComponent(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

std::string_view ReasonPhrase(int status) {
  for (const Reason& r : kReasons) {
    if (r.status == status) {
      return r.phrase;
    }
  }
  return "Unknown";
}

}  // namespace bulwark::http
