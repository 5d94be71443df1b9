#include "crypto/aead.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "crypto/random.h"

namespace bulwark::crypto {
namespace {

using ::testing::HasSubstr;

TEST(AeadTest, SealOpenRoundTrip) {
  Bytes key = RandomBytes(kAes256KeyBytes);
  Bytes nonce = RandomBytes(kGcmNonceBytes);
  for (std::string plaintext : {std::string(), std::string("x"), std::string(1000, 'y')}) {
    absl::StatusOr<Bytes> sealed = AesGcmSeal(key, nonce, plaintext, "aad");
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(sealed->size(), plaintext.size() + kGcmTagBytes);
    absl::StatusOr<Bytes> opened = AesGcmOpen(key, nonce, *sealed, "aad");
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(ToString(*opened), plaintext);
  }
}

TEST(AeadTest, OpenFailsOnWrongKeyNonceAadOrTamperedData) {
  Bytes key = RandomBytes(kAes256KeyBytes);
  Bytes nonce = RandomBytes(kGcmNonceBytes);
  Bytes sealed = *AesGcmSeal(key, nonce, "secret", "aad");
  EXPECT_FALSE(AesGcmOpen(RandomBytes(kAes256KeyBytes), nonce, sealed, "aad").ok());
  EXPECT_FALSE(AesGcmOpen(key, RandomBytes(kGcmNonceBytes), sealed, "aad").ok());
  EXPECT_FALSE(AesGcmOpen(key, nonce, sealed, "aaD").ok());
  EXPECT_FALSE(AesGcmOpen(key, nonce, sealed, "").ok());
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes tampered = sealed;
    tampered[i] ^= 0x80;
    absl::StatusOr<Bytes> opened = AesGcmOpen(key, nonce, tampered, "aad");
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    EXPECT_THAT(std::string(opened.status().message()), HasSubstr("authentication failed"));
  }
}

TEST(AeadTest, TruncatedTagsOpenOnlyWithTheMatchingTagLength) {
  Bytes key = RandomBytes(kAes256KeyBytes);
  Bytes nonce = RandomBytes(kGcmNonceBytes);
  Bytes sealed = *AesGcmSeal(key, nonce, "secret", "");
  Bytes truncated(sealed.begin(), sealed.end() - 4);  // 12-byte tag
  EXPECT_EQ(ToString(*AesGcmOpen(key, nonce, truncated, "", 12)), "secret");
  EXPECT_FALSE(AesGcmOpen(key, nonce, truncated, "").ok());
  EXPECT_FALSE(AesGcmOpen(key, nonce, sealed, "", 11).ok());
  EXPECT_FALSE(AesGcmOpen(key, nonce, sealed, "", 17).ok());
}

TEST(AeadTest, RefusesBadSizes) {
  Bytes nonce = RandomBytes(kGcmNonceBytes);
  EXPECT_FALSE(AesGcmSeal(RandomBytes(16), nonce, "x", "").ok());
  EXPECT_FALSE(AesGcmSeal(RandomBytes(32), RandomBytes(16), "x", "").ok());
  EXPECT_FALSE(AesGcmOpen(RandomBytes(32), nonce, Bytes(15), "").ok());
  EXPECT_FALSE(AesGcmOpen(RandomBytes(24), nonce, Bytes(32), "").ok());
}

class EnvelopeTest : public ::testing::Test {
 protected:
  Bytes kek_ = RandomBytes(kAes256KeyBytes);
};

TEST_F(EnvelopeTest, RoundTrip) {
  for (std::string plaintext : {std::string(), std::string("db password"),
                                std::string("bin\0ary", 7), std::string(5000, 'z')}) {
    absl::StatusOr<Bytes> envelope = EnvelopeSeal(kek_, plaintext, "secrets/db");
    ASSERT_TRUE(envelope.ok()) << envelope.status();
    // version(1) + nonce(12) + sealed key(32+16) + nonce(12) + ciphertext + tag(16)
    EXPECT_EQ(envelope->size(), 89 + plaintext.size());
    EXPECT_EQ((*envelope)[0], 1);
    absl::StatusOr<std::string> opened = EnvelopeOpen(kek_, *envelope, "secrets/db");
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST_F(EnvelopeTest, EachSealUsesFreshKeysAndNonces) {
  Bytes a = *EnvelopeSeal(kek_, "same", "r");
  Bytes b = *EnvelopeSeal(kek_, "same", "r");
  EXPECT_NE(a, b);
  EXPECT_EQ(*EnvelopeOpen(kek_, a, "r"), "same");
  EXPECT_EQ(*EnvelopeOpen(kek_, b, "r"), "same");
}

TEST_F(EnvelopeTest, TamperingAnyByteFails) {
  Bytes envelope = *EnvelopeSeal(kek_, "attack at dawn", "record-1");
  for (std::size_t i = 0; i < envelope.size(); ++i) {
    for (std::uint8_t mask : {0x01, 0x80}) {
      Bytes tampered = envelope;
      tampered[i] ^= mask;
      EXPECT_FALSE(EnvelopeOpen(kek_, tampered, "record-1").ok()) << "byte " << i;
    }
  }
}

TEST_F(EnvelopeTest, TruncatedOrExtendedEnvelopeFails) {
  Bytes envelope = *EnvelopeSeal(kek_, "attack at dawn", "record-1");
  for (std::size_t n = 0; n < envelope.size(); ++n) {
    Bytes truncated(envelope.begin(), envelope.begin() + n);
    EXPECT_FALSE(EnvelopeOpen(kek_, truncated, "record-1").ok()) << n;
  }
  Bytes extended = envelope;
  extended.push_back(0);
  EXPECT_FALSE(EnvelopeOpen(kek_, extended, "record-1").ok());
}

TEST_F(EnvelopeTest, WrongAadFails) {
  Bytes envelope = *EnvelopeSeal(kek_, "attack at dawn", "record-1");
  absl::StatusOr<std::string> moved = EnvelopeOpen(kek_, envelope, "record-2");
  ASSERT_FALSE(moved.ok());
  EXPECT_THAT(std::string(moved.status().message()), HasSubstr("wrong aad"));
  EXPECT_FALSE(EnvelopeOpen(kek_, envelope, "").ok());
  EXPECT_FALSE(EnvelopeOpen(kek_, envelope, "record-1 ").ok());
}

TEST_F(EnvelopeTest, AadIsBoundToTheDataLayerToo) {
  // Opens the two layers by hand (layout per aead.h): the data layer needs its own label + aad.
  Bytes envelope = *EnvelopeSeal(kek_, "payload", "a");
  Bytes key_nonce(envelope.begin() + 1, envelope.begin() + 13);
  Bytes sealed_key(envelope.begin() + 13, envelope.begin() + 61);
  absl::StatusOr<Bytes> data_key = AesGcmOpen(kek_, key_nonce, sealed_key, "bulwark-dek:a");
  ASSERT_TRUE(data_key.ok()) << data_key.status();
  Bytes data_nonce(envelope.begin() + 61, envelope.begin() + 73);
  Bytes sealed_data(envelope.begin() + 73, envelope.end());
  EXPECT_FALSE(AesGcmOpen(*data_key, data_nonce, sealed_data, "").ok());
  EXPECT_FALSE(AesGcmOpen(*data_key, data_nonce, sealed_data, "bulwark-dek:a").ok());
  EXPECT_EQ(ToString(*AesGcmOpen(*data_key, data_nonce, sealed_data, "bulwark-data:a")), "payload");
}

TEST_F(EnvelopeTest, WrongKekFails) {
  Bytes envelope = *EnvelopeSeal(kek_, "attack at dawn", "record-1");
  Bytes other = kek_;
  other[0] ^= 1;
  EXPECT_FALSE(EnvelopeOpen(other, envelope, "record-1").ok());
  EXPECT_FALSE(EnvelopeOpen(RandomBytes(16), envelope, "record-1").ok());
  EXPECT_FALSE(EnvelopeSeal(RandomBytes(16), "x", "r").ok());
}

TEST_F(EnvelopeTest, UnknownVersionIsNamed) {
  Bytes envelope = *EnvelopeSeal(kek_, "x", "r");
  envelope[0] = 2;
  absl::StatusOr<std::string> opened = EnvelopeOpen(kek_, envelope, "r");
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr("version 2"));
}

}  // namespace
}  // namespace bulwark::crypto
