// The SSO users (docs/sso.md#users): adding one with a one-time enrolment link, enrolment itself
// (password, TOTP, recovery codes), disabling, enabling and deleting (which end the user's login
// sessions). Every change is audited. Thread-safe (the store is; the class holds no state).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "authority/store/store.h"
#include "core/clock.h"
#include "crypto/bytes.h"

namespace bulwark::authority {

// The enrolment page; a link is <issuer>/enrol?token=<token>.
inline constexpr std::string_view kEnrolPath = "/enrol";
// Enrolment tokens: "bwen_" and 32 random bytes in base64url (256 bits).
inline constexpr std::string_view kEnrolTokenPrefix = "bwen_";
inline constexpr core::Seconds kEnrolmentTtl{24 * 3600};
// The password rule: at least this many characters (code points), at most
// crypto::kMaxPasswordBytes bytes, not the user name.
inline constexpr std::size_t kMinPasswordChars = 12;

struct NewUser {
  UserRecord user;
  std::string enrol_link;  // shown once; only the token's hash is stored
  core::TimePoint expires_at;
};

// An enrolment link that can still be used, with its TOTP secret opened.
struct OpenEnrolment {
  EnrolmentRecord record;
  crypto::Bytes totp_secret;
};

// Returns InvalidArgument unless `name` is 1..64 characters of [a-z0-9._-] starting with a letter
// or digit.
absl::Status CheckUserName(std::string_view name);
// Returns InvalidArgument unless `password` follows the password rule for `user`.
absl::Status CheckNewPassword(std::string_view user, std::string_view password);

class UserDirectory {
 public:
  // `kek` seals the TOTP secrets; `issuer` (https://host:port) prefixes enrolment links.
  UserDirectory(Store& store, const core::Clock& clock, crypto::Bytes kek, std::string issuer)
      : store_(store), clock_(clock), kek_(std::move(kek)), issuer_(std::move(issuer)) {}

  // Creates user `name` (not yet enrolled) and its enrolment link, valid kEnrolmentTtl.
  // InvalidArgument for a bad name or email; AlreadyExists when the name is or was taken.
  absl::StatusOr<NewUser> Add(const std::string& actor, const std::string& name,
                              const std::string& email);
  // Disables or enables `name`; disabling ends its login sessions. NotFound for an unknown or
  // deleted user.
  absl::Status SetDisabled(const std::string& actor, const std::string& name, bool disabled);
  // Deletes `name`, keeping a tombstone so the name is never reused, and ends its sessions.
  absl::Status Delete(const std::string& actor, const std::string& name);

  // Returns the enrolment of `token` when it is unused, unexpired and its user can enrol;
  // NotFound (one message for every reason, for the page) otherwise.
  absl::StatusOr<OpenEnrolment> FindEnrolment(std::string_view token);
  // Completes the enrolment: `password` must follow the rule and `code` be the current TOTP code
  // of the enrolment's secret. Returns the recovery codes to show once. InvalidArgument (a
  // message for the user) for a bad password or code; FailedPrecondition when the link was used
  // meanwhile.
  absl::StatusOr<std::vector<std::string>> CompleteEnrolment(const OpenEnrolment& enrolment,
                                                             std::string_view password,
                                                             std::string_view code);
  // The two halves of CompleteEnrolment, for a caller that hashes the password elsewhere (the
  // login pages, on their password workers). CheckEnrolment returns the TOTP step `code` matched
  // (InvalidArgument as above); FinishEnrolment stores `password_hash` (crypto::HashPassword's)
  // with the second factor of `step` and returns the recovery codes (FailedPrecondition as above).
  absl::StatusOr<std::int64_t> CheckEnrolment(const OpenEnrolment& enrolment,
                                              std::string_view password, std::string_view code);
  absl::StatusOr<std::vector<std::string>> FinishEnrolment(const OpenEnrolment& enrolment,
                                                           std::int64_t step,
                                                           const std::string& password_hash);

  // Opens the TOTP secret of `user` sealed in `sealed`.
  absl::StatusOr<crypto::Bytes> OpenTotpSecret(const std::string& user,
                                               const crypto::Bytes& sealed) const;

  Store& store() { return store_; }
  const core::Clock& clock() const { return clock_; }
  const std::string& issuer() const { return issuer_; }

 private:
  absl::StatusOr<UserRecord> FindLiveUser(const std::string& name);

  Store& store_;
  const core::Clock& clock_;
  const crypto::Bytes kek_;
  const std::string issuer_;
};

}  // namespace bulwark::authority
