// One call of the API key long-poll.
#include "proxy/api_key_watcher.h"

#include "core/status.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace bulwark::proxy {

ApiKeyWatcher::ApiKeyWatcher(identity::AuthorityClient client, SvidSource svid,
                             ApiKeyAuthenticator& keys, LongPollOptions options)
    : client_(std::move(client)),
      svid_(std::move(svid)),
      keys_(keys),
      options_(options),
      loop_([this] { return PollOnce(); }, options) {}

ApiKeyWatcher::~ApiKeyWatcher() { Stop(); }

bool ApiKeyWatcher::PollOnce() {
  std::shared_ptr<const identity::Svid> svid = svid_();
  // The first call (no version yet) asks without waiting: it is answered at once.
  std::string path = version_ < 0 ? std::string("/v1/apikeys/feed")
                                  : fmt::format("/v1/apikeys/feed?after={}&wait={}s", version_,
                                                options_.wait.count());
  absl::StatusOr<nlohmann::json> answer = client_.CallJson(
      "GET", path, nullptr, &svid->credentials, options_.wait + std::chrono::seconds(10));
  if (!answer.ok()) {
    spdlog::warn("gateway: API key feed failed, keeping version {}: {}", version_,
                 answer.status().message());
    return false;
  }
  absl::StatusOr<ApiKeySnapshot> snapshot = ParseApiKeyFeed(*answer);
  if (!snapshot.ok()) {
    spdlog::warn("gateway: API key feed refused, keeping version {}: {}", version_,
                 snapshot.status().message());
    return false;
  }
  if (snapshot->version == version_) {
    return true;  // the long-poll ended without a change
  }
  version_ = snapshot->version;
  std::size_t count = snapshot->keys.size();
  keys_.Replace(std::make_shared<const ApiKeySnapshot>(*std::move(snapshot)));
  spdlog::info("gateway: API keys version {} ({} live)", version_, count);
  return true;
}

}  // namespace bulwark::proxy
