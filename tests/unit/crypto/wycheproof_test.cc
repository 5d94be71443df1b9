// Runs every Project Wycheproof vector for the primitives bulwark uses: "valid" must pass,
// "invalid" must fail, "acceptable" may go either way. The vectors are read in place.
#include <gtest/gtest.h>

#include <string>

#include "crypto/aead.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "tests/unit/crypto/crypto_test_util.h"

namespace bulwark::crypto {
namespace {

using test::HexField;
using test::LoadWycheproof;
using Format = PublicKey::SignatureFormat;

struct Tally {
  int run = 0;
  int skipped = 0;
};

std::string Str(const Bytes& b) { return ToString(b); }

// Returns a big-endian integer from Wycheproof (which may carry a sign byte) as 32 bytes.
Bytes Coordinate(const nlohmann::json& hex) {
  Bytes b = HexField(hex);
  while (b.size() > 32 && b.front() == 0) {
    b.erase(b.begin());
  }
  b.insert(b.begin(), b.size() < 32 ? 32 - b.size() : 0, 0);
  return b;
}

// Checks one signature case; `verified` is whether our Verify accepted it.
void ExpectResult(const nlohmann::json& t, bool verified, const std::string& file) {
  const std::string result = t["result"];
  std::string where = file + " tcId " + std::to_string(t["tcId"].get<int>()) + " (" +
                      t["comment"].get<std::string>() + ")";
  if (result == "valid") {
    EXPECT_TRUE(verified) << where << " should verify";
  } else if (result == "invalid") {
    EXPECT_FALSE(verified) << where << " should not verify";
  }
}

void RunEcdsa(const std::string& file, Format format) {
  nlohmann::json doc = LoadWycheproof(file);
  ASSERT_TRUE(doc.is_object()) << "cannot read " << file;
  Tally tally;
  for (const auto& group : doc["testGroups"]) {
    absl::StatusOr<PublicKey> key =
        format == Format::kDer
            ? PublicKey::FromDer(HexField(group["publicKeyDer"]))
            : PublicKey::FromP256Coordinates(Coordinate(group["publicKey"]["wx"]),
                                             Coordinate(group["publicKey"]["wy"]));
    ASSERT_TRUE(key.ok()) << file << ": " << key.status();
    ASSERT_EQ(key->type(), KeyType::kP256);
    for (const auto& t : group["tests"]) {
      bool ok = key->Verify(Str(HexField(t["msg"])), HexField(t["sig"]), format).ok();
      ExpectResult(t, ok, file);
      ++tally.run;
    }
  }
  EXPECT_EQ(tally.run, doc["numberOfTests"].get<int>());
}

TEST(WycheproofTest, EcdsaP256Sha256Der) {
  RunEcdsa("ecdsa_secp256r1_sha256_test.json", Format::kDer);
}

TEST(WycheproofTest, EcdsaP256Sha256P1363Raw) {
  RunEcdsa("ecdsa_secp256r1_sha256_p1363_test.json", Format::kRaw);
}

TEST(WycheproofTest, Ed25519) {
  const std::string file = "ed25519_test.json";
  nlohmann::json doc = LoadWycheproof(file);
  ASSERT_TRUE(doc.is_object()) << "cannot read " << file;
  int run = 0;
  for (const auto& group : doc["testGroups"]) {
    absl::StatusOr<PublicKey> key = PublicKey::FromEd25519Raw(HexField(group["publicKey"]["pk"]));
    ASSERT_TRUE(key.ok()) << key.status();
    absl::StatusOr<PublicKey> from_der = PublicKey::FromDer(HexField(group["publicKeyDer"]));
    ASSERT_TRUE(from_der.ok()) << from_der.status();
    EXPECT_TRUE(from_der->Equals(*key));
    for (const auto& t : group["tests"]) {
      ExpectResult(t, key->Verify(Str(HexField(t["msg"])), HexField(t["sig"])).ok(), file);
      ++run;
    }
  }
  EXPECT_EQ(run, doc["numberOfTests"].get<int>());
}

TEST(WycheproofTest, Aes256Gcm) {
  const std::string file = "aes_gcm_test.json";
  nlohmann::json doc = LoadWycheproof(file);
  ASSERT_TRUE(doc.is_object()) << "cannot read " << file;
  Tally tally;
  for (const auto& group : doc["testGroups"]) {
    bool supported = group["keySize"] == 256 && group["ivSize"] == 96 && group["tagSize"] == 128;
    for (const auto& t : group["tests"]) {
      if (!supported) {
        ++tally.skipped;
        continue;
      }
      ++tally.run;
      std::string where = "tcId " + std::to_string(t["tcId"].get<int>());
      Bytes key = HexField(t["key"]), iv = HexField(t["iv"]), ct = HexField(t["ct"]),
            tag = HexField(t["tag"]);
      std::string aad = Str(HexField(t["aad"])), msg = Str(HexField(t["msg"]));
      Bytes sealed = ct;
      sealed.insert(sealed.end(), tag.begin(), tag.end());
      absl::StatusOr<Bytes> opened = AesGcmOpen(key, iv, sealed, aad);
      if (t["result"] == "valid") {
        ASSERT_TRUE(opened.ok()) << where << ": " << opened.status();
        EXPECT_EQ(Str(*opened), msg) << where;
        EXPECT_EQ(*AesGcmSeal(key, iv, msg, aad), sealed) << where;
      } else if (t["result"] == "invalid") {
        EXPECT_FALSE(opened.ok()) << where << " opened";
      }
    }
  }
  EXPECT_GT(tally.run, 0);
  EXPECT_GT(tally.skipped, 0);
  EXPECT_EQ(tally.run + tally.skipped, doc["numberOfTests"].get<int>());
}

TEST(WycheproofTest, HmacSha256) {
  const std::string file = "hmac_sha256_test.json";
  nlohmann::json doc = LoadWycheproof(file);
  ASSERT_TRUE(doc.is_object()) << "cannot read " << file;
  int run = 0;
  for (const auto& group : doc["testGroups"]) {
    const std::size_t tag_bytes = group["tagSize"].get<std::size_t>() / 8;
    for (const auto& t : group["tests"]) {
      Bytes mac = HmacSha256(HexField(t["key"]), Str(HexField(t["msg"])));
      mac.resize(tag_bytes);  // truncated tags compare a prefix
      ExpectResult(t, ConstantTimeEquals(mac, HexField(t["tag"])), file);
      ++run;
    }
  }
  EXPECT_EQ(run, doc["numberOfTests"].get<int>());
}

}  // namespace
}  // namespace bulwark::crypto
