"""The JWT attack battery (jwt_cases.JwtAttackBattery) performed against a LIVE `bulwark gateway`'s
bearer route. A real authority gives the gateway and the sidecar their SVIDs; the gateway's
mesh.yaml trusts one external issuer, `partner`, whose JWKS is a file the test wrote (`jwks:
file:partner-jwks.json`) with a key only the test holds, so that it can sign whatever it likes.
The route `/secure` (`auth: [bearer]`) leads to a recording backend behind its sidecar. Every
forged token must be answered 401 with `WWW-Authenticate: Bearer ... error="invalid_token"`, never
reach the backend, leave its reason in the gateway's log ("bearer token refused: ...") and leave
the gateway alive; a valid token passes, the backend sees a Txn-Token minted for
"partner:<sub>" and never the user's Authorization header.
Loopback only; every process is stopped by its PID through class cleanups; waits are bounded."""

import http.client
import json
import os
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

import es256  # noqa: E402
import harness  # noqa: E402
import jwt_cases  # noqa: E402
from test_gateway import Gateway, make_public_cert  # noqa: E402
from test_sidecar import Sidecar, _read, http_request, service_yaml  # noqa: E402
from test_sidecar import start_backend_server  # noqa: E402
from test_sidecar_attacks import RecordingHandler  # noqa: E402

TD = harness.TRUST_DOMAIN
ISSUER_NAME = "partner"
ISSUER = "https://idp.partner.test"
AUDIENCE = "api://bulwark-test"
CHALLENGE = 'Bearer realm="bulwark", error="invalid_token"'


class GatewayJwtAttackTest(jwt_cases.JwtAttackBattery, unittest.TestCase):
    TYP = "at+jwt"
    REFUSED = "bearer token refused"

    @classmethod
    def setUpClass(cls):
        cls.auth = harness.Authority(cls.addClassCleanup).init().start()
        cls.work = cls.auth.tmpdir("gateway-jwt")
        cls.ca, cert, key = make_public_cert(cls.work)
        cls.key = es256.Es256Key(cls.work, "partner-key")
        harness.write(os.path.join(cls.work, "partner-jwks.json"),
                      json.dumps({"keys": [cls.key.jwk()]}))
        cls.backend = start_backend_server(cls.addClassCleanup, "api", RecordingHandler)
        ports = harness.free_ports(5)
        cls.public, admin = ports[0], ports[1]
        mesh = "\n".join([
            f"trust_domain: {TD}",
            "gateway:",
            f"  listen: \"127.0.0.1:{cls.public}\"",
            f"  tls: {{ cert: {cert}, key: {key} }}",
            "  issuers:",
            f"    - name: {ISSUER_NAME}",
            f"      issuer: {ISSUER}",
            "      jwks: file:partner-jwks.json",
            f"      audiences: [{AUDIENCE}]",
            "      algorithms: [ES256]",
            "  routes:",
            "    - { prefix: /secure, service: api, auth: [bearer], methods: [GET] }",
            "services:",
            service_yaml("api", cls.backend.server_address[1], tuple(ports[2:5]),
                         allow=("{ from: gateway }",)),
            ""])
        config = harness.write(os.path.join(cls.work, "mesh.yaml"), mesh)
        Sidecar(cls, cls.auth, config, "api", tuple(ports[2:5])).wait_ready()
        cls.gateway = Gateway(cls, cls.auth, config, admin).wait_ready()
        cls.warm_up()

    @classmethod
    def warm_up(cls):
        """Valid requests until one passes: the sidecar learns the gateway's fresh delegated key
        from the first token naming it (at most once per 10 s, docs/gateway.md)."""
        probe = object.__new__(cls)
        deadline = time.monotonic() + 15
        status = None
        while time.monotonic() < deadline and status != 200:
            status, _, _ = probe.send(probe.token())
            time.sleep(0.1)
        if status != 200:
            raise AssertionError(f"no valid request passed ({status}):\n{cls.gateway.log()}")

    # --- tokens ----------------------------------------------------------------------------
    def claims(self, **changes):
        now = int(time.time())
        c = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, "sub": "user-1",
             "scope": "rentals:read"}
        c.update(changes)
        return {k: v for k, v in c.items() if v is not None}

    # --- requests --------------------------------------------------------------------------
    def context(self):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca)
        ctx.check_hostname = True
        return ctx

    def send(self, tokens, target="/secure/resource", scheme="Bearer"):
        """GET `target` on the gateway with one `Authorization: <scheme> <token>` header per
        token; returns (status, headers, parsed body)."""
        if isinstance(tokens, str):
            tokens = [tokens]
        conn = http.client.HTTPSConnection("localhost", self.public, context=self.context(),
                                           timeout=15)
        try:
            conn.putrequest("GET", target)
            for t in tokens:
                conn.putheader("Authorization", f"{scheme} {t}")
            conn.endheaders()
            return _read(conn.getresponse())
        finally:
            conn.close()

    def alive(self):
        try:
            return http_request(self.gateway.admin, target="/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def log(self):
        """The gateway's whole log (Sidecar.log() keeps only its tail)."""
        with open(self.gateway.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def assert_refused(self, tokens, reason, statuses=(401,)):
        seen_before = len(self.backend.seen)
        log_before = len(self.log())
        status, headers, body = self.send(tokens)
        self.assertIn(status, statuses, body)
        if status == 401:
            self.assertEqual(headers["WWW-Authenticate"], CHALLENGE)
            self.assertEqual(body["error"], "unauthorized", body)
            # The reason stays in the log; the response says nothing about it.
            self.assertNotIn(reason, json.dumps(body))
            deadline = time.monotonic() + 5
            while (reason not in self.log()[log_before:] or
                   self.REFUSED not in self.log()[log_before:]) and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertIn(self.REFUSED, self.log()[log_before:])
            self.assertIn(reason, self.log()[log_before:])
        self.assertEqual(len(self.backend.seen), seen_before, "the backend saw the request")
        self.assertIsNone(self.gateway.proc.poll(), "the gateway died")
        self.assertTrue(self.alive())

    # --- the gateway's own cases -----------------------------------------------------------
    def test_valid_token_passes_as_the_issuers_user_without_the_access_token(self):
        token = self.token()
        for _ in range(2):  # the second one is a cache hit
            seen_before = len(self.backend.seen)
            status, _, body = self.send(token)
            self.assertEqual(status, 200, body)
            self.assertEqual(len(self.backend.seen), seen_before + 1)
            seen = body["headers"]
            # The user's access token stays at the edge; the service gets a Txn-Token.
            self.assertNotIn("authorization", seen)
            self.assertNotIn(token, json.dumps(body))
            header, claims = es256.decode(seen["txn-token"])
            self.assertEqual(header["typ"], "txntoken+jwt")
            self.assertEqual((claims["sub"], claims["sub_iss"]), (f"{ISSUER_NAME}:user-1",
                                                                  ISSUER_NAME))
            self.assertEqual(claims["req_wl"], f"spiffe://{TD}/gateway")

    def test_no_token_and_other_schemes_are_refused(self):
        seen_before = len(self.backend.seen)
        status, headers, _ = self.send([])
        self.assertEqual(status, 401)
        self.assertEqual(headers["WWW-Authenticate"], 'Bearer realm="bulwark"')
        for scheme in ("Basic", "Token", "Bearer:"):
            with self.subTest(scheme=scheme):
                status, headers, _ = self.send(self.token(), scheme=scheme)
                self.assertEqual(status, 401)
                self.assertEqual(headers["WWW-Authenticate"], CHALLENGE)
        self.assertEqual(len(self.backend.seen), seen_before)

    def test_two_authorization_headers(self):
        self.assert_refused([self.token(), self.token()], "2 Authorization headers")

    def test_claims_checks(self):
        now = int(time.time())
        cases = {
            "expired": (self.claims(iat=now - 600, exp=now - 300), "expired"),
            "nbf in the future": (self.claims(nbf=now + 600), "not yet valid"),
            "unknown iss": (self.claims(iss="https://evil.test"), "issuer"),
            "iss with a trailing slash": (self.claims(iss=ISSUER + "/"), "issuer"),
            "wrong aud": (self.claims(aud="api://other"), "aud"),
            "missing exp": (self.claims(exp=None), "'exp' is required"),
            "missing sub": (self.claims(sub=None), "sub"),
            "empty sub": (self.claims(sub=""), "sub"),
        }
        for name, (claims, reason) in cases.items():
            with self.subTest(name=name):
                self.assert_refused(self.token(claims=claims), reason)

    def test_a_transaction_token_is_no_access_token(self):
        self.assert_refused(self.token(self.header(typ="txntoken+jwt")), "typ")

    def test_a_key_the_issuer_never_published(self):
        attacker = es256.Es256Key(self.work, "attacker-key")
        self.assert_refused(attacker.sign(self.claims(), header={"typ": self.TYP}),
                            self.REFUSED)
        # The attacker's key under the real key's kid: the signature does not verify.
        self.assert_refused(attacker.sign(self.claims(), header={"typ": self.TYP},
                                          kid=self.key.kid), "signature")


if __name__ == "__main__":
    unittest.main()
