"""ES256 JWTs for the end-to-end tests, with the openssl CLI doing the cryptography (Python's
stdlib has no ECDSA): a test identity provider that mints user tokens and publishes its JWKS, and
an independent verifier of bulwark's tokens against bulwark's JWKS."""

import base64
import hashlib
import json
import os
import subprocess

# DER prefix of a P-256 SubjectPublicKeyInfo; the 65-byte uncompressed point follows.
_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode(token):
    """Returns (header, claims) of a compact JWS, unverified."""
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def _run(argv, data=None):
    done = subprocess.run(argv, input=data, capture_output=True, timeout=30)
    if done.returncode != 0:
        raise AssertionError(f"{argv[:3]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def _der_to_raw(der):
    """ECDSA-Sig-Value (SEQUENCE of two INTEGERs) to 64-byte R||S."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0")
        i += 2 + n
    return out


def _raw_to_der(raw):
    def integer(b):
        b = b.lstrip(b"\0") or b"\0"
        if b[0] & 0x80:
            b = b"\0" + b
        return b"\x02" + bytes([len(b)]) + b
    body = integer(raw[:32]) + integer(raw[32:])
    return b"\x30" + bytes([len(body)]) + body


class Es256Key:
    """A P-256 key made by openssl in `directory`."""

    def __init__(self, directory, name="idp"):
        self.path = os.path.join(directory, name + ".key")
        _run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-out", self.path])
        spki = _run(["openssl", "pkey", "-in", self.path, "-pubout", "-outform", "DER"])
        point = spki[len(_SPKI_PREFIX):]
        self.x, self.y = point[1:33], point[33:65]
        members = {"crv": "P-256", "kty": "EC", "x": b64url(self.x), "y": b64url(self.y)}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
        self.kid = b64url(hashlib.sha256(canonical).digest())  # RFC 7638

    def jwk(self, kid=None):
        return {"kty": "EC", "crv": "P-256", "x": b64url(self.x), "y": b64url(self.y),
                "alg": "ES256", "use": "sig", "kid": kid or self.kid}

    def sign(self, claims, header=None, kid=None):
        head = {"alg": "ES256", "typ": "JWT", "kid": kid or self.kid, **(header or {})}
        signing_input = (b64url(json.dumps(head).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        der = _run(["openssl", "dgst", "-sha256", "-sign", self.path], signing_input.encode())
        return signing_input + "." + b64url(_der_to_raw(der))


def verify_with_openssl(token, jwks, directory):
    """Verifies an ES256 token's signature with `openssl dgst -verify` using the JWK of `jwks`
    named by the token's kid. Returns True or False."""
    header, _ = decode(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    spki = _SPKI_PREFIX + b"\x04" + b64url_decode(key["x"]) + b64url_decode(key["y"])
    pub = os.path.join(directory, "verify-pub.der")
    sig = os.path.join(directory, "verify-sig.der")
    with open(pub, "wb") as f:
        f.write(spki)
    signing_input, signature = token.rsplit(".", 1)
    with open(sig, "wb") as f:
        f.write(_raw_to_der(b64url_decode(signature)))
    done = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-keyform", "DER",
                           "-signature", sig], input=signing_input.encode(), capture_output=True,
                          timeout=30)
    return done.returncode == 0
