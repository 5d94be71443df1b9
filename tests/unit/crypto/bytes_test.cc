#include "crypto/bytes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bulwark::crypto {
namespace {

struct Vector {
  std::string plain;
  std::string base64;
  std::string base64url;
};

// RFC 4648 §10 test vectors.
const std::vector<Vector>& Rfc4648Vectors() {
  static const std::vector<Vector> kVectors = {
      {"", "", ""},
      {"f", "Zg==", "Zg"},
      {"fo", "Zm8=", "Zm8"},
      {"foo", "Zm9v", "Zm9v"},
      {"foob", "Zm9vYg==", "Zm9vYg"},
      {"fooba", "Zm9vYmE=", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
  };
  return kVectors;
}

TEST(BytesTest, ToBytesAndToStringAreBinarySafe) {
  std::string s("a\0b\xff", 4);
  Bytes b = ToBytes(s);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[1], 0);
  EXPECT_EQ(b[3], 0xff);
  EXPECT_EQ(ToString(b), s);
}

TEST(BytesTest, HexEncodesLowercase) {
  EXPECT_EQ(HexEncode({}), "");
  EXPECT_EQ(HexEncode({0x00, 0x01, 0xab, 0xff}), "0001abff");
}

TEST(BytesTest, HexDecodesEitherCase) {
  EXPECT_EQ(*HexDecode("0001abff"), (Bytes{0x00, 0x01, 0xab, 0xff}));
  EXPECT_EQ(*HexDecode("ABcD"), (Bytes{0xab, 0xcd}));
  EXPECT_TRUE(HexDecode("")->empty());
}

TEST(BytesTest, HexDecodeRefusesOddLengthAndBadCharacters) {
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("0g").ok());
  EXPECT_FALSE(HexDecode("g0").ok());
  EXPECT_FALSE(HexDecode(" 00").ok());
  EXPECT_FALSE(HexDecode("0x00").ok());
}

TEST(BytesTest, Base64MatchesRfc4648Vectors) {
  for (const Vector& v : Rfc4648Vectors()) {
    EXPECT_EQ(Base64Encode(ToBytes(v.plain)), v.base64) << v.plain;
    absl::StatusOr<Bytes> decoded = Base64Decode(v.base64);
    ASSERT_TRUE(decoded.ok()) << v.base64 << ": " << decoded.status();
    EXPECT_EQ(ToString(*decoded), v.plain);
  }
}

TEST(BytesTest, Base64UrlMatchesRfc4648VectorsWithoutPadding) {
  for (const Vector& v : Rfc4648Vectors()) {
    EXPECT_EQ(Base64UrlEncode(ToBytes(v.plain)), v.base64url) << v.plain;
    absl::StatusOr<Bytes> decoded = Base64UrlDecode(v.base64url);
    ASSERT_TRUE(decoded.ok()) << v.base64url << ": " << decoded.status();
    EXPECT_EQ(ToString(*decoded), v.plain);
  }
}

TEST(BytesTest, AlphabetsDifferOnlyInTheLastTwoCharacters) {
  Bytes data = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64Encode(data), "+/+/");
  EXPECT_EQ(Base64UrlEncode(data), "-_-_");
  EXPECT_EQ(*Base64UrlDecode("-_-_"), data);
  EXPECT_EQ(*Base64Decode("+/+/"), data);
}

TEST(BytesTest, RoundTripsEveryLengthAndByteValue) {
  for (std::size_t n = 0; n <= 70; ++n) {
    Bytes data(n);
    for (std::size_t i = 0; i < n; ++i) {
      data[i] = static_cast<std::uint8_t>(i * 37 + n * 11 + 0x80);
    }
    EXPECT_EQ(*HexDecode(HexEncode(data)), data);
    EXPECT_EQ(*Base64Decode(Base64Encode(data)), data) << n;
    EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(data)), data) << n;
  }
}

TEST(BytesTest, Base64UrlDecodeIsStrict) {
  const std::vector<std::string> refused = {
      "Zg==",      // padding
      "Zg=",       // padding
      "Zm8=",      // padding
      "+/8",       // standard alphabet
      "ab/c",      // standard alphabet
      "Zh",        // non-zero trailing bits (4 of them)
      "Zm9",       // non-zero trailing bits (2 of them)
      "Z",         // impossible length (1 mod 4)
      "Zm9vY",     // impossible length
      "Zm9v\n",    // whitespace
      " Zm9v",     // whitespace
      "Zm 9v",     // whitespace
      "Zm9v\r\n",  // whitespace
      std::string("Zm\0v", 4),
      "Zm9v\xc3\xa9",
  };
  for (const std::string& text : refused) {
    EXPECT_FALSE(Base64UrlDecode(text).ok()) << "accepted '" << text << "'";
  }
  // The canonical spellings of the same bytes are accepted.
  EXPECT_TRUE(Base64UrlDecode("Zg").ok());
  EXPECT_TRUE(Base64UrlDecode("Zm8").ok());
}

TEST(BytesTest, Base64DecodeIsStrict) {
  const std::vector<std::string> refused = {
      "Zg",     "Zg=",   "Zm8",                // missing padding
      "Z===",   "====",  "Zm=v",  "Zg==Zg==",  // misplaced padding
      "-_8=",                                  // url alphabet
      "Zh==",   "Zm9=",                        // non-zero trailing bits
      "Zm9v\n", " Zm9v", "Zm9 v",              // whitespace
  };
  for (const std::string& text : refused) {
    EXPECT_FALSE(Base64Decode(text).ok()) << "accepted '" << text << "'";
  }
}

TEST(BytesTest, DecodeErrorsSayWhatIsWrong) {
  EXPECT_NE(std::string(Base64UrlDecode("Zh").status().message()).find("trailing bits"),
            std::string::npos);
  EXPECT_NE(std::string(Base64UrlDecode("a+bc").status().message()).find("offset 1"),
            std::string::npos);
  EXPECT_EQ(Base64UrlDecode("a+bc").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bulwark::crypto
