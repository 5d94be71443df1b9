// Cryptographically secure randomness from OpenSSL's DRBG. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "crypto/bytes.h"

namespace bulwark::crypto {

// Returns `n` random bytes. Aborts if the system DRBG fails (the process cannot continue safely).
Bytes RandomBytes(std::size_t n);
// Returns a uniformly random integer in [0, bound); bound must be > 0.
std::uint64_t RandomUniform(std::uint64_t bound);

}  // namespace bulwark::crypto
