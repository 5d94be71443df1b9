#include "crypto/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::crypto {
namespace {

TEST(DigestTest, Sha256MatchesFips180Vectors) {
  EXPECT_EQ(HexEncode(Sha256(std::string_view(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256(
                std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(DigestTest, Sha256OfBytesEqualsSha256OfString) {
  std::string s("bin\0ary", 7);
  EXPECT_EQ(Sha256(ToBytes(s)), Sha256(std::string_view(s)));
  EXPECT_NE(Sha256(std::string_view("bin")), Sha256(std::string_view(s)));
}

TEST(DigestTest, HmacSha256MatchesRfc4231Vectors) {
  // Test case 1.
  EXPECT_EQ(HexEncode(HmacSha256(Bytes(20, 0x0b), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2.
  EXPECT_EQ(HexEncode(HmacSha256(ToBytes("Jefe"), "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size is hashed first.
  EXPECT_EQ(HexEncode(HmacSha256(Bytes(131, 0xaa),
                                 "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(DigestTest, HmacSha256AcceptsAnEmptyKey) {
  EXPECT_EQ(HexEncode(HmacSha256({}, "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(DigestTest, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals({}, {}));
  EXPECT_TRUE(ConstantTimeEquals({1, 2, 3}, {1, 2, 3}));
  EXPECT_FALSE(ConstantTimeEquals({1, 2, 3}, {1, 2, 4}));
  EXPECT_FALSE(ConstantTimeEquals({0, 2, 3}, {1, 2, 3}));
  EXPECT_FALSE(ConstantTimeEquals({1, 2, 3}, {1, 2}));
  EXPECT_FALSE(ConstantTimeEquals({}, {0}));
}

}  // namespace
}  // namespace bulwark::crypto
