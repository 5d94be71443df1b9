// The API key format, its parse and its hash.
#include "tokens/api_key.h"

#include <algorithm>

#include "crypto/digest.h"
#include "crypto/random.h"
#include "fmt/format.h"

namespace bulwark::tokens {
namespace {

constexpr std::size_t kIdBytes = 8;
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kIdChars = 11;      // unpadded base64url of 8 bytes
constexpr std::size_t kSecretChars = 43;  // of 32 bytes

bool IsBase64Url(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

}  // namespace

NewApiKey MakeApiKey() {
  NewApiKey out;
  // An id is an argument of `apikey revoke ID`: one starting with '-' would read as an option.
  do {
    out.id = crypto::Base64UrlEncode(crypto::RandomBytes(kIdBytes));
  } while (out.id.front() == '-');
  out.key = fmt::format("{}{}_{}", kApiKeyPrefix, out.id,
                        crypto::Base64UrlEncode(crypto::RandomBytes(kSecretBytes)));
  out.hash = ApiKeyHash(out.key);
  return out;
}

absl::StatusOr<std::string> ApiKeyId(std::string_view key) {
  if (!key.starts_with(kApiKeyPrefix)) {
    return absl::InvalidArgumentError(fmt::format("an API key starts with '{}'", kApiKeyPrefix));
  }
  std::string_view rest = key.substr(kApiKeyPrefix.size());
  // The id is fixed-length: base64url may itself contain '_', so the separator is found by
  // position, not by search.
  if (rest.size() != kIdChars + 1 + kSecretChars || rest[kIdChars] != '_') {
    return absl::InvalidArgumentError(
        fmt::format("an API key is '{}' + {} id characters + '_' + {} secret characters",
                    kApiKeyPrefix, kIdChars, kSecretChars));
  }
  std::string_view id = rest.substr(0, kIdChars);
  if (!IsBase64Url(id) || !IsBase64Url(rest.substr(kIdChars + 1))) {
    return absl::InvalidArgumentError("an API key holds base64url characters only");
  }
  return std::string(id);
}

crypto::Bytes ApiKeyHash(std::string_view key) { return crypto::Sha256(key); }

bool ApiKeyMatches(std::string_view key, const crypto::Bytes& hash) {
  return crypto::ConstantTimeEquals(ApiKeyHash(key), hash);
}

}  // namespace bulwark::tokens
