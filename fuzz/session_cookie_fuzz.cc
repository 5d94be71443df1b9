// Fuzzes the gateway's session-cookie openers (proxy/session_cookie.h) with a cookie value as a
// browser could send it. They must never crash; nothing but a value sealed under the fuzzer's key
// opens; what opens seals again and opens to the same state.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/session_cookie.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bulwark;
  static const crypto::Bytes kKey(32, 0x42);
  static const crypto::Bytes kOtherKey(32, 0x43);
  const core::TimePoint now = core::FromUnixSeconds(1'800'000'000);
  std::string_view input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<proxy::SessionState> session = proxy::OpenSession(kKey, input, now);
  if (session.ok()) {
    // Only a value sealed under kKey can open: the fuzzer cannot forge a GCM tag, so this is a
    // corpus entry sealed for the purpose; it must round-trip.
    absl::StatusOr<std::string> again = proxy::SealSession(kKey, *session);
    if (!again.ok()) {
      std::abort();
    }
    absl::StatusOr<proxy::SessionState> reopened = proxy::OpenSession(kKey, *again, now);
    if (!reopened.ok() || reopened->sub != session->sub ||
        reopened->refresh_token != session->refresh_token) {
      std::abort();
    }
    if (proxy::OpenSession(kOtherKey, input, now).ok() || proxy::OpenLogin(kKey, input, now).ok()) {
      std::abort();
    }
  }
  absl::StatusOr<proxy::LoginState> login = proxy::OpenLogin(kKey, input, now);
  if (login.ok() && proxy::OpenSession(kKey, input, now).ok()) {
    std::abort();
  }
  (void)proxy::ParseCookieKey(input);
  return 0;
}
