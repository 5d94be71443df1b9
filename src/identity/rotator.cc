#include "identity/rotator.h"

#include <algorithm>

#include "crypto/random.h"
#include "spdlog/spdlog.h"

namespace bulwark::identity {
namespace {

double UnitRandom() {
  constexpr std::uint64_t kSteps = 1'000'000;
  return static_cast<double>(crypto::RandomUniform(kSteps)) / kSteps;
}

}  // namespace

SvidRotator::SvidRotator(AuthorityClient client, Svid initial, RotatorOptions options)
    : client_(std::move(client)), options_(std::move(options)) {
  current_.store(std::make_shared<const Svid>(std::move(initial)));
  renew_thread_ = std::thread([this] { RenewLoop(); });
  if (options_.follow_revocations) {
    revocation_thread_ = std::thread([this] { RevocationLoop(); });
  }
}

SvidRotator::~SvidRotator() { Stop(); }

void SvidRotator::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (renew_thread_.joinable()) {
    renew_thread_.join();
  }
  if (revocation_thread_.joinable()) {
    revocation_thread_.join();
  }
}

bool SvidRotator::IsRevoked(const std::string& serial) const {
  return revoked_serials_.load()->contains(serial);
}

std::chrono::system_clock::time_point SvidRotator::NextRenewal(
    std::chrono::system_clock::time_point not_before,
    std::chrono::system_clock::time_point not_after, double jitter, double unit_random) {
  auto life = std::chrono::duration_cast<std::chrono::milliseconds>(not_after - not_before);
  double fraction = 0.5 + jitter * (unit_random - 0.5);
  return not_before + std::chrono::milliseconds(static_cast<long long>(life.count() * fraction));
}

bool SvidRotator::SleepUntil(std::chrono::system_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  wake_.wait_until(lock, deadline, [this] { return stopping_; });
  return !stopping_;
}

void SvidRotator::RenewLoop() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  auto svid = Current();
  auto next =
      NextRenewal(svid->leaf().NotBefore(), svid->leaf().NotAfter(), options_.jitter, UnitRandom());
  while (SleepUntil(next)) {
    absl::StatusOr<Svid> renewed = client_.Renew(*Current());
    if (!renewed.ok()) {
      spdlog::warn("SVID renewal failed, retrying in {} ms: {}", backoff.count(),
                   renewed.status().ToString());
      next = std::chrono::system_clock::now() + backoff;
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    backoff = options_.min_backoff;
    auto fresh = std::make_shared<const Svid>(std::move(*renewed));
    // A floor on the pace, so that a skewed clock cannot turn renewal into a busy loop.
    next = std::max(NextRenewal(fresh->leaf().NotBefore(), fresh->leaf().NotAfter(),
                                options_.jitter, UnitRandom()),
                    std::chrono::system_clock::now() + options_.min_backoff);
    current_.store(fresh);
    renewals_.fetch_add(1);
    if (options_.on_renewed) {
      options_.on_renewed(*fresh);
    }
  }
}

void SvidRotator::RevocationLoop() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        return;
      }
    }
    absl::StatusOr<RevocationList> list =
        client_.Revocations(*Current(), revocation_version_.load(), options_.revocation_wait);
    if (!list.ok()) {
      spdlog::warn("revocation list fetch failed: {}", list.status().ToString());
      if (!SleepUntil(std::chrono::system_clock::now() + backoff)) {
        return;
      }
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    backoff = options_.min_backoff;
    if (!list->entries.empty()) {
      auto next = std::make_shared<absl::flat_hash_set<std::string>>(*revoked_serials_.load());
      for (const RevocationEntry& entry : list->entries) {
        next->insert(entry.serial);
      }
      revoked_serials_.store(std::move(next));
    }
    revocation_version_.store(std::max(revocation_version_.load(), list->version));
  }
}

}  // namespace bulwark::identity
