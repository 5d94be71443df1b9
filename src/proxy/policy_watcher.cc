// The policy long-poll loop. The authority answers at once when it holds a version other than
// the one asked about (also a lower one: it restarted), else after `wait` with the same one.
#include "proxy/policy_watcher.h"

#include "core/status.h"
#include "fmt/format.h"
#include "policy/rules_json.h"
#include "spdlog/spdlog.h"

namespace bulwark::proxy {

PolicyWatcher::PolicyWatcher(identity::AuthorityClient client, SvidSource svid,
                             std::int64_t version, Apply apply, LongPollOptions options)
    : client_(std::move(client)),
      svid_(std::move(svid)),
      apply_(std::move(apply)),
      options_(options),
      version_(version),
      loop_([this] { return PollOnce(); }, options) {}

PolicyWatcher::~PolicyWatcher() { Stop(); }

bool PolicyWatcher::PollOnce() {
  std::shared_ptr<const identity::Svid> svid = svid_();
  std::string path = fmt::format("/v1/policy?after={}&wait={}s", version_, options_.wait.count());
  absl::StatusOr<nlohmann::json> answer = client_.CallJson(
      "GET", path, nullptr, &svid->credentials, options_.wait + std::chrono::seconds(10));
  if (!answer.ok()) {
    // An authority without --config (404) says so on every call: tell it once.
    bool unconfigured = answer.status().code() == absl::StatusCode::kNotFound;
    if (!unconfigured || !told_unconfigured_) {
      spdlog::warn("sidecar: policy fetch failed, keeping version {}: {}", version_,
                   answer.status().message());
    }
    told_unconfigured_ = told_unconfigured_ || unconfigured;
    return false;
  }
  if (!answer->is_object() || !answer->contains("version") ||
      !(*answer)["version"].is_number_integer() || !answer->contains("allow")) {
    spdlog::warn("sidecar: the authority's policy answer lacks version or allow");
    return false;
  }
  std::int64_t version = (*answer)["version"].get<std::int64_t>();
  if (version == version_) {
    return true;  // the long-poll ended without a change
  }
  absl::StatusOr<std::vector<mesh::AllowRule>> rules =
      policy::AllowRulesFromJson((*answer)["allow"]);
  absl::Status applied = rules.ok() ? apply_(version, *std::move(rules)) : rules.status();
  if (!applied.ok()) {
    spdlog::error("sidecar: policy version {} refused, keeping version {}: {}", version, version_,
                  applied.message());
  } else {
    spdlog::info("sidecar: applied policy version {}", version);
  }
  version_ = version;  // a refused version is not asked for again
  return true;
}

}  // namespace bulwark::proxy
