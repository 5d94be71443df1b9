// Password hashing with argon2id (libsodium's crypto_pwhash_str*), stored in PHC string form
// ($argon2id$v=19$m=...,t=...,p=1$salt$hash). The parameters and their measured cost are in
// docs/sso.md#users. Thread-safe; each hash or verification takes the parameters' memory and
// CPU time on the calling thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace bulwark::crypto {

struct PasswordHashParams {
  unsigned long long opslimit;  // argon2id passes (t)
  std::size_t memlimit;         // bytes of memory (m)
};

// t=2, m=19 MiB, p=1: the OWASP Password Storage Cheat Sheet's argon2id baseline. Its cost on
// the machine measured is in docs/sso.md#users.
inline constexpr PasswordHashParams kPasswordHashParams{2, std::size_t{19} << 20};

// The longest password accepted, in bytes (a bound on work per request, not a policy).
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// Returns the argon2id PHC string of `password` under a fresh random salt. InvalidArgument for a
// password over kMaxPasswordBytes; Internal when libsodium cannot allocate the memory.
absl::StatusOr<std::string> HashPassword(std::string_view password,
                                         const PasswordHashParams& params = kPasswordHashParams);

// Returns whether `password` matches `hash` (a PHC string from HashPassword). False for a
// malformed hash or an over-long password, never an error: a caller cannot tell them apart.
bool VerifyPassword(std::string_view hash, std::string_view password);

// Returns whether `hash` was made with other parameters than `params` (rehash on next login).
bool PasswordNeedsRehash(std::string_view hash,
                         const PasswordHashParams& params = kPasswordHashParams);

// Returns a hash of a random password with the default parameters, made once per process:
// verifying against it costs what verifying a real user's password costs, so the time of a
// sign-in does not tell whether the name exists.
const std::string& DummyPasswordHash();

}  // namespace bulwark::crypto
