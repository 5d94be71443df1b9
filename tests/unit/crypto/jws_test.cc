#include "crypto/jws.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/status.h"
#include "crypto/digest.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/crypto/crypto_test_util.h"

namespace bulwark::crypto {
namespace {

using nlohmann::json;
using test::Describe;
using test::Openssl;
using test::ReadText;
using test::WriteText;
using ::testing::HasSubstr;

std::string B64(std::string_view text) { return Base64UrlEncode(ToBytes(text)); }

json With(json base, const std::string& member, json value) {
  base[member] = std::move(value);
  return base;
}

// Converts a DER ECDSA-Sig-Value (short-form lengths, as P-256 always has) to raw R||S.
Bytes DerToRaw(const Bytes& der) {
  Bytes raw;
  std::size_t at = 2;  // SEQUENCE tag and length
  for (int i = 0; i < 2 && at + 2 <= der.size(); ++i) {
    std::size_t length = der[at + 1];
    Bytes v(der.begin() + static_cast<long>(at + 2),
            der.begin() + static_cast<long>(at + 2 + length));
    while (v.size() > 32 && v.front() == 0) {
      v.erase(v.begin());
    }
    raw.insert(raw.end(), 32 - v.size(), 0);
    raw.insert(raw.end(), v.begin(), v.end());
    at += 2 + length;
  }
  return raw;
}

// Converts raw R||S to DER.
Bytes RawToDer(const Bytes& raw) {
  Bytes body;
  for (int i = 0; i < 2; ++i) {
    Bytes v(raw.begin() + i * 32, raw.begin() + (i + 1) * 32);
    while (v.size() > 1 && v.front() == 0 && (v[1] & 0x80) == 0) {
      v.erase(v.begin());
    }
    if (v.front() & 0x80) {
      v.insert(v.begin(), 0);
    }
    body.push_back(0x02);
    body.push_back(static_cast<std::uint8_t>(v.size()));
    body.insert(body.end(), v.begin(), v.end());
  }
  body.insert(body.begin(), {0x30, static_cast<std::uint8_t>(body.size())});
  return body;
}

class JwsTest : public ::testing::Test {
 protected:
  JwsTest()
      : ec_(*PrivateKey::Generate(KeyType::kP256)),
        ed_(*PrivateKey::Generate(KeyType::kEd25519)),
        ec_jwk_(*JwkForKey(ec_.Public())),
        ed_jwk_(*JwkForKey(ed_.Public())),
        keys_(*Jwks::FromKeys({ec_jwk_, ed_jwk_})) {}

  // Returns b64(header).b64(payload).b64(signature over that by `key`, raw or DER).
  std::string Signed(const std::string& header, const std::string& payload, const PrivateKey& key,
                     PublicKey::SignatureFormat format = PublicKey::SignatureFormat::kRaw) {
    std::string input = B64(header) + "." + B64(payload);
    return input + "." + Base64UrlEncode(*key.Sign(input, format));
  }
  std::string EcHeader(const std::string& extra = "") {
    return "{\"alg\":\"ES256\",\"kid\":\"" + ec_jwk_.kid + "\"" + extra + "}";
  }
  std::string WithAlg(const std::string& alg) {
    return "{\"alg\":\"" + alg + "\",\"kid\":\"" + ec_jwk_.kid + "\"}";
  }

  PrivateKey ec_;
  PrivateKey ed_;
  Jwk ec_jwk_;
  Jwk ed_jwk_;
  Jwks keys_;
};

TEST_F(JwsTest, SignsAndVerifiesEs256AndEdDsa) {
  for (const PrivateKey* key : {&ec_, &ed_}) {
    const Jwk& jwk = key == &ec_ ? ec_jwk_ : ed_jwk_;
    absl::StatusOr<std::string> token = SignJws(json{{"typ", "JWT"}}, "payload!", *key, jwk.kid);
    ASSERT_TRUE(token.ok()) << token.status();
    absl::StatusOr<VerifiedJws> verified = VerifyJws(*token, keys_);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->payload, "payload!");
    EXPECT_EQ(verified->kid, jwk.kid);
    EXPECT_EQ(verified->alg, jwk.alg);
    EXPECT_EQ(verified->header["typ"], "JWT");
    EXPECT_EQ(verified->header["alg"], JwsAlgorithmName(jwk.alg));
  }
}

TEST_F(JwsTest, Es256SignaturesAreRaw64Bytes) {
  std::string token = *SignJws(json::object(), "x", ec_, ec_jwk_.kid);
  std::string sig = token.substr(token.rfind('.') + 1);
  EXPECT_EQ(Base64UrlDecode(sig)->size(), 64u);
}

TEST_F(JwsTest, AcceptsNoKidOnlyWithASingleKeySet) {
  std::string token = Signed("{\"alg\":\"ES256\"}", "p", ec_);
  absl::StatusOr<Jwks> single = Jwks::FromKeys({ec_jwk_});
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(VerifyJws(token, *single).ok());
  EXPECT_THAT(std::string(VerifyJws(token, keys_).status().message()),
              HasSubstr("header has no 'kid' and the key set has 2 keys"));
}

struct Attack {
  std::string name;
  std::string token;
  std::string reason;
};

// Builds attack tokens; a fixture helper so that the test body stays a loop.
class JwsAttackTest : public JwsTest {
 protected:
  std::string Input() { return B64(EcHeader()) + "." + B64("{}"); }
  std::string Good() { return Signed(EcHeader(), "{}", ec_); }
  std::string GoodSig() { return Good().substr(Good().rfind('.') + 1); }
  // Returns attacks on the header: alg confusion, untrusted members, crit, kid.
  std::vector<Attack> HeaderAttacks() {
    const std::string good_sig = GoodSig();
    std::vector<Attack> attacks;
    for (const char* none : {"none", "None", "NONE", "nOnE"}) {
      std::string h = B64(WithAlg(none)) + "." + B64("{}");
      attacks.push_back(
          {std::string("alg ") + none + " unsigned", h + ".",
           fmt::format("JWS alg '{}' does not match the key's algorithm 'ES256'", none)});
      attacks.push_back(
          {std::string("alg ") + none + " signed", h + "." + good_sig, "does not match"});
    }
    // HS256 "key confusion": the public key's bytes used as the HMAC secret.
    const std::string hs_input = B64(WithAlg("HS256")) + "." + B64("{}");
    for (const Bytes& secret : {ec_.Public().ToDer(), ToBytes(ec_.Public().ToPem()),
                                ToBytes(JwkToJson(ec_jwk_)->dump())}) {
      attacks.push_back({"HS256 with public key as secret",
                         hs_input + "." + Base64UrlEncode(HmacSha256(secret, hs_input)),
                         "JWS alg 'HS256' does not match the key's algorithm 'ES256'"});
    }
    for (const char* alg : {"RS256", "PS256", "EdDSA", "ES384", "es256", "ES256 "}) {
      attacks.push_back({std::string("alg ") + alg + " on EC key", Signed(WithAlg(alg), "{}", ec_),
                         "does not match the key's algorithm 'ES256'"});
    }
    attacks.push_back({"ES256 header on Ed25519 key",
                       Signed("{\"alg\":\"ES256\",\"kid\":\"" + ed_jwk_.kid + "\"}", "{}", ed_),
                       "JWS alg 'ES256' does not match the key's algorithm 'EdDSA'"});
    PrivateKey attacker = *PrivateKey::Generate(KeyType::kP256);
    std::string attacker_jwk = JwkToJson(*JwkForKey(attacker.Public()))->dump();
    attacks.push_back({"embedded jwk", Signed(EcHeader(",\"jwk\":" + attacker_jwk), "{}", attacker),
                       "header member 'jwk' is not accepted"});
    attacks.push_back({"jku", Signed(EcHeader(",\"jku\":\"https://evil/jwks\""), "{}", ec_),
                       "header member 'jku' is not accepted"});
    attacks.push_back({"x5u", Signed(EcHeader(",\"x5u\":\"https://evil/c.pem\""), "{}", ec_),
                       "header member 'x5u' is not accepted"});
    attacks.push_back({"x5c", Signed(EcHeader(",\"x5c\":[\"MIIB\"]"), "{}", ec_),
                       "header member 'x5c' is not accepted"});
    attacks.push_back({"crit", Signed(EcHeader(",\"crit\":[\"exp\"],\"exp\":1"), "{}", ec_),
                       "header 'crit' is present but no extensions are understood"});
    attacks.push_back({"empty crit", Signed(EcHeader(",\"crit\":[]"), "{}", ec_), "'crit'"});
    attacks.push_back({"unknown kid", Signed("{\"alg\":\"ES256\",\"kid\":\"other\"}", "{}", ec_),
                       "JWS kid 'other' is not in the key set"});
    attacks.push_back({"kid number", Signed("{\"alg\":\"ES256\",\"kid\":7}", "{}", ec_),
                       "header 'kid' is not a string"});
    attacks.push_back({"no alg", Signed("{\"kid\":\"" + ec_jwk_.kid + "\"}", "{}", ec_),
                       "header 'alg' is missing or not a string"});
    return attacks;
  }
  // Returns attacks on the signature and the encoding.
  std::vector<Attack> EncodingAttacks() {
    const std::string input = Input();
    const std::string good = Good();
    const std::string good_sig = GoodSig();
    PrivateKey attacker = *PrivateKey::Generate(KeyType::kP256);
    std::vector<Attack> attacks;
    attacks.push_back({"DER signature",
                       Signed(EcHeader(), "{}", ec_, PublicKey::SignatureFormat::kDer),
                       "ES256 signature must be 64 bytes of raw R||S"});
    attacks.push_back({"zero r and s", input + "." + Base64UrlEncode(Bytes(64, 0)),
                       "r or s is outside [1, n-1]"});
    attacks.push_back(
        {"wrong key", Signed(EcHeader(), "{}", attacker), "ES256 signature does not verify"});
    attacks.push_back({"tampered payload",
                       B64(EcHeader()) + "." + B64("{\"a\":1}") + "." + good_sig,
                       "signature does not verify"});
    attacks.push_back({"empty signature", input + ".", "got 0"});
    attacks.push_back({"padded header", B64(EcHeader()) + "=." + B64("{}") + "." + good_sig,
                       "header is not strict base64url"});
    attacks.push_back({"'+' in signature", input + ".+" + good_sig.substr(1),
                       "signature is not strict base64url"});
    attacks.push_back(
        {"trailing bits", B64(EcHeader()) + ".QR." + good_sig, "payload is not strict base64url"});
    attacks.push_back(
        {"duplicate alg",
         Signed("{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":\"" + ec_jwk_.kid + "\"}", "{}", ec_),
         "header is not strict JSON"});
    attacks.push_back(
        {"header array", Signed("[\"ES256\"]", "{}", ec_), "header is not a JSON object"});
    attacks.push_back({"header not json", B64("alg") + "." + B64("{}") + "." + good_sig,
                       "header is not strict JSON"});
    attacks.push_back({"oversized", Signed(EcHeader(), std::string(16 * 1024, 'a'), ec_),
                       "over the limit of 16384"});
    attacks.push_back({"JWE", B64("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}") + ".a.b.c.d",
                       "5 segments: it is a JWE"});
    attacks.push_back({"two segments", input, "needs 3 segments, got 2"});
    attacks.push_back({"four segments", good + ".x", "needs 3 segments, got 4"});
    attacks.push_back({"empty", "", "needs 3 segments, got 1"});
    return attacks;
  }
};

TEST_F(JwsAttackTest, RefusesEveryAttack) {
  std::vector<Attack> attacks = HeaderAttacks();
  std::vector<Attack> more = EncodingAttacks();
  attacks.insert(attacks.end(), more.begin(), more.end());
  for (const Attack& a : attacks) {
    absl::StatusOr<VerifiedJws> verified = VerifyJws(a.token, keys_);
    ASSERT_FALSE(verified.ok()) << a.name;
    EXPECT_EQ(verified.status().code(), absl::StatusCode::kUnauthenticated) << a.name;
    EXPECT_THAT(std::string(verified.status().message()), HasSubstr(a.reason)) << a.name;
  }
  EXPECT_TRUE(VerifyJws(Good(), keys_).ok());
}

TEST_F(JwsTest, SignJwsRefusesHeadersItMustSetOrNeverSends) {
  for (const char* member : {"alg", "kid", "jku", "x5u", "jwk", "x5c", "crit"}) {
    absl::StatusOr<std::string> token = SignJws(json{{member, "x"}}, "p", ec_, "k");
    ASSERT_FALSE(token.ok()) << member;
    EXPECT_THAT(std::string(token.status().message()), HasSubstr(member));
  }
  EXPECT_FALSE(SignJws(json::array(), "p", ec_, "k").ok());
  EXPECT_FALSE(SignJws(json{{"typ", "\xff"}}, "p", ec_, "k").ok());
}

// The openssl CLI signs (DER, converted to raw R||S) and we verify, and the reverse.
TEST_F(JwsTest, InteroperatesWithTheOpensslCli) {
  bulwark::testing::TempDir dir;
  auto r = Openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                    dir.File("key.pem")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Openssl({"pkey", "-in", dir.File("key.pem"), "-pubout", "-out", dir.File("pub.pem")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  Jwk jwk = *JwkForKey(*PublicKey::FromPem(ReadText(dir.File("pub.pem"))));
  Jwks keys = *Jwks::FromKeys({jwk});
  std::string input =
      B64("{\"alg\":\"ES256\",\"kid\":\"" + jwk.kid + "\"}") + "." + B64("{\"a\":1}");
  ASSERT_TRUE(WriteText(dir.File("input"), input));
  r = Openssl({"dgst", "-sha256", "-sign", dir.File("key.pem"), "-out", dir.File("sig.der"),
               dir.File("input")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  Bytes der = ToBytes(ReadText(dir.File("sig.der")));
  absl::StatusOr<VerifiedJws> ok = VerifyJws(input + "." + Base64UrlEncode(DerToRaw(der)), keys);
  EXPECT_TRUE(ok.ok()) << ok.status();
  EXPECT_FALSE(VerifyJws(input + "." + Base64UrlEncode(der), keys).ok());

  PrivateKey ours = *PrivateKey::FromPem(ReadText(dir.File("key.pem")));
  std::string token = *SignJws(json::object(), "hello", ours, jwk.kid);
  std::string our_input = token.substr(0, token.rfind('.'));
  Bytes raw = *Base64UrlDecode(token.substr(token.rfind('.') + 1));
  ASSERT_TRUE(WriteText(dir.File("our_input"), our_input));
  ASSERT_TRUE(test::WriteBytes(dir.File("our.der"), RawToDer(raw)));
  r = Openssl({"dgst", "-sha256", "-verify", dir.File("pub.pem"), "-signature", dir.File("our.der"),
               dir.File("our_input")});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Verified OK"));
}

// Returns a Wycheproof group's public key as a JWK (ECDSA groups do not all carry one).
json GroupJwk(const json& group) {
  if (group.contains("publicKeyJwk")) {
    return group["publicKeyJwk"];
  }
  auto coordinate = [&](const char* name) {
    Bytes b = test::HexField(group["publicKey"][name]);
    while (b.size() > 32 && b.front() == 0) {
      b.erase(b.begin());
    }
    b.insert(b.begin(), b.size() < 32 ? 32 - b.size() : 0, 0);
    return Base64UrlEncode(b);
  };
  return {{"kty", "EC"}, {"crv", "P-256"}, {"x", coordinate("wx")}, {"y", coordinate("wy")}};
}

// Runs every Wycheproof vector of `file` through the JOSE signature path with the group's JWK:
// valid must verify, invalid must be refused, and no vector verifies under another alg name.
int RunWycheproofThroughJose(const std::string& file, std::string_view alg) {
  nlohmann::json doc = test::LoadWycheproof(file);
  EXPECT_TRUE(doc.is_object()) << "cannot read " << file;
  int run = 0;
  for (const auto& group : doc["testGroups"]) {
    absl::StatusOr<Jwk> jwk = ParseJwk(GroupJwk(group));
    EXPECT_TRUE(jwk.ok()) << file << ": " << jwk.status();
    if (!jwk.ok()) {
      continue;
    }
    for (const auto& t : group["tests"]) {
      std::string msg = ToString(test::HexField(t["msg"]));
      Bytes sig = test::HexField(t["sig"]);
      absl::Status status = VerifyJwsSignature(alg, msg, sig, *jwk);
      std::string where = file + " tcId " + std::to_string(t["tcId"].get<int>());
      if (t["result"] == "valid") {
        EXPECT_TRUE(status.ok()) << where << ": " << status;
      } else if (t["result"] == "invalid") {
        EXPECT_FALSE(status.ok()) << where;
        EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << where;
      }
      for (const char* other : {"none", "HS256", "es256", "EdDSA", "ES256", "RS256"}) {
        if (other != alg) {
          EXPECT_FALSE(VerifyJwsSignature(other, msg, sig, *jwk).ok()) << where << " " << other;
        }
      }
      ++run;
    }
  }
  EXPECT_EQ(run, doc["numberOfTests"].get<int>());
  return run;
}

TEST(JwsWycheproofTest, EcdsaP256P1363VectorsThroughJose) {
  EXPECT_GT(RunWycheproofThroughJose("ecdsa_secp256r1_sha256_p1363_test.json", "ES256"), 0);
}

TEST(JwsWycheproofTest, Ed25519VectorsThroughJose) {
  EXPECT_GT(RunWycheproofThroughJose("ed25519_test.json", "EdDSA"), 0);
}

// Even Wycheproof's valid DER signatures are refused: JOSE ECDSA is raw R||S only.
TEST(JwsWycheproofTest, DerEcdsaVectorsAreAllRefused) {
  nlohmann::json doc = test::LoadWycheproof("ecdsa_secp256r1_sha256_test.json");
  ASSERT_TRUE(doc.is_object());
  int valid = 0;
  for (const auto& group : doc["testGroups"]) {
    Jwk jwk{"", JwsAlgorithm::kES256, *PublicKey::FromDer(test::HexField(group["publicKeyDer"]))};
    for (const auto& t : group["tests"]) {
      std::string msg = ToString(test::HexField(t["msg"]));
      Bytes sig = test::HexField(t["sig"]);
      EXPECT_FALSE(VerifyJwsSignature("ES256", msg, sig, jwk).ok()) << t["tcId"];
      valid += t["result"] == "valid" ? 1 : 0;
    }
  }
  EXPECT_GT(valid, 0);
}

// RSA keys come only from external JWKS: RS256 and PS256 verify signatures made by the openssl
// CLI, the pinned padding is enforced, and small or alg-less RSA keys are refused.
class JwsRsaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new bulwark::testing::TempDir();
    for (const char* bits : {"2048", "1024"}) {
      std::string pem = dir_->File(std::string("rsa") + bits + ".pem");
      auto r = Openssl({"genpkey", "-algorithm", "RSA", "-pkeyopt",
                        std::string("rsa_keygen_bits:") + bits, "-out", pem});
      ASSERT_EQ(r.exit_code, 0) << Describe(r);
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  // Returns the JWK of the RSA key of `bits` with `alg`.
  static json RsaJwk(const std::string& bits, const std::string& alg) {
    auto r = Openssl({"rsa", "-in", dir_->File("rsa" + bits + ".pem"), "-noout", "-modulus"});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    std::string hex = r.out.substr(r.out.find('=') + 1);
    hex.erase(hex.find_last_not_of("\n") + 1);
    json jwk = {{"kty", "RSA"}, {"n", Base64UrlEncode(test::Hex(hex))}, {"e", "AQAB"}};
    if (!alg.empty()) {
      jwk["alg"] = alg;
      jwk["kid"] = "rsa-" + alg;
    }
    return jwk;
  }
  // Returns a token whose signature the openssl CLI made with extra `-sigopt`s.
  static std::string OpensslToken(const std::string& alg, std::vector<std::string> sigopts) {
    std::string input =
        B64("{\"alg\":\"" + alg + "\",\"kid\":\"rsa-" + alg + "\"}") + "." + B64("{\"sub\":\"u\"}");
    EXPECT_TRUE(WriteText(dir_->File("input"), input));
    std::vector<std::string> args = {"dgst", "-sha256", "-sign", dir_->File("rsa2048.pem")};
    for (const std::string& opt : sigopts) {
      args.insert(args.end(), {"-sigopt", opt});
    }
    args.insert(args.end(), {"-out", dir_->File("sig"), dir_->File("input")});
    auto r = Openssl(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    return input + "." + Base64UrlEncode(ToBytes(ReadText(dir_->File("sig"))));
  }
  static bulwark::testing::TempDir* dir_;
};
bulwark::testing::TempDir* JwsRsaTest::dir_ = nullptr;

TEST_F(JwsRsaTest, VerifiesRs256AndPs256FromTheOpensslCli) {
  std::string doc = json{{"keys", {RsaJwk("2048", "RS256"), RsaJwk("2048", "PS256")}}}.dump();
  absl::StatusOr<Jwks> keys = ParseJwks(doc);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->Find("rsa-RS256")->key.RsaBits(), 2048);
  std::string rs = OpensslToken("RS256", {});
  std::string ps = OpensslToken("PS256", {"rsa_padding_mode:pss", "rsa_pss_saltlen:32"});
  absl::StatusOr<VerifiedJws> rs_ok = VerifyJws(rs, *keys);
  EXPECT_TRUE(rs_ok.ok()) << rs_ok.status();
  absl::StatusOr<VerifiedJws> ps_ok = VerifyJws(ps, *keys);
  EXPECT_TRUE(ps_ok.ok()) << ps_ok.status();
  // A PKCS#1 v1.5 signature presented as PS256, and a PSS one as RS256, do not verify.
  std::string rs_sig = rs.substr(rs.rfind('.'));
  std::string ps_sig = ps.substr(ps.rfind('.'));
  EXPECT_THAT(
      std::string(VerifyJws(ps.substr(0, ps.rfind('.')) + rs_sig, *keys).status().message()),
      HasSubstr("PS256 signature does not verify"));
  EXPECT_THAT(
      std::string(VerifyJws(rs.substr(0, rs.rfind('.')) + ps_sig, *keys).status().message()),
      HasSubstr("RS256 signature does not verify"));
}

TEST_F(JwsRsaTest, RefusesWeakOrUnpinnedRsaKeysAndKeepsRsaOutOfIdentities) {
  EXPECT_THAT(std::string(ParseJwk(RsaJwk("1024", "RS256")).status().message()),
              HasSubstr("RSA 1024-bit keys are not accepted; at least 2048 bits"));
  EXPECT_THAT(std::string(ParseJwk(RsaJwk("2048", "")).status().message()),
              HasSubstr("needs an explicit 'alg'"));
  EXPECT_THAT(
      std::string(ParseJwk(With(RsaJwk("2048", "RS256"), "alg", "RS512")).status().message()),
      HasSubstr("'alg' 'RS512' is not accepted for kty RSA"));
  auto r = Openssl({"pkey", "-in", dir_->File("rsa2048.pem"), "-pubout"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_FALSE(PublicKey::FromPem(r.out).ok());
  EXPECT_FALSE(PrivateKey::FromPem(ReadText(dir_->File("rsa2048.pem"))).ok());
  EXPECT_FALSE(PrivateKey::Generate(KeyType::kRsa).ok());
  absl::StatusOr<Jwk> rsa = ParseJwk(RsaJwk("2048", "RS256"));
  ASSERT_TRUE(rsa.ok());
  EXPECT_FALSE(rsa->key.Verify("m", Bytes(256, 1)).ok());
  EXPECT_FALSE(JwkThumbprint(rsa->key).ok());
}

}  // namespace
}  // namespace bulwark::crypto
