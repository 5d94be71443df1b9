"""Interop with independent OAuth/JOSE clients from npm (tests/interop, versions locked): Node
`jose` verifies bulwark's tokens against the JWKS it fetches over HTTPS (trusting only the
bundle), a `jose`-minted user token is accepted by bulwark's token exchange (a file: JWKS
issuer), and `openid-client` reads bulwark's metadata and performs client_credentials with the
SVID as TLS client certificate. Needs `node` and `npm ci` in tests/interop (scripts/install-deps)."""

import hashlib
import json
import os
import shutil
import subprocess
import unittest

import es256
import harness
from harness import Authority
from test_oauth import ACCESS_TYPE, EXCHANGE, TD_ID, TXN_TYPE, request, write_mesh

INTEROP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop")
IDP = "https://idp.test"
API = "api://dvd"


def node(*args):
    """Runs tests/interop/interop.mjs; returns (rc, parsed stdout or None, stderr)."""
    done = subprocess.run(["node", os.path.join(INTEROP, "interop.mjs"), *args],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    out = json.loads(done.stdout) if done.returncode == 0 else None
    return done.returncode, out, done.stderr


class InteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("node") is None or not os.path.isdir(os.path.join(INTEROP, "node_modules")):
            raise AssertionError("the interop clients are not installed: run scripts/install-deps "
                                 "(it runs npm ci in tests/interop)")
        cls.auth = Authority(cls.addClassCleanup).init()
        cls.work = cls.auth.tmpdir("interop")
        rc, out, err = node("keygen", cls.work)
        if rc != 0:
            raise AssertionError(err)
        cls.auth.serve_args = ["--config", write_mesh(cls.work)]
        cls.auth.start()

    def svid(self, path):
        return self.auth.fetch_identity(TD_ID + path)

    def token(self, form, who):
        cert, key = self.svid(who)
        status, body, _ = request(self.auth.url + "/oauth2/token", "POST", form, self.auth.bundle,
                                  cert, key)
        self.assertEqual(status, 200, body)
        return body

    def test_jose_verifies_bulwark_tokens_against_the_jwks_over_https(self):
        access = self.token({"grant_type": "client_credentials", "scope": "a b"}, "/svc/app")
        rc, out, err = node("verify", self.auth.url + "/oauth2/jwks", self.auth.bundle,
                            access["access_token"], self.auth.url, TD_ID, "at+jwt")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["claims"]["sub"], TD_ID + "/svc/app")
        self.assertEqual(out["header"]["typ"], "at+jwt")
        # The same client refuses a token whose payload was changed after signing.
        head, _, sig = access["access_token"].split(".")
        forged_claims = dict(out["claims"], sub=TD_ID + "/svc/admin")
        forged = f"{head}.{es256.b64url(json.dumps(forged_claims).encode())}.{sig}"
        rc, _, err = node("verify", self.auth.url + "/oauth2/jwks", self.auth.bundle, forged,
                          self.auth.url, TD_ID, "at+jwt")
        self.assertNotEqual(rc, 0)
        self.assertIn("signature", err)
        # And trusts the JWKS only through the bundle: another CA's bundle fails the TLS check.
        other = Authority(self.addCleanup, trust_domain="other.example").init()
        rc, _, err = node("verify", self.auth.url + "/oauth2/jwks", other.bundle,
                          access["access_token"], self.auth.url, TD_ID, "at+jwt")
        self.assertNotEqual(rc, 0)
        self.assertRegex(err, "certificate|self.signed|UNABLE")

    def test_jose_minted_user_token_is_exchanged(self):
        rc, minted, err = node("sign", self.work, IDP, API, "alice", "rentals:read rentals:charge")
        self.assertEqual(rc, 0, err)
        txn = self.token({"grant_type": EXCHANGE, "requested_token_type": TXN_TYPE,
                          "subject_token": minted["token"], "subject_token_type": ACCESS_TYPE,
                          "scope": "rentals:read"}, "/gateway")
        rc, out, err = node("verify", self.auth.url + "/oauth2/jwks", self.auth.bundle,
                            txn["access_token"], self.auth.url, TD_ID, "txntoken+jwt")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["claims"]["sub"], "idp:alice")
        self.assertEqual(out["claims"]["sub_iss"], "idp")
        self.assertEqual(out["claims"]["scope"], "rentals:read")
        self.assertEqual(out["claims"]["req_wl"], TD_ID + "/gateway")

    def test_openid_client_discovers_and_performs_client_credentials(self):
        cert, key = self.svid("/svc/oidc")
        rc, out, err = node("client-credentials", self.auth.url, self.auth.bundle, cert, key,
                            TD_ID + "/svc/oidc")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["metadata"]["issuer"], self.auth.url)
        self.assertEqual(out["metadata"]["token_endpoint"], self.auth.url + "/oauth2/token")
        tokens = out["tokens"]
        self.assertEqual(tokens["token_type"].lower(), "bearer")
        self.assertEqual(tokens["scope"], "orders:read")
        _, claims = es256.decode(tokens["access_token"])
        self.assertEqual(claims["client_id"], TD_ID + "/svc/oidc")
        der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                             capture_output=True, timeout=30, check=True).stdout
        self.assertEqual(claims["cnf"]["x5t#S256"], es256.b64url(hashlib.sha256(der).digest()))
        # Without the client certificate the same client is refused.
        rc, _, err = node("client-credentials", self.auth.url, self.auth.bundle, "/dev/null",
                          "/dev/null", TD_ID + "/svc/oidc")
        self.assertNotEqual(rc, 0)
        self.assertIn("invalid_client", err)


if __name__ == "__main__":
    unittest.main()
