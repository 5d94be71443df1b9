// Fuzzes the gateway's API key handling: the authority feed's answer (strict JSON, then
// ParseApiKeyFeed) and a presented key (ApiKeyId, then the authenticator). It must never crash; a
// parsed feed holds only 32-byte hashes; a key is admitted only when it is the one key the
// snapshot knows; a refusal never echoes the presented key.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "core/strict_json.h"
#include "proxy/api_key_auth.h"
#include "tokens/api_key.h"

namespace {

// A well-formed key: "bwk_", an 11-character id, "_", a 43-character secret.
const std::string kKnownKey = "bwk_AAAAAAAAAAA_" + std::string(43, 'B');

const bulwark::proxy::ApiKeyAuthenticator& Authenticator() {
  static const auto* authenticator = [] {
    auto snapshot = std::make_shared<bulwark::proxy::ApiKeySnapshot>();
    snapshot->version = 1;
    snapshot->keys["AAAAAAAAAAA"] = {bulwark::tokens::ApiKeyHash(kKnownKey), "client", {"a"}};
    auto* a = new bulwark::proxy::ApiKeyAuthenticator();
    a->Replace(std::move(snapshot));
    return a;
  }();
  return *authenticator;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bulwark;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<nlohmann::json> json = core::ParseStrictJson(input);
  if (json.ok()) {
    absl::StatusOr<proxy::ApiKeySnapshot> feed = proxy::ParseApiKeyFeed(*json);
    if (feed.ok()) {
      for (const auto& [id, entry] : feed->keys) {
        if (entry.hash.size() != 32) {
          std::abort();
        }
      }
    }
  }

  absl::StatusOr<std::string> id = tokens::ApiKeyId(input);
  if (id.ok() && (id->size() != 11 || input.substr(4, 11) != *id)) {
    std::abort();
  }

  auto authenticate = [&](const std::string& key) {
    http::Request request;
    request.method = "GET";
    request.target = "/";
    if (size > 0 && data[0] % 2 == 0) {
      request.headers.Add("X-Api-Key", key);
    } else {
      request.headers.Add("Authorization", "ApiKey " + key);
    }
    return Authenticator().Authenticate(request);
  };
  absl::StatusOr<tokens::Subject> subject = authenticate(std::string(input));
  // Both forms present the whole input as the key: only the known key may pass.
  if (subject.ok() && input != kKnownKey) {
    std::abort();
  }
  // A refusal may name the key's id (its first 16 bytes are "bwk_<id>_"), never the secret after
  // it. The secret counts as echoed only if the message for the same key with another secret of
  // the same length does not contain it too (then it is text of the message itself).
  constexpr std::size_t kSecretAt = 16;
  if (!subject.ok() && input.size() >= kSecretAt + 12) {
    std::string secret(input.substr(kSecretAt));
    std::string other = std::string(input.substr(0, kSecretAt)) + std::string(secret.size(), '~');
    std::string message(subject.status().message());
    absl::StatusOr<tokens::Subject> control = authenticate(other);
    std::string control_message(control.status().message());
    if (message.find(secret) != std::string::npos &&
        control_message.find(secret) == std::string::npos) {
      std::abort();
    }
  }
  return 0;
}
