// Fuzzes the JOSE verifiers: the input is tried as a JWT against a fixed one-key JWKS and as a
// JWKS document. Neither may crash, and a token that verifies must satisfy the expectations.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/clock.h"
#include "crypto/jwk.h"
#include "crypto/jwt.h"

namespace {

// The public half of a fuzzing-only P-256 key (never used elsewhere; the seeds in
// fuzz/corpus/jwt were signed with it once), so that seeds carry valid signatures and the fuzzer
// reaches the claims checks. It is the fixed JWKS, kid "k1". The private key is not kept.
constexpr std::string_view kFuzzPublicKeyPem = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFVdZiXsbs2Ca+SSsgFthrSV1+bqN
RvDJ0y+dX6FomvRYnBmN1BjZ9t1gl3TAND1qWRK+FFU9Ndpfh2lAMJZ5HA==
-----END PUBLIC KEY-----
)";

const bulwark::crypto::Jwks& FixedKeys() {
  static const auto* keys = [] {
    auto key = bulwark::crypto::PublicKey::FromPem(kFuzzPublicKeyPem);
    if (!key.ok()) {
      std::abort();
    }
    return new bulwark::crypto::Jwks(
        *bulwark::crypto::Jwks::FromKeys({{"k1", bulwark::crypto::JwsAlgorithm::kES256, *key}}));
  }();
  return *keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  bulwark::crypto::JwtExpectations expect;
  expect.issuer = "https://issuer.test";
  expect.audience = "api";
  auto jwt = bulwark::crypto::VerifyJwt(input, FixedKeys(), expect,
                                        bulwark::core::FromUnixSeconds(1'700'000'000));
  // Whatever verifies must have passed every claim check.
  if (jwt.ok() && (jwt->kid != "k1" || jwt->claims.value("iss", "") != expect.issuer ||
                   !jwt->claims.contains("exp"))) {
    std::abort();
  }
  auto jwks = bulwark::crypto::ParseJwks(input);
  if (jwks.ok() && jwks->keys().empty()) {
    std::abort();
  }
  return 0;
}
