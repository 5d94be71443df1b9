// Finding the presented key, looking it up by id and checking its hash.
#include "proxy/api_key_auth.h"

#include "core/ascii.h"
#include "core/status.h"
#include "fmt/format.h"
#include "tokens/api_key.h"

namespace bulwark::proxy {
namespace {

constexpr std::string_view kApiKeyHeader = "X-Api-Key";
constexpr std::string_view kScheme = "ApiKey";

absl::Status Refuse(std::string_view reason) {
  return absl::UnauthenticatedError(fmt::format("API key refused: {}", reason));
}

bool IsApiKeyAuthorization(std::string_view value) {
  return value.size() > kScheme.size() && value[kScheme.size()] == ' ' &&
         core::AsciiEqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme);
}

// Returns the one key the request presents.
absl::StatusOr<std::string_view> PresentedKey(const http::Headers& headers) {
  std::size_t in_authorization = 0;
  std::string_view key;
  for (const http::Header& header : headers.all()) {
    if (core::AsciiEqualsIgnoreCase(header.name, "Authorization") &&
        IsApiKeyAuthorization(header.value)) {
      ++in_authorization;
      key = std::string_view(header.value).substr(kScheme.size() + 1);
    }
  }
  std::size_t in_header = headers.Count(kApiKeyHeader);
  if (in_authorization + in_header == 0) {
    return Refuse("none presented (Authorization: ApiKey <key> or X-Api-Key: <key>)");
  }
  if (in_authorization + in_header > 1) {
    return Refuse("more than one presented; send exactly one");
  }
  return in_header == 1 ? *headers.Get(kApiKeyHeader) : key;
}

absl::StatusOr<std::vector<std::string>> StringArray(const nlohmann::json& value,
                                                     std::string_view where) {
  if (!value.is_array()) {
    return absl::InvalidArgumentError(fmt::format("{} is not an array", where));
  }
  std::vector<std::string> out;
  for (const nlohmann::json& item : value) {
    if (!item.is_string()) {
      return absl::InvalidArgumentError(fmt::format("{} holds a non-string", where));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

absl::Status AddEntry(const nlohmann::json& key, std::size_t index, ApiKeySnapshot& snapshot) {
  std::string where = fmt::format("keys[{}]", index);
  for (const char* member : {"id", "hash", "client"}) {
    if (!key.is_object() || !key.contains(member) || !key[member].is_string()) {
      return absl::InvalidArgumentError(fmt::format("{}.{} is not a string", where, member));
    }
  }
  absl::StatusOr<crypto::Bytes> hash = crypto::Base64UrlDecode(key["hash"].get<std::string>());
  if (!hash.ok() || hash->size() != 32) {
    return absl::InvalidArgumentError(fmt::format("{}.hash is not a base64url SHA-256", where));
  }
  ApiKeyEntry entry{*std::move(hash), key["client"].get<std::string>(), {}};
  if (key.contains("scopes")) {
    absl::StatusOr<std::vector<std::string>> scopes = StringArray(key["scopes"], where + ".scopes");
    if (!scopes.ok()) {
      return scopes.status();
    }
    entry.scopes = *std::move(scopes);
  }
  snapshot.keys[key["id"].get<std::string>()] = std::move(entry);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ApiKeySnapshot> ParseApiKeyFeed(const nlohmann::json& answer) {
  if (!answer.is_object() || !answer.contains("version") ||
      !answer["version"].is_number_integer() || !answer.contains("keys") ||
      !answer["keys"].is_array()) {
    return absl::InvalidArgumentError("the API key feed's answer needs version and keys");
  }
  ApiKeySnapshot snapshot;
  snapshot.version = answer["version"].get<std::int64_t>();
  for (std::size_t i = 0; i < answer["keys"].size(); ++i) {
    if (absl::Status s = AddEntry(answer["keys"][i], i, snapshot); !s.ok()) {
      return s;
    }
  }
  return snapshot;
}

void RemoveApiKeyHeaders(http::Headers& headers) {
  headers.Remove(kApiKeyHeader);
  http::Headers kept;
  for (const http::Header& header : headers.all()) {
    if (!core::AsciiEqualsIgnoreCase(header.name, "Authorization") ||
        !IsApiKeyAuthorization(header.value)) {
      kept.Add(header.name, header.value);
    }
  }
  headers = std::move(kept);
}

absl::StatusOr<tokens::Subject> ApiKeyAuthenticator::Authenticate(
    const http::Request& request) const {
  std::shared_ptr<const ApiKeySnapshot> keys = keys_.load();
  if (keys == nullptr) {
    return Refuse("the authority's API key feed has not answered yet");
  }
  absl::StatusOr<std::string_view> key = PresentedKey(request.headers);
  if (!key.ok()) {
    return key.status();
  }
  absl::StatusOr<std::string> id = tokens::ApiKeyId(*key);
  if (!id.ok()) {
    return Refuse(fmt::format("malformed: {}", id.status().message()));
  }
  auto entry = keys->keys.find(*id);
  if (entry == keys->keys.end()) {
    return Refuse(fmt::format("key {} is unknown or revoked", *id));
  }
  if (!tokens::ApiKeyMatches(*key, entry->second.hash)) {
    return Refuse(fmt::format("key {}: the secret does not match", *id));
  }
  return tokens::Subject{"api_key", entry->second.client, entry->second.scopes};
}

}  // namespace bulwark::proxy
