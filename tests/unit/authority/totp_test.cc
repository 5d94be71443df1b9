#include "authority/sso/totp.h"

#include <gtest/gtest.h>

#include <set>

namespace bulwark::authority {
namespace {

using core::FromUnixSeconds;

// RFC 6238 Appendix B: the SHA-1 seed is the ASCII of "12345678901234567890".
const crypto::Bytes kRfcSecret = crypto::ToBytes("12345678901234567890");

TEST(TotpTest, Rfc6238AppendixBSha1Vectors) {
  struct Vector {
    long long time;
    const char* code;  // 8 digits, as printed in the RFC
  };
  const Vector vectors[] = {{59, "94287082"},         {1111111109, "07081804"},
                            {1111111111, "14050471"}, {1234567890, "89005924"},
                            {2000000000, "69279037"}, {20000000000, "65353130"}};
  for (const Vector& v : vectors) {
    std::int64_t step = v.time / 30;
    if (v.time < 9'000'000'000) {  // a system_clock time point ends in 2262
      EXPECT_EQ(TotpStep(FromUnixSeconds(v.time)), step) << v.time;
    }
    EXPECT_EQ(TotpCode(kRfcSecret, step, 8), v.code) << v.time;
    // Six digits are the low six of the eight (the value mod 10^6).
    EXPECT_EQ(TotpCode(kRfcSecret, step), std::string(v.code).substr(2)) << v.time;
  }
  EXPECT_EQ(TotpStep(FromUnixSeconds(59)), 1);
  EXPECT_EQ(TotpStep(FromUnixSeconds(1111111109)), 0x23523EC);
}

TEST(TotpTest, OneStepOfDriftEitherWayAndNoMore) {
  core::TimePoint now = FromUnixSeconds(1'800'000'015);
  std::int64_t step = TotpStep(now);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step), now, 0), step);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step - 1), now, 0), step - 1);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step + 1), now, 0), step + 1);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step - 2), now, 0), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step + 2), now, 0), std::nullopt);
}

TEST(TotpTest, ACodeIsNeverAcceptedTwiceNorAnOlderOne) {
  core::TimePoint now = FromUnixSeconds(1'800'000'015);
  std::int64_t step = TotpStep(now);
  std::string code = TotpCode(kRfcSecret, step);
  std::optional<std::int64_t> first = MatchTotp(kRfcSecret, code, now, 0);
  ASSERT_EQ(first, step);
  EXPECT_EQ(MatchTotp(kRfcSecret, code, now, *first), std::nullopt) << "replay";
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step - 1), now, *first), std::nullopt)
      << "the previous step is older than the accepted one";
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step + 1), now, *first), step + 1);
}

TEST(TotpTest, MalformedCodesAndOtherSecretsAreRefused) {
  core::TimePoint now = FromUnixSeconds(1'800'000'015);
  std::string code = TotpCode(kRfcSecret, TotpStep(now));
  for (std::string bad : {std::string(""), code.substr(1), code + "0", " " + code.substr(1),
                          std::string("12345a"), std::string("-12345")}) {
    EXPECT_EQ(MatchTotp(kRfcSecret, bad, now, 0), std::nullopt) << bad;
  }
  EXPECT_EQ(MatchTotp(crypto::ToBytes("another secret here!"), code, now, 0), std::nullopt);
}

TEST(TotpTest, Base32AndTheOtpauthUri) {
  EXPECT_EQ(Base32Encode(crypto::ToBytes("")), "");
  EXPECT_EQ(Base32Encode(crypto::ToBytes("f")), "MY");
  EXPECT_EQ(Base32Encode(crypto::ToBytes("foobar")), "MZXW6YTBOI");  // RFC 4648 §10
  EXPECT_EQ(Base32Encode(kRfcSecret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_EQ(TotpUri("bulwark", "alice", kRfcSecret),
            "otpauth://totp/bulwark:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=bulwark&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(TotpUri("my co", "a&b", kRfcSecret).substr(0, 29), "otpauth://totp/my%20co:a%26b?");
}

TEST(TotpTest, RecoveryCodesAreDistinctAndHashedPerUser) {
  std::vector<std::string> codes = MakeRecoveryCodes();
  ASSERT_EQ(codes.size(), 10u);
  std::set<std::string> distinct(codes.begin(), codes.end());
  EXPECT_EQ(distinct.size(), 10u);
  for (const std::string& code : codes) {
    EXPECT_EQ(code.size(), 11u);
    EXPECT_EQ(code[5], '-');
    ASSERT_TRUE(RecoveryCodeHash("alice", code).has_value()) << code;
  }
  std::string upper = codes[0];
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  upper.erase(5, 1);
  EXPECT_EQ(RecoveryCodeHash("alice", upper), RecoveryCodeHash("alice", codes[0]));
  EXPECT_NE(RecoveryCodeHash("bob", codes[0]), RecoveryCodeHash("alice", codes[0]));
  EXPECT_EQ(RecoveryCodeHash("alice", "abcde-fghi"), std::nullopt);
  EXPECT_EQ(RecoveryCodeHash("alice", "abcde-fghij1"), std::nullopt);
  EXPECT_EQ(RecoveryCodeHash("alice", "abcde-fghi1"), std::nullopt);  // '1' is not base32
}

}  // namespace
}  // namespace bulwark::authority
