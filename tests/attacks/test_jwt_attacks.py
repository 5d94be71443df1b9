"""Attacks on the sidecar's transaction-token filter, performed against a LIVE `bulwark sidecar`
inbound listener. The sidecar takes its identity from files (a test CA made with the openssl
CLI) and its token keys from a fake authority, a Python HTTPS server holding spiffe://<td>/
authority and serving /.well-known/oauth-authorization-server and /oauth2/jwks with a key the
test holds, so that the test can sign whatever it likes. Each forged token must be answered 401
invalid_token, never reach the backend, leave its reason in the sidecar's log and leave the
sidecar alive. A second suite runs the real authority: a token from token exchange crosses
sidecar a outbound -> sidecar b inbound, and is refused once expired.
Loopback only; every process is stopped by its PID through class cleanups; waits are bounded."""

import http.client
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

import es256  # noqa: E402
import harness  # noqa: E402
import jwt_cases  # noqa: E402
from harness import openssl  # noqa: E402
from test_sidecar import (EchoHandler, Sidecar, free_ports, http_request,  # noqa: E402
                          start_backend_server)

TD = harness.TRUST_DOMAIN
TD_ID = f"spiffe://{TD}"
ISSUER = "https://authority.test:7443"
TXN_TYPE = "txntoken+jwt"


class TestPki:
    """A CA for trust domain TD and leaf SVIDs, all made by the openssl CLI in `directory`."""

    def __init__(self, directory):
        self.dir = directory
        self.ca_key = os.path.join(directory, "ca.key")
        self.bundle = os.path.join(directory, "bundle.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.ca_key, "-out", self.bundle, "-days", "2", "-subj", "/CN=test ca",
                "-addext", f"subjectAltName=URI:{TD_ID}",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, name, spiffe_id):
        """Writes <name>/svid.pem, key.pem and bundle.pem; returns the directory."""
        out = os.path.join(self.dir, name)
        os.makedirs(out, exist_ok=True)
        key, csr, cert = (os.path.join(out, f) for f in ("key.pem", "req.csr", "svid.pem"))
        ext = os.path.join(out, "ext.cnf")
        harness.write(ext, f"subjectAltName=critical,URI:{spiffe_id}\n"
                           "basicConstraints=critical,CA:FALSE\n"
                           "keyUsage=critical,digitalSignature\n"
                           "extendedKeyUsage=serverAuth,clientAuth\n")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", csr, "-subj", "/O=bulwark test")
        openssl("x509", "-req", "-in", csr, "-CA", self.bundle, "-CAkey", self.ca_key,
                "-CAcreateserial", "-out", cert, "-days", "1", "-extfile", ext)
        os.chmod(key, 0o600)
        harness.write(os.path.join(out, "bundle.pem"), harness.read(self.bundle))
        return out


class FakeAuthority(http.server.BaseHTTPRequestHandler):
    """Serves the metadata and the JWKS the test sets (server.jwks); counts JWKS fetches."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/.well-known/oauth-authorization-server":
            body = {"issuer": ISSUER, "jwks_uri": ISSUER + "/oauth2/jwks"}
        elif self.path == "/oauth2/jwks":
            with self.server.lock:
                self.server.jwks_fetches += 1
                body = self.server.jwks
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "public, max-age=300")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class RecordingBackend(EchoHandler):
    """EchoHandler that also records the Txn-Token header of every request it is given."""

    def _answer(self):
        self.server.seen.append(self.headers.get("Txn-Token"))
        super()._answer()

    do_GET = do_POST = _answer


def start_fake_authority(add_cleanup, leaf_dir, jwks):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(leaf_dir, "svid.pem"), os.path.join(leaf_dir, "key.pem"))
    server = start_backend_server(add_cleanup, "authority", FakeAuthority, tls=ctx)
    server.lock = threading.Lock()
    server.jwks = jwks
    server.jwks_fetches = 0
    return server


class JwtAttackTest(jwt_cases.JwtAttackBattery, unittest.TestCase):
    TYP = TXN_TYPE
    REFUSED = "transaction token refused"
    @classmethod
    def setUpClass(cls):
        cls.work = harness.Authority(cls.addClassCleanup).tmpdir("jwt-attacks")
        pki = TestPki(cls.work)
        authority = pki.leaf("authority", TD_ID + "/authority")
        pki.leaf("b-id", TD_ID + "/svc/b")
        cls.client = pki.leaf("a-id", TD_ID + "/svc/a")
        cls.bundle = pki.bundle
        cls.key = es256.Es256Key(cls.work, "token-key")
        cls.fake = start_fake_authority(cls.addClassCleanup, authority,
                                        {"keys": [cls.key.jwk()]})
        cls.backend = start_backend_server(cls.addClassCleanup, "b", RecordingBackend)
        b_in, b_out, b_admin = free_ports(3)
        cls.b_in, cls.b_admin = b_in, b_admin
        mesh = "\n".join([
            f"trust_domain: {TD}", "services:",
            "  b:", f"    port: {cls.backend.server_address[1]}",
            "    identity: { svid: b-id/svid.pem, key: b-id/key.pem, bundle: b-id/bundle.pem }",
            f"    allow: [{{ from: \"spiffe://{TD}/**\" }}]",
            f"    sidecar: {{ inbound: \"127.0.0.1:{b_in}\", outbound: \"127.0.0.1:{b_out}\", "
            f"admin: \"127.0.0.1:{b_admin}\" }}", ""])
        config = harness.write(os.path.join(cls.work, "mesh.yaml"), mesh)
        cls.log_path = os.path.join(cls.work, "b.log")
        log = open(cls.log_path, "wb")
        cls.addClassCleanup(log.close)
        cls.proc = subprocess.Popen(
            [harness.BINARY, "sidecar", "--config", config, "--service", "b",
             "--authority", f"https://127.0.0.1:{cls.fake.server_address[1]}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        cls.addClassCleanup(harness.stop_process, cls.proc)
        deadline = time.monotonic() + 20
        while cls.fake.jwks_fetches == 0 or not cls.ready():
            if time.monotonic() > deadline or cls.proc.poll() is not None:
                raise AssertionError("sidecar b did not start or fetch the JWKS:\n" + cls.log())
            time.sleep(0.05)

    @classmethod
    def ready(cls):
        try:
            return http_request(cls.b_admin, target="/readyz", timeout=2)[0] == 200
        except OSError:
            return False

    @classmethod
    def log(cls):
        with open(cls.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    # --- tokens ----------------------------------------------------------------------------
    def claims(self, **changes):
        now = int(time.time())
        c = {"iss": ISSUER, "aud": TD_ID, "iat": now, "exp": now + 30, "txn": "dHhuLWlk",
             "sub": "user-1", "sub_iss": "local", "req_wl": TD_ID + "/gateway",
             "scope": "rentals:read"}
        c.update(changes)
        return {k: v for k, v in c.items() if v is not None}

    # --- requests --------------------------------------------------------------------------
    def send(self, tokens, target="/resource"):
        """GET `target` on b's inbound over mTLS as service a with one Txn-Token header per
        token; returns (status, parsed body)."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.bundle)
        ctx.check_hostname = False
        ctx.load_cert_chain(os.path.join(self.client, "svid.pem"),
                            os.path.join(self.client, "key.pem"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.b_in, context=ctx, timeout=10)
        try:
            conn.putrequest("GET", target)
            for t in tokens:
                conn.putheader("Txn-Token", t)
            conn.endheaders()
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            conn.close()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text

    def assert_refused(self, tokens, reason, statuses=(401,)):
        if isinstance(tokens, str):
            tokens = [tokens]
        seen_before = len(self.backend.seen)
        log_before = len(self.log())
        status, body = self.send(tokens)
        self.assertIn(status, statuses, body)
        if status == 401:
            self.assertEqual(body["error"], "invalid_token", body)
            # The reason stays in the log; the response says nothing about it.
            self.assertNotIn(reason, json.dumps(body))
            deadline = time.monotonic() + 5
            while reason not in self.log()[log_before:] and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertIn(reason, self.log()[log_before:])
        self.assertEqual(len(self.backend.seen), seen_before, "the backend saw the request")
        self.assertIsNone(self.proc.poll(), "the sidecar died")
        self.assertTrue(self.ready())

    # --- the battery -----------------------------------------------------------------------
    def test_valid_token_passes_and_the_backend_sees_it(self):
        token = self.token()
        for _ in range(2):  # the second one is a cache hit
            status, body = self.send([token])
            self.assertEqual(status, 200, body)
            self.assertEqual(body["headers"]["txn-token"], token)
        status, body = self.send([])
        self.assertEqual(status, 200, body)  # no token: the policy decides, not the filter

    def test_claims_checks(self):
        now = int(time.time())
        cases = {
            "expired": (self.claims(iat=now - 200, exp=now - 150), "expired"),
            "nbf in the future": (self.claims(nbf=now + 600), "not yet valid"),
            "wrong iss": (self.claims(iss="https://evil.test"), "issuer"),
            "wrong aud": (self.claims(aud="spiffe://other.org"), "aud"),
            "missing exp": (self.claims(exp=None), "'exp' is required"),
            "exp - iat > 60 s": (self.claims(exp=now + 120), "at most 60 s"),
            "missing sub": (self.claims(sub=None), "sub"),
            "missing sub_iss": (self.claims(sub_iss=None), "'sub_iss'"),
            "empty sub_iss": (self.claims(sub_iss=""), "'sub_iss'"),
            "foreign req_wl": (self.claims(req_wl="spiffe://other.org/gateway"), "req_wl"),
        }
        for name, (claims, reason) in cases.items():
            with self.subTest(name=name):
                self.assert_refused(self.token(claims=claims), reason)

    def test_wrong_typ(self):
        for typ in ("JWT", "at+jwt", None):
            with self.subTest(typ=typ):
                self.assert_refused(self.token(self.header(typ=typ)), "typ")

    def test_two_txn_token_headers(self):
        token = self.token()
        self.assert_refused([token, token], "2 Txn-Token headers")

    def test_unknown_kid_refetch_is_rate_limited(self):
        # A new key appears at the authority: a token under it is refused until the sidecar
        # refetches, which an unknown kid asks for at most once per 10 s.
        new_key = es256.Es256Key(self.work, "next-key")
        with self.fake.lock:
            self.fake.jwks = {"keys": [self.key.jwk(), new_key.jwk()]}
        token = new_key.sign(self.claims(), header={"typ": TXN_TYPE})
        deadline = time.monotonic() + 25
        status = None
        while time.monotonic() < deadline:
            status, body = self.send([token])
            if status == 200:
                break
            self.assertEqual(status, 401, body)
            time.sleep(0.5)
        self.assertEqual(status, 200, "the new key was never fetched:\n" + self.log()[-2000:])
        self.assertIn("is not in the key set", self.log())
        # A flood of random kids right after that refetch: at most one more fetch.
        before = self.fake.jwks_fetches
        started = time.monotonic()
        for i in range(60):
            forged = self.token(self.header(kid=f"random-{i}-{os.urandom(6).hex()}"))
            status, _ = self.send([forged])
            self.assertEqual(status, 401)
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 60)
        time.sleep(0.5)  # let a granted fetch finish
        # One grant per 10 s at most: one right after the refetch above, plus one per 10 s more
        # if this machine made the flood slow.
        self.assertLessEqual(self.fake.jwks_fetches - before, 1 + int(elapsed // 10))
        self.assertIsNone(self.proc.poll())


class TransactionTokenEndToEndTest(unittest.TestCase):
    """The real authority mints a transaction token by token exchange; sidecar a relays it on
    the service's onward call and sidecar b verifies it; a partner's user never passes for a
    local user of the same name; after exp the token is refused."""

    TTL = 2  # --txn-token-ttl, seconds
    SKEW = 1  # b's sidecar.token_skew, seconds

    @classmethod
    def setUpClass(cls):
        cls.auth = harness.Authority(cls.addClassCleanup).init()
        cls.work = cls.auth.tmpdir("txn-e2e")
        cls.idp = es256.Es256Key(cls.work)
        harness.write(os.path.join(cls.work, "idp-jwks.json"),
                      json.dumps({"keys": [cls.idp.jwk()]}))
        cls.backend = start_backend_server(cls.addClassCleanup, "user", RecordingBackend)
        ports = free_ports(6)
        a, b = ports[0:3], ports[3:6]
        cls.a_out = a[1]
        sidecar = "    sidecar: {{ inbound: \"127.0.0.1:{}\", outbound: \"127.0.0.1:{}\", admin: " \
                  "\"127.0.0.1:{}\"{} }}"
        mesh = "\n".join([
            f"trust_domain: {TD}", "authority:", "  listen: 127.0.0.1:0", "gateway:",
            "  issuers:", "    - name: idp", "      issuer: https://idp.test",
            "      jwks: file:idp-jwks.json", "      audiences: [api://dvd]",
            "      algorithms: [ES256]", "services:",
            "  contract:", "    port: 1", "    calls: [user]", sidecar.format(*a, ""),
            "  user:", f"    port: {cls.backend.server_address[1]}",
            "    allow:",
            "      - from: contract",
            "        methods: [POST]",
            "        paths: [\"/users/{id}/charge\"]",
            "        when: token.sub == path.id && \"rentals:charge\" in token.scope",
            sidecar.format(*b, f", token_skew: {cls.SKEW}s"), ""])
        config = harness.write(os.path.join(cls.work, "mesh.yaml"), mesh)
        cls.auth.serve_args = ["--config", config, "--txn-token-ttl", f"{cls.TTL}s"]
        cls.auth.start()
        for name, ports_ in (("contract", a), ("user", b)):
            Sidecar(cls, cls.auth, config, name, ports_).wait_ready()

    def exchange(self):
        now = int(time.time())
        user = self.idp.sign({"iss": "https://idp.test", "aud": "api://dvd", "sub": "user-1",
                              "iat": now, "exp": now + 300, "scope": "rentals:read rentals:charge"})
        cert, key = self.auth.fetch_identity(TD_ID + "/gateway")
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "requested_token_type": "urn:ietf:params:oauth:token-type:txn_token",
                "subject_token": user,
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token"}
        status, body = harness.https_request(
            "POST", self.auth.url + "/oauth2/token", urllib.parse.urlencode(form),
            cafile=self.auth.bundle, cert=cert, key=key,
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, body)
        return body["access_token"]

    def call_user(self, token, user="idp:user-1"):
        """contract asks user to charge `user`, through contract's outbound listener."""
        return http_request(self.a_out, method="POST", target=f"/users/{user}/charge",
                            headers={"Host": "user", "Txn-Token": token}, body=b"{}")

    def test_token_crosses_the_mesh_binds_the_user_and_is_refused_after_exp(self):
        token = self.exchange()
        _, claims = es256.decode(token)
        deadline = time.monotonic() + 20  # b fetches the authority's keys at start
        while True:
            status, _, body = self.call_user(token)
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["headers"]["txn-token"], token)
        # The issuer idp vouched for user-1: the token names idp's user, never a local one.
        self.assertEqual(claims["sub"], "idp:user-1")
        self.assertEqual(claims["sub_iss"], "idp")
        seen = len(self.backend.seen)
        # A partner's user-1 cannot pass `token.sub == path.id` for the local user-1.
        status, _, body = self.call_user(token, user="user-1")
        self.assertEqual(status, 403, body)
        # The confused deputy: a holds user-1's token but asks b to act for user-2.
        status, _, body = self.call_user(token, user="idp:user-2")
        self.assertEqual(status, 403, body)
        # And without the token, the condition on token.sub cannot hold.
        status, _, body = http_request(self.a_out, method="POST",
                                       target="/users/idp:user-1/charge",
                                       headers={"Host": "user"}, body=b"{}")
        self.assertEqual(status, 403, body)
        self.assertEqual(len(self.backend.seen), seen)
        time.sleep(max(0, claims["exp"] + self.SKEW + 1 - time.time()))
        status, _, body = self.call_user(token)
        self.assertEqual(status, 401, body)
        self.assertEqual(body["error"], "invalid_token")
        self.assertEqual(len(self.backend.seen), seen)


if __name__ == "__main__":
    unittest.main()
