#include "proxy/jwks_source.h"

#include "core/status.h"
#include "core/strict_json.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace bulwark::proxy {
namespace {

constexpr std::size_t kMaxMetadataBytes = 64 * 1024;

absl::Status Answered(const http::Response& response, std::string_view path) {
  if (response.status != 200) {
    return absl::UnavailableError(
        fmt::format("authority answered {} for {}", response.status, path));
  }
  return absl::OkStatus();
}

}  // namespace

KeysFetcher AuthorityKeysFetcher(identity::AuthorityClient client) {
  return [client = std::move(client)]() -> absl::StatusOr<FetchedKeys> {
    constexpr const char* kMetadata = "/.well-known/oauth-authorization-server";
    BULWARK_ASSIGN_OR_RETURN(http::Response metadata, client.Get(kMetadata));
    BULWARK_RETURN_IF_ERROR(Answered(metadata, kMetadata));
    if (metadata.body.size() > kMaxMetadataBytes) {
      return absl::DataLossError(
          fmt::format("{} is larger than {} bytes", kMetadata, kMaxMetadataBytes));
    }
    BULWARK_ASSIGN_OR_RETURN(nlohmann::json doc, core::ParseStrictJson(metadata.body));
    auto issuer = doc.is_object() ? doc.find("issuer") : doc.end();
    if (issuer == doc.end() || !issuer->is_string() ||
        issuer->get_ref<const std::string&>().empty()) {
      return absl::DataLossError(fmt::format("{} has no issuer", kMetadata));
    }
    constexpr const char* kJwks = "/oauth2/jwks";
    BULWARK_ASSIGN_OR_RETURN(http::Response answer, client.Get(kJwks));
    BULWARK_RETURN_IF_ERROR(Answered(answer, kJwks));
    BULWARK_ASSIGN_OR_RETURN(crypto::Jwks jwks, crypto::ParseJwks(answer.body));
    return FetchedKeys{tokens::IssuerKeys{issuer->get<std::string>(), std::move(jwks)},
                       tokens::JwksLifetime(answer.headers.Get("Cache-Control"))};
  };
}

JwksSource::JwksSource(std::string what, KeysFetcher fetch, JwksSourceOptions options)
    : what_(std::move(what)),
      fetch_(std::move(fetch)),
      options_(options),
      limiter_(options.unknown_kid_interval) {}

std::unique_ptr<JwksSource> JwksSource::Start(std::string what, KeysFetcher fetch,
                                              JwksSourceOptions options) {
  std::unique_ptr<JwksSource> source(new JwksSource(std::move(what), std::move(fetch), options));
  // The first fetch is not a grant: a key published just after it (a gateway's first delegated
  // key) must be found by the first token that names it.
  source->thread_ = std::thread([s = source.get()] { s->Run(); });
  return source;
}

std::unique_ptr<JwksSource> JwksSource::Start(identity::AuthorityClient client,
                                              JwksSourceOptions options) {
  return Start("the authority's token keys", AuthorityKeysFetcher(std::move(client)), options);
}

JwksSource::~JwksSource() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void JwksSource::RefetchForUnknownKid() {
  if (!limiter_.TryAcquire(core::SystemClock().Now())) {
    return;
  }
  {
    std::lock_guard lock(mu_);
    refetch_ = true;
  }
  wake_.notify_all();
}

tokens::IssuerKeySource JwksSource::AsKeySource() {
  return {[this] { return Current(); }, [this] { RefetchForUnknownKid(); }};
}

absl::StatusOr<core::Seconds> JwksSource::Fetch() {
  fetches_.fetch_add(1);
  BULWARK_ASSIGN_OR_RETURN(FetchedKeys fetched, fetch_());
  keys_.store(std::make_shared<const tokens::IssuerKeys>(std::move(fetched.keys)));
  return fetched.lifetime;
}

void JwksSource::Run() {
  std::chrono::steady_clock::duration retry = options_.retry;
  std::unique_lock lock(mu_);
  while (!stop_) {
    refetch_ = false;
    lock.unlock();
    absl::StatusOr<core::Seconds> lifetime = Fetch();
    lock.lock();
    std::chrono::steady_clock::duration wait = retry;
    // Doubling up to a minute: an authority that is away for long is not asked every 5 s.
    retry = std::min<std::chrono::steady_clock::duration>(retry * 2, std::chrono::minutes(1));
    if (lifetime.ok()) {
      retry = options_.retry;
      core::TimePoint now = core::SystemClock().Now();
      wait = tokens::JwksRefreshTime(now, *lifetime) - now;
      spdlog::info("fetched {}; next refresh in {} s", what_,
                   std::chrono::duration_cast<core::Seconds>(wait).count());
    } else {
      spdlog::warn("fetching {} failed ({}); {}", what_, lifetime.status().message(),
                   Current() != nullptr ? "keeping the last good ones" : "no keys yet");
    }
    wake_.wait_for(lock, wait, [this] { return stop_ || refetch_; });
  }
}

}  // namespace bulwark::proxy
