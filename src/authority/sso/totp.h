// Second factors of the SSO users (docs/sso.md#login-pages-and-mfa): RFC 6238 TOTP (HMAC-SHA-1,
// 6 digits, 30 s steps, one step of drift either way) and one-time recovery codes. Sans-I/O:
// values in, values out; the caller stores the last accepted step. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "crypto/bytes.h"

namespace bulwark::authority {

inline constexpr std::size_t kTotpSecretBytes = 20;  // 160 bits, RFC 4226 §4's recommendation
inline constexpr int kTotpDigits = 6;
inline constexpr std::int64_t kTotpPeriodSeconds = 30;
inline constexpr std::int64_t kTotpDriftSteps = 1;
inline constexpr int kRecoveryCodeCount = 10;

// Returns the time step of `now`: floor(unix seconds / 30) (RFC 6238 §4, T0 = 0).
std::int64_t TotpStep(core::TimePoint now);
// Returns the `digits`-digit HOTP value (RFC 4226 §5.3, zero-padded) of `secret` at `step`.
std::string TotpCode(const crypto::Bytes& secret, std::int64_t step, int digits = kTotpDigits);
// Returns the step in [step(now) - 1, step(now) + 1] whose code equals `code`, provided it is
// newer than `last_step` (the newest step accepted before: a code is never accepted twice).
// Nothing when no step matches, the code is malformed, or the match is not newer. Codes are
// compared in constant time.
std::optional<std::int64_t> MatchTotp(const crypto::Bytes& secret, std::string_view code,
                                      core::TimePoint now, std::int64_t last_step);

// Returns RFC 4648 base32 without padding (the otpauth secret's form).
std::string Base32Encode(const crypto::Bytes& data);
// Returns the otpauth://totp/ URI that authenticator apps enrol from (Google Authenticator's key
// URI format): label "issuer:account", secret, issuer, SHA1, 6 digits, period 30.
std::string TotpUri(std::string_view issuer, std::string_view account, const crypto::Bytes& secret);

// Returns kRecoveryCodeCount fresh recovery codes, "xxxxx-xxxxx" of [a-z2-7] (50 random bits
// each), to be shown once.
std::vector<std::string> MakeRecoveryCodes();
// Returns the stored form of a recovery code of `user`: SHA-256 over the user and the code with
// case, spaces and dashes removed (so "ABCDE FGHIJ" is "abcde-fghij"). Nothing when `code` is
// not 10 base32 characters after that.
std::optional<crypto::Bytes> RecoveryCodeHash(std::string_view user, std::string_view code);

}  // namespace bulwark::authority
