#include "authority/sso/users.h"

#include <algorithm>
#include <limits>

#include "authority/sso/totp.h"
#include "core/status.h"
#include "crypto/aead.h"
#include "crypto/digest.h"
#include "crypto/password.h"
#include "crypto/random.h"
#include "fmt/format.h"

namespace bulwark::authority {
namespace {

std::string TotpAad(std::string_view user) { return fmt::format("totp:{}", user); }

absl::Status CheckEmail(std::string_view email) {
  if (email.empty()) {
    return absl::OkStatus();
  }
  bool printable =
      std::all_of(email.begin(), email.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  std::size_t at = email.find('@');
  if (email.size() > 254 || !printable || at == 0 || at == std::string_view::npos ||
      at + 1 == email.size() || email.find('@', at + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError(
        "the email must look like name@example.org (at most 254 visible ASCII characters)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckUserName(std::string_view name) {
  bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
  if (name.empty() || name.size() > 64 || !plain || name[0] == '.' || name[0] == '_' ||
      name[0] == '-') {
    return absl::InvalidArgumentError(
        "a user name is 1 to 64 characters of a-z 0-9 . _ - and starts with a letter or digit");
  }
  return absl::OkStatus();
}

absl::Status CheckNewPassword(std::string_view user, std::string_view password) {
  // Code points: every byte that is not a UTF-8 continuation byte starts one.
  std::size_t chars = std::count_if(password.begin(), password.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  });
  if (chars < kMinPasswordChars) {
    return absl::InvalidArgumentError(
        fmt::format("The password must be at least {} characters long.", kMinPasswordChars));
  }
  if (password.size() > crypto::kMaxPasswordBytes) {
    return absl::InvalidArgumentError(
        fmt::format("The password must be at most {} bytes long.", crypto::kMaxPasswordBytes));
  }
  if (password == user) {
    return absl::InvalidArgumentError("The password must not be your user name.");
  }
  return absl::OkStatus();
}

absl::StatusOr<NewUser> UserDirectory::Add(const std::string& actor, const std::string& name,
                                           const std::string& email) {
  BULWARK_RETURN_IF_ERROR(CheckUserName(name));
  BULWARK_RETURN_IF_ERROR(CheckEmail(email));
  core::TimePoint now = clock_.Now();
  NewUser out;
  out.user = UserRecord{name, email, "", false, now, std::nullopt};
  BULWARK_RETURN_IF_ERROR(
      store_.CreateUser(out.user, AuditEntry{0, now, actor, "user.add", name, email}));
  std::string token =
      fmt::format("{}{}", kEnrolTokenPrefix, crypto::Base64UrlEncode(crypto::RandomBytes(32)));
  BULWARK_ASSIGN_OR_RETURN(
      crypto::Bytes sealed,
      crypto::EnvelopeSeal(kek_, crypto::ToString(crypto::RandomBytes(kTotpSecretBytes)),
                           TotpAad(name)));
  out.expires_at = now + kEnrolmentTtl;
  EnrolmentRecord enrolment{
      crypto::Sha256(std::string_view(token)), name, sealed, now, out.expires_at, std::nullopt};
  BULWARK_RETURN_IF_ERROR(store_.CreateEnrolment(
      enrolment, AuditEntry{0, now, actor, "user.enrolment", name,
                            fmt::format("expires_at={}", core::ToUnixSeconds(out.expires_at))}));
  out.enrol_link = fmt::format("{}{}?token={}", issuer_, kEnrolPath, token);
  return out;
}

absl::StatusOr<UserRecord> UserDirectory::FindLiveUser(const std::string& name) {
  BULWARK_ASSIGN_OR_RETURN(UserRecord user, store_.FindUser(name));
  if (user.deleted_at) {
    return absl::NotFoundError(fmt::format("the user {} is deleted", name));
  }
  return user;
}

absl::Status UserDirectory::SetDisabled(const std::string& actor, const std::string& name,
                                        bool disabled) {
  BULWARK_ASSIGN_OR_RETURN(UserRecord user, FindLiveUser(name));
  core::TimePoint now = clock_.Now();
  user.disabled = disabled;
  BULWARK_RETURN_IF_ERROR(store_.UpdateUser(
      user, AuditEntry{0, now, actor, disabled ? "user.disable" : "user.enable", name, ""}));
  if (disabled) {
    BULWARK_RETURN_IF_ERROR(
        store_.EndLoginSessions({}, name, now, {0, now, actor, "session.end", name, "disabled"})
            .status());
  }
  return absl::OkStatus();
}

absl::Status UserDirectory::Delete(const std::string& actor, const std::string& name) {
  BULWARK_ASSIGN_OR_RETURN(UserRecord user, FindLiveUser(name));
  core::TimePoint now = clock_.Now();
  user.deleted_at = now;
  user.password_hash.clear();
  BULWARK_RETURN_IF_ERROR(
      store_.UpdateUser(user, AuditEntry{0, now, actor, "user.delete", name, ""}));
  return store_.EndLoginSessions({}, name, now, {0, now, actor, "session.end", name, "deleted"})
      .status();
}

absl::StatusOr<OpenEnrolment> UserDirectory::FindEnrolment(std::string_view token) {
  const absl::Status invalid = absl::NotFoundError(
      "This enrolment link is invalid, expired or used. Ask your administrator for a new one.");
  if (!token.starts_with(kEnrolTokenPrefix) || token.size() > 128) {
    return invalid;
  }
  absl::StatusOr<EnrolmentRecord> record = store_.FindEnrolment(crypto::Sha256(token));
  if (!record.ok()) {
    return record.status().code() == absl::StatusCode::kNotFound ? invalid : record.status();
  }
  absl::StatusOr<UserRecord> user = store_.FindUser(record->user);
  if (record->used_at || record->expires_at <= clock_.Now() || !user.ok() || user->disabled ||
      user->deleted_at) {
    return invalid;
  }
  BULWARK_ASSIGN_OR_RETURN(crypto::Bytes secret, OpenTotpSecret(record->user, record->totp_sealed));
  return OpenEnrolment{*std::move(record), std::move(secret)};
}

absl::StatusOr<std::vector<std::string>> UserDirectory::CompleteEnrolment(
    const OpenEnrolment& enrolment, std::string_view password, std::string_view code) {
  BULWARK_ASSIGN_OR_RETURN(std::int64_t step, CheckEnrolment(enrolment, password, code));
  BULWARK_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(password));
  return FinishEnrolment(enrolment, step, hash);
}

absl::StatusOr<std::int64_t> UserDirectory::CheckEnrolment(const OpenEnrolment& enrolment,
                                                           std::string_view password,
                                                           std::string_view code) {
  BULWARK_RETURN_IF_ERROR(CheckNewPassword(enrolment.record.user, password));
  std::optional<std::int64_t> step = MatchTotp(enrolment.totp_secret, code, clock_.Now(),
                                               std::numeric_limits<std::int64_t>::min());
  if (!step) {
    return absl::InvalidArgumentError(
        "The code does not match. Enter the 6-digit code your authenticator app shows now.");
  }
  return *step;
}

absl::StatusOr<std::vector<std::string>> UserDirectory::FinishEnrolment(
    const OpenEnrolment& enrolment, std::int64_t step, const std::string& password_hash) {
  const std::string& name = enrolment.record.user;
  std::vector<std::string> codes = MakeRecoveryCodes();
  std::vector<crypto::Bytes> hashes;
  for (const std::string& c : codes) {
    hashes.push_back(*RecoveryCodeHash(name, c));
  }
  // The enrolment's step is the last accepted one: the confirming code cannot sign in.
  UserMfaRecord mfa{name, enrolment.record.totp_sealed, step};
  core::TimePoint now = clock_.Now();
  BULWARK_RETURN_IF_ERROR(store_.CompleteEnrolment(enrolment.record.hash, now, password_hash, mfa,
                                                   hashes,
                                                   {0, now, name, "user.enrolled", name, "totp"}));
  return codes;
}

absl::StatusOr<crypto::Bytes> UserDirectory::OpenTotpSecret(const std::string& user,
                                                            const crypto::Bytes& sealed) const {
  absl::StatusOr<std::string> secret = crypto::EnvelopeOpen(kek_, sealed, TotpAad(user));
  if (!secret.ok()) {
    return absl::InternalError(fmt::format(
        "cannot unseal the TOTP secret of {}: the key-encryption key does not match", user));
  }
  return crypto::ToBytes(*secret);
}

}  // namespace bulwark::authority
