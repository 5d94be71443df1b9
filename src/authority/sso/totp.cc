#include "authority/sso/totp.h"

#include <cctype>

#include "crypto/digest.h"
#include "crypto/random.h"
#include "fmt/format.h"

namespace bulwark::authority {
namespace {

constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string PercentEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    out += unreserved ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace

std::int64_t TotpStep(core::TimePoint now) {
  long long seconds = core::ToUnixSeconds(now);
  // Floor division: a clock before 1970 still maps to a well-defined (negative) step.
  return seconds >= 0 ? seconds / kTotpPeriodSeconds
                      : -((-seconds + kTotpPeriodSeconds - 1) / kTotpPeriodSeconds);
}

std::string TotpCode(const crypto::Bytes& secret, std::int64_t step, int digits) {
  std::string counter(8, '\0');
  auto value = static_cast<std::uint64_t>(step);
  for (int i = 7; i >= 0; --i) {
    counter[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  crypto::Bytes mac = crypto::HmacSha1(secret, counter);
  // RFC 4226 §5.3 dynamic truncation.
  std::size_t offset = mac[19] & 0x0f;
  std::uint32_t binary = (static_cast<std::uint32_t>(mac[offset] & 0x7f) << 24) |
                         (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                         (static_cast<std::uint32_t>(mac[offset + 2]) << 8) |
                         static_cast<std::uint32_t>(mac[offset + 3]);
  std::uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) {
    modulus *= 10;
  }
  return fmt::format("{:0{}}", binary % modulus, digits);
}

std::optional<std::int64_t> MatchTotp(const crypto::Bytes& secret, std::string_view code,
                                      core::TimePoint now, std::int64_t last_step) {
  if (code.size() != kTotpDigits) {
    return std::nullopt;
  }
  for (char c : code) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  std::int64_t current = TotpStep(now);
  std::optional<std::int64_t> matched;
  // Every candidate is computed and compared, so the time does not depend on which one matches.
  for (std::int64_t step = current - kTotpDriftSteps; step <= current + kTotpDriftSteps; ++step) {
    if (crypto::ConstantTimeEquals(crypto::ToBytes(TotpCode(secret, step)),
                                   crypto::ToBytes(code))) {
      matched = step;
    }
  }
  if (!matched || *matched <= last_step) {
    return std::nullopt;
  }
  return matched;
}

std::string Base32Encode(const crypto::Bytes& data) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += kBase32[(buffer >> (bits - 5)) & 0x1f];
      bits -= 5;
    }
  }
  if (bits > 0) {
    out += kBase32[(buffer << (5 - bits)) & 0x1f];
  }
  return out;
}

std::string TotpUri(std::string_view issuer, std::string_view account,
                    const crypto::Bytes& secret) {
  return fmt::format("otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={}&period={}",
                     PercentEncode(issuer), PercentEncode(account), Base32Encode(secret),
                     PercentEncode(issuer), kTotpDigits, kTotpPeriodSeconds);
}

std::vector<std::string> MakeRecoveryCodes() {
  std::vector<std::string> codes;
  for (int i = 0; i < kRecoveryCodeCount; ++i) {
    std::string code;
    for (int j = 0; j < 10; ++j) {
      if (j == 5) {
        code += '-';
      }
      code += static_cast<char>(std::tolower(kBase32[crypto::RandomUniform(32)]));
    }
    codes.push_back(std::move(code));
  }
  return codes;
}

std::optional<crypto::Bytes> RecoveryCodeHash(std::string_view user, std::string_view code) {
  std::string normal;
  for (char c : code) {
    if (c == '-' || c == ' ') {
      continue;
    }
    char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!((lower >= 'a' && lower <= 'z') || (lower >= '2' && lower <= '7')) ||
        normal.size() >= 10) {
      return std::nullopt;
    }
    normal += lower;
  }
  if (normal.size() != 10) {
    return std::nullopt;
  }
  return crypto::Sha256(fmt::format("bulwark-recovery-code\n{}\n{}", user, normal));
}

}  // namespace bulwark::authority
