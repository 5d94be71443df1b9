// When a cached JWK Set is refetched: its lifetime from the Cache-Control header the issuer sent
// (bounded, so that a careless or hostile header can neither pin keys for days nor make every
// request a fetch), and a rate limit on the refetches an unknown `kid` asks for, so that a flood
// of tokens with random kids cannot hammer the issuer. Sans-I/O; RefetchLimiter is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/clock.h"

namespace bulwark::tokens {

inline constexpr core::Seconds kMinJwksLifetime{30};
inline constexpr core::Seconds kMaxJwksLifetime{3600};
// The lifetime of a JWKS served without a usable max-age.
inline constexpr core::Seconds kDefaultJwksLifetime{300};

// Returns the max-age directive of a Cache-Control header value (RFC 9111 §5.2.2.1): directives
// are comma-separated, names case-insensitive, the value digits (optionally quoted). nullopt when
// there is none, when no-store or no-cache is present, or when the directive is malformed or
// repeated with different values.
std::optional<core::Seconds> CacheControlMaxAge(std::string_view value);

// Returns how long a JWKS answered with `cache_control` (nullopt: no header) may be used: its
// max-age clamped to [kMinJwksLifetime, kMaxJwksLifetime], kDefaultJwksLifetime without one.
core::Seconds JwksLifetime(std::optional<std::string_view> cache_control);

// Returns when a JWKS fetched at `fetched` with `lifetime` is refetched in the background:
// after 80% of its lifetime, so that a slow or failing fetch still leaves time before expiry.
core::TimePoint JwksRefreshTime(core::TimePoint fetched, core::Seconds lifetime);

// Grants at most one refetch per `interval`: TryAcquire(now) returns true when the last grant
// was at least `interval` before `now` (or there was none) and records `now`. Lock-free.
class RefetchLimiter {
 public:
  explicit RefetchLimiter(core::Seconds interval) : interval_(interval) {}
  bool TryAcquire(core::TimePoint now);

 private:
  core::Seconds interval_;
  std::atomic<std::int64_t> last_ms_{INT64_MIN};  // milliseconds since the epoch of the last grant
};

}  // namespace bulwark::tokens
