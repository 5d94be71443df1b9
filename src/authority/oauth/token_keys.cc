#include "authority/oauth/token_keys.h"

#include <algorithm>

#include "authority/sealed_key.h"
#include "core/status.h"
#include "core/strict_json.h"
#include "core/units.h"
#include "crypto/jwt.h"
#include "fmt/format.h"

namespace bulwark::authority::oauth {
namespace {

std::string KeyAad(const std::string& kid) { return fmt::format("token-key:{}", kid); }

TokenKeyInfo InfoOf(const TokenKeyRecord& r) {
  return {r.kid, r.state, r.activate_at, r.retire_at, r.remove_at};
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenKeys>> TokenKeys::Load(Store& store, const crypto::Bytes& kek,
                                                           const core::Clock& clock,
                                                           TokenKeyOptions options) {
  std::unique_ptr<TokenKeys> keys(new TokenKeys(store, kek, clock, options));
  BULWARK_ASSIGN_OR_RETURN(std::vector<TokenKeyRecord> records, store.ListTokenKeys());
  for (TokenKeyRecord& record : records) {
    if (record.state == TokenKeyState::kRetired) {
      continue;
    }
    BULWARK_ASSIGN_OR_RETURN(
        crypto::PrivateKey key,
        UnsealPrivateKey(kek, record.sealed_key, KeyAad(record.kid), "token-signing key"));
    keys->entries_.push_back(
        {std::move(record), std::make_shared<const crypto::PrivateKey>(std::move(key))});
  }
  std::lock_guard lock(keys->mutex_);
  BULWARK_RETURN_IF_ERROR(keys->LoadDelegated());
  if (keys->Find(TokenKeyState::kCurrent) == nullptr) {
    core::TimePoint now = clock.Now();
    BULWARK_ASSIGN_OR_RETURN(Entry first, keys->MakeKey(now, now, TokenKeyState::kCurrent));
    BULWARK_RETURN_IF_ERROR(keys->Commit({first.record}, "token-key.init", "authority",
                                         "first key, current at once", first.key));
  } else {
    BULWARK_RETURN_IF_ERROR(keys->PublishSnapshot());
  }
  return keys;
}

absl::StatusOr<TokenKeys::Entry> TokenKeys::MakeKey(core::TimePoint now,
                                                    core::TimePoint activate_at,
                                                    TokenKeyState state) const {
  BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                           crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  BULWARK_ASSIGN_OR_RETURN(std::string kid, crypto::JwkThumbprint(key.Public()));
  TokenKeyRecord record;
  record.kid = kid;
  BULWARK_ASSIGN_OR_RETURN(record.sealed_key, SealPrivateKey(kek_, key, KeyAad(kid)));
  record.created_at = now;
  return Entry{Scheduled(std::move(record), state, activate_at),
               std::make_shared<const crypto::PrivateKey>(std::move(key))};
}

const TokenKeys::Entry* TokenKeys::Find(TokenKeyState state) const {
  for (const Entry& entry : entries_) {
    if (entry.record.state == state) {
      return &entry;
    }
  }
  return nullptr;
}

absl::Status TokenKeys::Commit(const std::vector<TokenKeyRecord>& changed, std::string_view action,
                               std::string_view actor, std::string detail,
                               std::shared_ptr<const crypto::PrivateKey> new_key) {
  AuditEntry audit{0,
                   clock_.Now(),
                   std::string(actor),
                   std::string(action),
                   changed.front().kid,
                   std::move(detail)};
  // The store first: memory changes only once the change is durable.
  BULWARK_RETURN_IF_ERROR(store_.PutTokenKeys(changed, audit));
  for (const TokenKeyRecord& record : changed) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.record.kid == record.kid; });
    if (it != entries_.end()) {
      it->record = record;
    } else {
      entries_.push_back({record, new_key});
    }
  }
  std::erase_if(entries_, [](const Entry& e) { return e.record.state == TokenKeyState::kRetired; });
  return PublishSnapshot();
}

absl::Status TokenKeys::PublishSnapshot() {
  auto snapshot = std::make_shared<Snapshot>();
  std::vector<crypto::Jwk> jwks;
  // Current first, then next, then retiring: the order of List() and of the JWKS document.
  for (TokenKeyState state :
       {TokenKeyState::kCurrent, TokenKeyState::kNext, TokenKeyState::kRetiring}) {
    for (const Entry& entry : entries_) {
      if (entry.record.state != state) {
        continue;
      }
      if (state == TokenKeyState::kCurrent) {
        snapshot->current_kid = entry.record.kid;
        snapshot->signer = entry.key;
      }
      BULWARK_ASSIGN_OR_RETURN(crypto::Jwk jwk, crypto::JwkForKey(entry.key->Public()));
      jwks.push_back(std::move(jwk));
      snapshot->keys.push_back(InfoOf(entry.record));
    }
  }
  // Then the delegated keys, oldest first; List() shows only the authority's own keys.
  for (const Delegated& delegated : delegated_) {
    jwks.push_back(delegated.jwk);
  }
  BULWARK_ASSIGN_OR_RETURN(crypto::Jwks set, crypto::Jwks::FromKeys(std::move(jwks)));
  BULWARK_ASSIGN_OR_RETURN(nlohmann::json doc, crypto::JwksToJson(set));
  snapshot->jwks = std::make_shared<const crypto::Jwks>(std::move(set));
  snapshot->jwks_json = std::make_shared<const std::string>(doc.dump());
  snapshot_.store(std::move(snapshot));
  return absl::OkStatus();
}

absl::StatusOr<std::string> TokenKeys::Sign(std::string_view typ,
                                            const nlohmann::json& claims) const {
  std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  return crypto::SignJwt({{"typ", std::string(typ)}}, claims, *snapshot->signer,
                         snapshot->current_kid);
}

absl::StatusOr<std::string> TokenKeys::SignTxn(const tokens::TxnTokenClaims& claims) const {
  std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  return tokens::SignTransactionToken(claims, *snapshot->signer, snapshot->current_kid);
}

std::shared_ptr<const crypto::Jwks> TokenKeys::Published() const { return snapshot_.load()->jwks; }

std::shared_ptr<const std::string> TokenKeys::PublishedJson() const {
  return snapshot_.load()->jwks_json;
}

std::vector<TokenKeyInfo> TokenKeys::List() const { return snapshot_.load()->keys; }

TokenKeyRecord TokenKeys::Scheduled(TokenKeyRecord record, TokenKeyState state,
                                    core::TimePoint activate_at) const {
  record.state = state;
  record.activate_at = activate_at;
  record.retire_at = activate_at + options_.signing_period;
  record.remove_at = record.retire_at + options_.retain();
  return record;
}

absl::Status TokenKeys::PublishNext(bool force, std::string_view actor, core::TimePoint now) {
  const core::Seconds lead = options_.publish_lead();
  const Entry* current = Find(TokenKeyState::kCurrent);
  const Entry* next = Find(TokenKeyState::kNext);
  if (next == nullptr && (force || now >= current->record.retire_at - lead)) {
    core::TimePoint activate_at =
        force ? now + lead : std::max(now + lead, current->record.retire_at);
    BULWARK_ASSIGN_OR_RETURN(Entry made, MakeKey(now, activate_at, TokenKeyState::kNext));
    return Commit({made.record}, "token-key.publish", actor,
                  fmt::format("next key, signs from {}", core::ToUnixSeconds(activate_at)),
                  made.key);
  }
  if (next != nullptr && force) {
    // A forced rotation brings the activation forward, but never before the key has been
    // published for the whole lead.
    core::TimePoint earliest = std::max(now, next->record.created_at + lead);
    if (earliest < next->record.activate_at) {
      return Commit({Scheduled(next->record, TokenKeyState::kNext, earliest)}, "token-key.publish",
                    actor, fmt::format("next key, signs from {}", core::ToUnixSeconds(earliest)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TokenKeyRotation> TokenKeys::Rotate(bool force, std::string_view actor) {
  std::lock_guard lock(mutex_);
  const core::TimePoint now = clock_.Now();
  TokenKeyRotation result;
  BULWARK_RETURN_IF_ERROR(PublishNext(force, actor, now));
  const Entry* current = Find(TokenKeyState::kCurrent);
  const Entry* next = Find(TokenKeyState::kNext);
  if (next != nullptr && now >= next->record.activate_at) {
    TokenKeyRecord old = current->record;
    old.state = TokenKeyState::kRetiring;
    old.retire_at = now;
    old.remove_at = now + options_.retain();
    TokenKeyRecord fresh = Scheduled(next->record, TokenKeyState::kCurrent, now);
    BULWARK_RETURN_IF_ERROR(
        Commit({fresh, old}, "token-key.activate", actor, fmt::format("replaces {}", old.kid)));
    result.activated = true;
  }
  std::vector<TokenKeyRecord> removed;
  for (const Entry& entry : entries_) {
    if (entry.record.state == TokenKeyState::kRetiring && now >= entry.record.remove_at) {
      TokenKeyRecord record = entry.record;
      record.state = TokenKeyState::kRetired;
      record.sealed_key.clear();  // it never signs again: nothing to keep at rest
      removed.push_back(std::move(record));
    }
  }
  if (!removed.empty()) {
    BULWARK_RETURN_IF_ERROR(Commit(removed, "token-key.remove", actor, "left the JWKS"));
  }
  BULWARK_RETURN_IF_ERROR(RemoveExpiredDelegated(now));
  std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  result.current_kid = snapshot->current_kid;
  for (const TokenKeyInfo& info : snapshot->keys) {
    if (info.state == TokenKeyState::kNext) {
      result.next = info;
    }
  }
  return result;
}

absl::Status TokenKeys::LoadDelegated() {
  BULWARK_ASSIGN_OR_RETURN(std::vector<DelegatedKeyRecord> records,
                           store_.ListDelegatedKeys(clock_.Now()));
  for (DelegatedKeyRecord& record : records) {
    absl::StatusOr<nlohmann::json> doc = core::ParseStrictJson(record.jwk_json, 4);
    absl::StatusOr<crypto::Jwk> jwk =
        doc.ok() ? crypto::ParseJwk(*doc) : absl::StatusOr<crypto::Jwk>(doc.status());
    if (!jwk.ok() || !jwk->delegation) {
      return absl::DataLossError(fmt::format("stored delegated key {} does not parse: {}",
                                             record.kid,
                                             jwk.ok() ? "no delegation" : jwk.status().message()));
    }
    delegated_.push_back({std::move(record), *std::move(jwk)});
  }
  return absl::OkStatus();
}

absl::Status TokenKeys::RemoveExpiredDelegated(core::TimePoint now) {
  std::size_t removed =
      std::erase_if(delegated_, [now](const Delegated& d) { return now >= d.record.expires_at; });
  if (removed == 0) {
    return absl::OkStatus();
  }
  BULWARK_RETURN_IF_ERROR(store_.PruneDelegatedKeys(now));
  return PublishSnapshot();
}

absl::StatusOr<DelegatedKeyGrant> TokenKeys::RegisterDelegated(const identity::SpiffeId& owner,
                                                               const nlohmann::json& jwk) {
  BULWARK_ASSIGN_OR_RETURN(crypto::Jwk parsed, crypto::ParseJwk(jwk));
  if (parsed.key.type() != crypto::KeyType::kP256 || parsed.delegation) {
    return absl::InvalidArgumentError(fmt::format(
        "a delegated key is a public P-256 (ES256) JWK without a '{}' member: the authority "
        "decides its delegation",
        crypto::kJwkDelegationMember));
  }
  BULWARK_ASSIGN_OR_RETURN(std::string kid, crypto::JwkThumbprint(parsed.key));
  if (!parsed.kid.empty() && parsed.kid != kid) {
    return absl::InvalidArgumentError(
        fmt::format("'kid' must be the key's RFC 7638 thumbprint, {}", kid));
  }
  std::lock_guard lock(mutex_);
  const core::TimePoint now = clock_.Now();
  bool known = std::any_of(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.record.kid == kid; }) ||
               std::any_of(delegated_.begin(), delegated_.end(),
                           [&](const Delegated& d) { return d.record.kid == kid; });
  if (known) {
    return absl::AlreadyExistsError(fmt::format("key {} is in the JWKS already", kid));
  }
  parsed.kid = kid;
  parsed.delegation = crypto::JwkDelegation{owner.str(), std::string(tokens::kTxnTokenType),
                                            now + options_.delegated_ttl()};
  BULWARK_ASSIGN_OR_RETURN(nlohmann::json published, crypto::JwkToJson(parsed));
  DelegatedKeyRecord record{kid, owner.str(), published.dump(), now, parsed.delegation->expires_at};
  std::vector<std::string> evict;
  std::size_t owned = std::count_if(delegated_.begin(), delegated_.end(), [&](const Delegated& d) {
    return d.record.owner == owner.str();
  });
  for (const Delegated& d : delegated_) {
    if (d.record.owner == owner.str() && owned >= options_.max_delegated_keys) {
      evict.push_back(d.record.kid);  // oldest first
      --owned;
    }
  }
  AuditEntry audit{0,
                   now,
                   owner.str(),
                   "txn-key.register",
                   kid,
                   fmt::format("delegated transaction-token key until {}{}",
                               core::ToUnixSeconds(record.expires_at),
                               evict.empty() ? "" : fmt::format(", evicts {}", evict.front()))};
  BULWARK_RETURN_IF_ERROR(store_.PutDelegatedKey(record, evict, audit));
  std::erase_if(delegated_, [&](const Delegated& d) {
    return std::find(evict.begin(), evict.end(), d.record.kid) != evict.end();
  });
  delegated_.push_back({record, std::move(parsed)});
  BULWARK_RETURN_IF_ERROR(PublishSnapshot());
  return DelegatedKeyGrant{kid, now + options_.publish_lead(), record.expires_at};
}

}  // namespace bulwark::authority::oauth
