#include "crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <limits>

#include "core/status.h"

namespace bulwark::crypto {

Bytes RandomBytes(std::size_t n) {
  Bytes out(n);
  std::size_t done = 0;
  // RAND_bytes takes an int length; large requests are filled in chunks.
  while (done < n) {
    std::size_t chunk = std::min<std::size_t>(n - done, std::numeric_limits<int>::max());
    BULWARK_CHECK(RAND_bytes(out.data() + done, static_cast<int>(chunk)) == 1);
    done += chunk;
  }
  return out;
}

std::uint64_t RandomUniform(std::uint64_t bound) {
  BULWARK_CHECK(bound > 0);
  // Rejection sampling: values at or above the largest multiple of `bound` would bias the result.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  for (;;) {
    Bytes b = RandomBytes(sizeof(std::uint64_t));
    std::uint64_t v = 0;
    for (std::uint8_t byte : b) {
      v = v << 8 | byte;
    }
    if (v < limit) {
      return v % bound;
    }
  }
}

}  // namespace bulwark::crypto
