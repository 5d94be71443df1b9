"""The JWT attack battery, independent of what verifies the tokens: token-crafting helpers (the
openssl CLI signs, so that the signer is independent of bulwark) and the structural attacks of
the tokens issue (alg none in every spelling, HS256 with the public key as secret, untrusted
header members, duplicate members, malformed base64url, JWE-shaped and oversized tokens,
DER-encoded and zero-valued ECDSA signatures). A test class mixes JwtAttackBattery into its
unittest.TestCase and provides:
- `key` (es256.Es256Key, the issuer's signing key) and `work` (a scratch directory);
- `claims(**changes)`, a valid claim set (None values dropped), and TYP, the header `typ`;
- `assert_refused(tokens, reason, statuses=(401,))`: sends the token(s) to the live verifier and
  checks the refusal, that `reason` is in its log and not in the response, that the backend saw
  nothing and that the process is alive;
- REFUSED, the words every refusal of this verifier logs ("transaction token refused").
The sidecar's Txn-Token filter runs it in test_jwt_attacks.py; the gateway's bearer
authentication can run the same battery with TYP "at+jwt" and REFUSED "bearer token refused"."""

import base64
import hashlib
import hmac
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

import es256  # noqa: E402
from es256 import _der_to_raw, b64url  # noqa: E402
from harness import openssl  # noqa: E402


def raw_b64(data):
    return b64url(data if isinstance(data, bytes) else data.encode())


class JwtAttackBattery:
    """Mix into a unittest.TestCase; see the module's docstring for what the class provides."""

    TYP = "JWT"
    REFUSED = "refused"
    MAX_TOKEN_BYTES = 8192  # the verifier's limit below the 16 KiB of a request head

    # --- crafting --------------------------------------------------------------------------
    def header(self, **changes):
        h = {"alg": "ES256", "typ": self.TYP, "kid": self.key.kid}
        h.update(changes)
        return {k: v for k, v in h.items() if v is not None}

    def sign_input(self, signing_input):
        """The DER ECDSA signature of the test key over `signing_input` (openssl)."""
        return openssl("dgst", "-sha256", "-sign", self.key.path, data=signing_input.encode())

    def token(self, header=None, claims=None, raw_header=None, raw_claims=None, der=False):
        h = raw_header if raw_header is not None else json.dumps(header or self.header())
        c = raw_claims if raw_claims is not None else json.dumps(claims or self.claims())
        signing_input = raw_b64(h) + "." + raw_b64(c)
        sig = self.sign_input(signing_input)
        return signing_input + "." + b64url(sig if der else _der_to_raw(sig))

    # --- the battery -----------------------------------------------------------------------
    def test_alg_none_in_every_spelling(self):
        for alg in ("none", "None", "NONE", "nOnE"):
            with self.subTest(alg=alg):
                h = raw_b64(json.dumps(self.header(alg=alg)))
                c = raw_b64(json.dumps(self.claims()))
                for sig in ("", self.token().rsplit(".", 1)[1]):
                    self.assert_refused(f"{h}.{c}.{sig}", self.REFUSED)

    def test_hs256_signed_with_the_public_key(self):
        pem = openssl("pkey", "-in", self.key.path, "-pubout")
        for secret in (pem, json.dumps(self.key.jwk()).encode(), b"\x04" + self.key.x + self.key.y):
            signing_input = (raw_b64(json.dumps(self.header(alg="HS256"))) + "." +
                             raw_b64(json.dumps(self.claims())))
            mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
            self.assert_refused(signing_input + "." + b64url(mac), "HS256")

    def test_header_members_that_must_never_be_trusted(self):
        attacker = es256.Es256Key(self.work, "attacker")
        cases = {
            "jwk": {"jwk": attacker.jwk()},
            "jku": {"jku": "https://evil.test/jwks"},
            "x5u": {"x5u": "https://evil.test/cert.pem"},
            "x5c": {"x5c": [base64.b64encode(b"not a certificate").decode()]},
            "crit": {"crit": ["exp"], "exp": 1},
        }
        for member, extra in cases.items():
            with self.subTest(member=member):
                self.assert_refused(self.token(self.header(**extra)), f"'{member}'")
        # An embedded jwk of the attacker's key, signed by the attacker.
        token = attacker.sign(self.claims(), header={"typ": self.TYP, "jwk": attacker.jwk()})
        self.assert_refused(token, self.REFUSED)

    def test_duplicate_claims(self):
        raw = json.dumps(self.claims())[:-1] + ', "sub": "admin"}'
        self.assert_refused(self.token(raw_claims=raw), "repeats the key 'sub'")
        raw_header = json.dumps(self.header())[:-1] + ', "alg": "none"}'
        self.assert_refused(self.token(raw_header=raw_header), "repeats the key 'alg'")

    def test_malformed_base64url(self):
        good = self.token()
        h, c, s = good.split(".")
        cases = {
            "padding": f"{h}==.{c}.{s}",
            "plus and slash": f"{h}.{c}.{s.replace('-', '+').replace('_', '/')}"
            if ("-" in s or "_" in s) else f"{h}.{c}.+/{s[2:]}",
            "whitespace": f"{h}.{c[:5]} {c[5:]}.{s}",
            "invalid character": f"{h}.{c}.{s[:-1]}*",
            "four parts": f"{h}.{c}.{s}.{s}",
            "two parts": f"{h}.{c}",
        }
        for name, token in cases.items():
            with self.subTest(name=name):
                self.assert_refused(token, self.REFUSED)

    def test_jwe_shaped_token(self):
        header = raw_b64(json.dumps({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": self.key.kid}))
        token = ".".join([header, raw_b64("k" * 32), raw_b64("iv" * 6), raw_b64("c" * 40),
                          raw_b64("t" * 16)])
        self.assert_refused(token, self.REFUSED)

    def test_oversized_tokens(self):
        # Past the 16 KiB of a request head the HTTP layer refuses it before the filter.
        big = self.token(claims=self.claims(pad="x" * 20000))
        self.assert_refused(big, "at most", statuses=(401, 431))
        # A huge header that fits the request head but not the filter's 8 KiB.
        huge_header = self.token(self.header(pad="y" * (self.MAX_TOKEN_BYTES + 800)))
        self.assert_refused(huge_header, f"at most {self.MAX_TOKEN_BYTES} are allowed")

    def test_ecdsa_signature_encodings(self):
        self.assert_refused(self.token(der=True), "signature")
        h, c, s = self.token().split(".")
        raw = es256.b64url_decode(s)
        for name, sig in (("zero r and s", bytes(64)), ("zero r", bytes(32) + raw[32:]),
                          ("zero s", raw[:32] + bytes(32)),
                          ("s = n", raw[:32] + bytes.fromhex(
                              "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"))):
            with self.subTest(name=name):
                self.assert_refused(f"{h}.{c}.{b64url(sig)}", "signature")
