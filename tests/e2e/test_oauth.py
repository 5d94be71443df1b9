"""End-to-end tests of the authority's OAuth 2.0 endpoints: a real `authority serve` with a
gateway issuer in mesh.yaml, workload SVIDs from the real CLI, a test identity provider whose
ES256 tokens are signed by the openssl CLI, and bulwark's tokens checked by openssl against the
published JWKS. Every attack is performed and checked to fail."""

import hashlib
import http.client
import http.server
import json
import os
import ssl
import subprocess
import threading
import time
import unittest
import urllib.parse

import es256
import harness
from harness import Authority, openssl

TD = harness.TRUST_DOMAIN
TD_ID = f"spiffe://{TD}"
IDP = "https://idp.test"
API = "api://dvd"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
TXN_TYPE = "urn:ietf:params:oauth:token-type:txn_token"
ACCESS_TYPE = "urn:ietf:params:oauth:token-type:access_token"
# Short lifetimes so that a whole key rotation fits in a test: lead = 10 s + 5 s.
SERVE_ARGS = ("--access-token-ttl", "10s", "--txn-token-ttl", "10s", "--jwks-max-age", "5s")


def request(url, method="GET", form=None, cafile=None, cert=None, key=None, body=None,
            content_type="application/x-www-form-urlencoded"):
    """One HTTPS request with a verifying client; returns (status, parsed body, headers)."""
    parsed = urllib.parse.urlsplit(url)
    ctx = harness.ssl_context(cafile, cert, key)
    conn = http.client.HTTPSConnection(parsed.hostname, parsed.port, context=ctx, timeout=10)
    try:
        data = urllib.parse.urlencode(form).encode() if form is not None else body
        headers = {"Content-Type": content_type} if data is not None else {}
        conn.request(method, parsed.path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        try:
            parsed_body = json.loads(text)
        except ValueError:
            parsed_body = text
        return response.status, parsed_body, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def write_mesh(directory, jwks_name="idp-jwks.json"):
    return harness.write(os.path.join(directory, "mesh.yaml"), f"""trust_domain: {TD}
authority:
  listen: 127.0.0.1:0
gateway:
  issuers:
    - name: local
      issuer: self
    - name: idp
      issuer: {IDP}
      jwks: file:{jwks_name}
      audiences: [{API}]
      algorithms: [ES256]
services:
  orders:
    port: 19001
    scopes: [orders:read]
  reader:
    port: 19002
    scopes: [x]
  app:
    port: 19003
    scopes: [a, b]
  oidc:
    port: 19004
    scopes: [orders:read]
""")


class OAuthTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup).init()
        cls.work = cls.auth.tmpdir("oauth")
        cls.idp = es256.Es256Key(cls.work)
        harness.write(os.path.join(cls.work, "idp-jwks.json"), json.dumps({"keys": [cls.idp.jwk()]}))
        mesh = write_mesh(cls.work)
        cls.auth.serve_args = ["--config", mesh, *SERVE_ARGS]
        cls.auth.start()

    @classmethod
    def svid(cls, path):
        """Returns (cert, key) of an SVID for spiffe://td<path>, fetched with the real CLI."""
        return cls.auth.fetch_identity(TD_ID + path)

    def post(self, path, form, who=None, **kwargs):
        cert, key = self.svid(who) if who else (None, None)
        return request(self.auth.url + path, "POST", form, self.auth.bundle, cert, key, **kwargs)

    def get(self, path):
        return request(self.auth.url + path, cafile=self.auth.bundle)

    def client_credentials(self, who="/svc/orders", **extra):
        return self.post("/oauth2/token", {"grant_type": "client_credentials", **extra}, who)

    def exchange(self, subject, who="/gateway", **extra):
        form = {"grant_type": EXCHANGE, "requested_token_type": TXN_TYPE,
                "subject_token": subject, "subject_token_type": ACCESS_TYPE, **extra}
        return self.post("/oauth2/token", form, who)

    def user_token(self, lifetime=300, **claims):
        now = int(time.time())
        body = {"iss": IDP, "aud": API, "sub": "user-1", "iat": now, "exp": now + lifetime,
                "scope": "rentals:read rentals:charge"}
        body.update(claims)
        return self.idp.sign(body)

    def assert_oauth_error(self, answer, status, error, text=""):
        code, body, headers = answer
        self.assertEqual(code, status, body)
        self.assertEqual(body["error"], error, body)
        self.assertIn(text, body["error_description"])
        self.assertEqual(headers.get("cache-control"), "no-store")


class DiscoveryTest(OAuthTestCase):
    def test_metadata_documents(self):
        for path, openid in (("/.well-known/oauth-authorization-server", False),
                             ("/.well-known/openid-configuration", True)):
            with self.subTest(path=path):
                status, doc, headers = self.get(path)
                self.assertEqual(status, 200, doc)
                base = self.auth.url
                self.assertEqual(doc["issuer"], base)
                self.assertEqual(doc["token_endpoint"], base + "/oauth2/token")
                self.assertEqual(doc["jwks_uri"], base + "/oauth2/jwks")
                self.assertEqual(doc["introspection_endpoint"], base + "/oauth2/introspect")
                self.assertEqual(doc["revocation_endpoint"], base + "/oauth2/revoke")
                self.assertEqual(doc["authorization_endpoint"], base + "/oauth2/authorize")
                self.assertEqual(doc["grant_types_supported"],
                                 ["authorization_code", "refresh_token", "client_credentials",
                                  EXCHANGE])
                self.assertEqual(doc["token_endpoint_auth_methods_supported"],
                                 ["tls_client_auth", "client_secret_basic", "client_secret_post",
                                  "none"])
                self.assertEqual(doc["introspection_endpoint_auth_methods_supported"],
                                 ["tls_client_auth"])
                self.assertIs(doc["tls_client_certificate_bound_access_tokens"], True)
                self.assertEqual(doc["response_types_supported"], ["code"])
                self.assertEqual(doc["code_challenge_methods_supported"], ["S256"])
                self.assertIs(doc["authorization_response_iss_parameter_supported"], True)
                self.assertEqual(headers["cache-control"], "public, max-age=5")
                if openid:
                    self.assertEqual(doc["subject_types_supported"], ["public"])
                    self.assertEqual(doc["id_token_signing_alg_values_supported"], ["ES256"])
                    self.assertEqual(doc["userinfo_endpoint"], base + "/oauth2/userinfo")
                    self.assertEqual(doc["end_session_endpoint"], base + "/oauth2/logout")

    def test_jwks(self):
        status, jwks, headers = self.get("/oauth2/jwks")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/jwk-set+json")
        self.assertEqual(headers["cache-control"], "public, max-age=5")
        self.assertGreaterEqual(len(jwks["keys"]), 1)
        for key in jwks["keys"]:
            self.assertEqual((key["kty"], key["crv"], key["alg"], key["use"]),
                             ("EC", "P-256", "ES256", "sig"))
            self.assertNotIn("d", key)
            members = {m: key[m] for m in ("crv", "kty", "x", "y")}
            thumb = es256.b64url(hashlib.sha256(json.dumps(
                members, separators=(",", ":"), sort_keys=True).encode()).digest())
            self.assertEqual(key["kid"], thumb, "kid is the RFC 7638 thumbprint")
        # Not the CA: the token keys are separate.
        status, bundle, _ = self.get("/v1/bundle/jwks")
        ca_xs = {k["x"] for k in bundle["keys"]}
        self.assertFalse(ca_xs & {k["x"] for k in jwks["keys"]})


class ClientCredentialsTest(OAuthTestCase):
    def test_issues_a_certificate_bound_access_token(self):
        status, body, headers = self.client_credentials(scope="orders:read")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["expires_in"], 10)
        self.assertEqual(body["scope"], "orders:read")
        header, claims = es256.decode(body["access_token"])
        self.assertEqual(header["typ"], "at+jwt")
        self.assertEqual(header["alg"], "ES256")
        me = TD_ID + "/svc/orders"
        self.assertEqual(claims["iss"], self.auth.url)
        self.assertEqual(claims["sub"], me)
        self.assertEqual(claims["client_id"], me)
        self.assertEqual(claims["aud"], TD_ID)
        self.assertEqual(claims["scope"], "orders:read")
        self.assertEqual(claims["exp"] - claims["iat"], 10)
        self.assertLessEqual(abs(claims["iat"] - time.time()), 5)
        self.assertGreaterEqual(len(claims["jti"]), 22)
        # cnf.x5t#S256 is the SHA-256 of the client certificate's DER (RFC 8705 §3.1).
        cert, _ = self.svid("/svc/orders")
        done = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                              capture_output=True, timeout=30, check=True)
        thumb = es256.b64url(hashlib.sha256(done.stdout).digest())
        self.assertEqual(claims["cnf"], {"x5t#S256": thumb})
        # The signature verifies with openssl against the published JWKS.
        _, jwks, _ = self.get("/oauth2/jwks")
        self.assertTrue(es256.verify_with_openssl(body["access_token"], jwks, self.work))
        tampered = body["access_token"][:-4] + ("AAAA" if not body["access_token"].endswith(
            "AAAA") else "BBBB")
        self.assertFalse(es256.verify_with_openssl(tampered, jwks, self.work))

    def test_only_the_scopes_listed_for_the_workload_are_granted(self):
        # The attack: orders (listed with orders:read) asks for more; batch (no scopes) for any.
        self.assert_oauth_error(self.client_credentials(scope="orders:read orders:write"), 400,
                                "invalid_scope", "'orders:write' may not be granted")
        self.assert_oauth_error(self.client_credentials(who="/svc/batch", scope="orders:read"),
                                400, "invalid_scope", TD_ID + "/svc/batch")
        status, body, _ = self.client_credentials(who="/svc/batch")
        self.assertEqual(status, 200, body)
        self.assertNotIn("scope", body)
        self.assertNotIn("scope", es256.decode(body["access_token"])[1])

    def test_audience_and_matching_client_id(self):
        status, body, _ = self.client_credentials(audience="spiffe://example.org/svc/payments",
                                                  client_id=TD_ID + "/svc/orders")
        self.assertEqual(status, 200, body)
        self.assertEqual(es256.decode(body["access_token"])[1]["aud"],
                         "spiffe://example.org/svc/payments")

    def test_refused_without_a_client_certificate(self):
        self.assert_oauth_error(self.client_credentials(who=None), 401, "invalid_client",
                                "TLS client certificate")

    def test_refused_with_another_client_id(self):
        self.assert_oauth_error(self.client_credentials(client_id=TD_ID + "/svc/payments"), 401,
                                "invalid_client", "not the SPIFFE ID")

    def test_refused_with_a_revoked_svid(self):
        cert, _ = self.svid("/svc/revoked")
        status, body, _ = self.client_credentials(who="/svc/revoked")
        self.assertEqual(status, 200, body)
        serial = harness.x509(cert, "-serial").strip().split("=", 1)[1]
        self.auth.revoke(serial=serial)
        self.assert_oauth_error(self.client_credentials(who="/svc/revoked"), 401, "invalid_client",
                                "revoked")

    def test_malformed_requests(self):
        self.assert_oauth_error(self.client_credentials(grant_type="password"), 400,
                                "unsupported_grant_type")
        self.assert_oauth_error(self.client_credentials(scope="a  b"), 400, "invalid_scope")
        self.assert_oauth_error(
            self.post("/oauth2/token", None, "/svc/orders",
                      body=b'{"grant_type":"client_credentials"}', content_type="application/json"),
            400, "invalid_request", "x-www-form-urlencoded")
        self.assert_oauth_error(
            self.post("/oauth2/token", None, "/svc/orders",
                      body=b"grant_type=client_credentials&grant_type=client_credentials"),
            400, "invalid_request", "repeated")
        self.assert_oauth_error(
            self.post("/oauth2/token", None, "/svc/orders", body=b"grant_type=client%zz"),
            400, "invalid_request", "%-escape")
        status, _, headers = request(self.auth.url + "/oauth2/token", cafile=self.auth.bundle)
        self.assertEqual(status, 405)


class TokenExchangeTest(OAuthTestCase):
    def test_gateway_exchanges_a_user_token_for_a_transaction_token(self):
        status, body, headers = self.exchange(self.user_token(),
                                              request_context='{"req_ip":"198.51.100.7"}')
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertEqual(body["issued_token_type"], TXN_TYPE)
        self.assertEqual(body["token_type"], "N_A")
        self.assertEqual(body["expires_in"], 10)
        header, claims = es256.decode(body["access_token"])
        self.assertEqual(header["typ"], "txntoken+jwt")
        self.assertEqual(claims["iss"], self.auth.url)
        self.assertEqual(claims["aud"], TD_ID)
        # Qualified by the issuer's mesh.yaml name, which sub_iss carries (docs/tokens.md).
        self.assertEqual(claims["sub"], "idp:user-1")
        self.assertEqual(claims["sub_iss"], "idp")
        self.assertEqual(claims["scope"], "rentals:read rentals:charge")
        self.assertEqual(claims["req_wl"], TD_ID + "/gateway")
        self.assertEqual(claims["rctx"], {"req_ip": "198.51.100.7"})
        self.assertLessEqual(claims["exp"] - claims["iat"], 60)
        self.assertEqual(len(es256.b64url_decode(claims["txn"])), 16)
        _, jwks, _ = self.get("/oauth2/jwks")
        self.assertTrue(es256.verify_with_openssl(body["access_token"], jwks, self.work))
        _, again, _ = self.exchange(self.user_token())
        self.assertNotEqual(es256.decode(again["access_token"])[1]["txn"], claims["txn"])

    def test_scope_is_narrowed_never_widened(self):
        status, body, _ = self.exchange(self.user_token(), scope="rentals:read")
        self.assertEqual(status, 200, body)
        self.assertEqual(es256.decode(body["access_token"])[1]["scope"], "rentals:read")
        self.assert_oauth_error(self.exchange(self.user_token(), scope="rentals:read admin"),
                                400, "invalid_scope", "'admin'")

    def test_only_the_gateway_may_exchange(self):
        self.assert_oauth_error(self.exchange(self.user_token(), who="/svc/orders"), 400,
                                "unauthorized_client", "only the gateway")
        self.assert_oauth_error(self.exchange(self.user_token(), who=None), 401, "invalid_client")

    def test_bad_subject_tokens_are_refused(self):
        now = int(time.time())
        stranger = es256.Es256Key(self.work, "stranger")
        header = es256.b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        payload = es256.b64url(json.dumps({"iss": IDP, "aud": API, "sub": "admin",
                                           "exp": now + 300}).encode())
        cases = {
            "unknown issuer": (self.user_token(iss="https://evil.test"), "not one of gateway"),
            "bad signature": (stranger.sign({"iss": IDP, "aud": API, "sub": "u", "exp": now + 60},
                                            kid=self.idp.kid), "signature"),
            "expired": (self.user_token(lifetime=-120), "expired"),
            "alg none": (f"{header}.{payload}.", "none"),
            "wrong audience": (self.user_token(aud="api://other"), "aud"),
            "no subject": (self.user_token(sub=""), "'sub'"),
            "garbage": ("not-a-jwt", "subject_token"),
        }
        for name, (token, text) in cases.items():
            with self.subTest(name):
                self.assert_oauth_error(self.exchange(token), 400, "invalid_grant", text)

    def test_a_workload_access_token_is_not_a_user_token(self):
        # The attack: the gateway exchanges a workload's own access token (issuer self) for a
        # transaction token in that workload's name.
        _, issued, _ = self.client_credentials(who="/svc/batch")
        self.assert_oauth_error(self.exchange(issued["access_token"]), 400, "invalid_grant",
                                "names a workload")
        # The same marks are refused on the external issuer's tokens.
        for claims, text in (({"sub": TD_ID + "/svc/batch"}, "names a workload"),
                             ({"cnf": {"x5t#S256": "AAAA"}}, "cnf"),
                             ({"client_id": "user-1"}, "client_id == sub")):
            with self.subTest(claims=claims):
                self.assert_oauth_error(self.exchange(self.user_token(**claims)), 400,
                                        "invalid_grant", text)

    def test_parameters_are_checked(self):
        self.assert_oauth_error(self.exchange(self.user_token(), requested_token_type=ACCESS_TYPE),
                                400, "invalid_request", "txn_token")
        self.assert_oauth_error(self.exchange(self.user_token(), audience="api://x"), 400,
                                "invalid_target")
        self.assert_oauth_error(self.exchange(self.user_token(), request_context="[1]"), 400,
                                "invalid_request", "request_context")
        self.assert_oauth_error(self.exchange(self.user_token(),
                                              request_context='{"req_ip":"nope"}'),
                                400, "invalid_request", "req_ip")


class IntrospectionAndRevocationTest(OAuthTestCase):
    def introspect(self, token, who="/svc/resource"):
        return self.post("/oauth2/introspect", {"token": token}, who)

    def test_introspection(self):
        _, issued, _ = self.client_credentials(who="/svc/reader", scope="x")
        status, info, headers = self.introspect(issued["access_token"])
        self.assertEqual(status, 200, info)
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertIs(info["active"], True)
        self.assertEqual(info["client_id"], TD_ID + "/svc/reader")
        self.assertEqual(info["scope"], "x")
        self.assertEqual(info["token_type"], "Bearer")
        _, txn, _ = self.exchange(self.user_token())
        status, info, _ = self.introspect(txn["access_token"])
        self.assertIs(info["active"], True)
        self.assertEqual(info["sub"], "idp:user-1")
        for bad in ("garbage", self.user_token(), issued["access_token"][:-2] + "AA"):
            self.assertEqual(self.introspect(bad)[1], {"active": False})
        self.assert_oauth_error(self.introspect(issued["access_token"], who=None), 401,
                                "invalid_client")

    def test_introspection_is_only_for_the_client_and_the_audience(self):
        _, issued, _ = self.client_credentials(audience=TD_ID + "/svc/payments")
        token = issued["access_token"]
        for who in ("/svc/orders", "/svc/payments"):  # the client and the audience
            with self.subTest(who=who):
                self.assertIs(self.introspect(token, who)[1]["active"], True)
        # The attack: another workload probes a token that is not meant for it.
        self.assertEqual(self.introspect(token, "/svc/stranger")[1], {"active": False})

    def test_a_token_for_another_audience_is_revoked(self):
        _, issued, _ = self.client_credentials(audience=TD_ID + "/svc/payments")
        token = issued["access_token"]
        self.assert_oauth_error(self.post("/oauth2/revoke", {"token": token}, "/svc/payments"),
                                400, "unauthorized_client")
        self.assertEqual(self.post("/oauth2/revoke", {"token": token}, "/svc/orders")[0], 200)
        self.assertEqual(self.introspect(token, "/svc/payments")[1], {"active": False})

    def test_revocation(self):
        _, issued, _ = self.client_credentials(who="/svc/owner")
        token = issued["access_token"]
        self.assert_oauth_error(self.post("/oauth2/revoke", {"token": token}, "/svc/other"), 400,
                                "unauthorized_client")
        self.assertIs(self.introspect(token)[1]["active"], True, "a refused revocation did nothing")
        status, body, _ = self.post("/oauth2/revoke", {"token": token}, "/svc/owner")
        self.assertEqual((status, body), (200, {}))
        self.assertEqual(self.introspect(token)[1], {"active": False})
        self.assertEqual(self.post("/oauth2/revoke", {"token": token}, "/svc/owner")[0], 200)
        self.assertEqual(self.post("/oauth2/revoke", {"token": "unknown"}, "/svc/owner")[0], 200)
        _, txn, _ = self.exchange(self.user_token())
        self.assert_oauth_error(self.post("/oauth2/revoke", {"token": txn["access_token"]},
                                          "/gateway"), 400, "unsupported_token_type")
        audit = [e for e in self.auth.audit() if e["action"] == "token.revoke"]
        self.assertTrue(any(e["actor"] == TD_ID + "/svc/owner" for e in audit), audit)


class RotationTest(OAuthTestCase):
    def test_rotation_keeps_old_tokens_verifiable(self):
        _, first, _ = self.client_credentials(who="/svc/rot")
        old_kid = es256.decode(first["access_token"])[0]["kid"]
        rc, out, err = self.auth.admin("keys", "rotate")
        self.assertEqual(rc, 0, err)
        rotation = json.loads(out)
        self.assertFalse(rotation["activated"], "a fresh key must not sign before it is fetched")
        new_kid = rotation["next_kid"]
        self.assertGreaterEqual(rotation["next_activates_at"] - time.time(), 10)
        _, jwks, _ = self.get("/oauth2/jwks")
        self.assertEqual({k["kid"] for k in jwks["keys"]}, {old_kid, new_kid})
        _, before, _ = self.client_credentials(who="/svc/rot")
        self.assertEqual(es256.decode(before["access_token"])[0]["kid"], old_kid)
        deadline = rotation["next_activates_at"] + 5
        kid = old_kid
        while time.time() < deadline and kid == old_kid:
            time.sleep(0.5)
            _, after, _ = self.client_credentials(who="/svc/rot")
            kid = es256.decode(after["access_token"])[0]["kid"]
        self.assertEqual(kid, new_kid, "the next key became current")
        self.assertGreaterEqual(time.time(), rotation["next_activates_at"] - 1)
        _, jwks, _ = self.get("/oauth2/jwks")
        self.assertIn(old_kid, {k["kid"] for k in jwks["keys"]}, "the retiring key stays")
        self.assertTrue(es256.verify_with_openssl(first["access_token"], jwks, self.work))
        info = self.post("/oauth2/introspect", {"token": first["access_token"]}, "/svc/rot")[1]
        self.assertIs(info["active"], True, info)


class ConfigRefusalTest(unittest.TestCase):
    def test_http_jwks_is_refused_at_start_with_its_position(self):
        auth = Authority(self.addCleanup).init()
        work = auth.tmpdir("cfg")
        mesh = harness.write(os.path.join(work, "mesh.yaml"), f"""trust_domain: {TD}
gateway:
  issuers:
    - name: remote
      issuer: https://idp.test
      jwks: http://idp.test/jwks
      audiences: [api://dvd]
""")
        rc, out, err = harness.cli("authority", "serve", "--data-dir", auth.data_dir, "--listen",
                                   "127.0.0.1:0", "--config", mesh)
        self.assertNotEqual(rc, 0)
        self.assertIn("mesh.yaml:6:13: gateway.issuers[0].jwks: 'http://idp.test/jwks' must be "
                      "file:<path> or an https:// URL", err)


class PartnerIdp(http.server.BaseHTTPRequestHandler):
    """An external OpenID provider: discovery and a JWKS (server.jwks) with Cache-Control;
    counts fetches; answers 503 while server.down."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        with self.server.lock:
            if self.server.down:
                status, body = 503, {"error": "down"}
            elif self.path == "/.well-known/openid-configuration":
                self.server.fetches["discovery"] += 1
                status, body = 200, {"issuer": self.server.issuer,
                                     "jwks_uri": self.server.issuer + "/jwks"}
            elif self.path == "/jwks":
                self.server.fetches["jwks"] += 1
                status, body = 200, self.server.jwks
            else:
                status, body = 404, {}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "public, max-age=300")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class ExternalIssuerByDiscoveryTest(OAuthTestCase):
    """gateway.issuers with discovery over HTTPS: a partner IdP (a Python HTTPS server with a
    test CA made by the openssl CLI, given to the authority as the issuer's `ca`) serves its
    discovery document and JWKS; the authority fetches them in the background, honours
    Cache-Control, refetches on an unknown kid at a bounded rate and keeps the last good keys
    while the IdP is away. Its users' transaction tokens say sub "partner:<sub>", sub_iss
    "partner"."""

    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup).init()
        cls.work = cls.auth.tmpdir("partner")
        ca_key, ca, key, csr, cert, ext = (os.path.join(cls.work, f) for f in (
            "ca.key", "ca.pem", "idp.key", "idp.csr", "idp.pem", "ext.cnf"))
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=partner test ca",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        harness.write(ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
                           "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                "-out", cert, "-days", "1", "-extfile", ext)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        from test_sidecar import start_backend_server
        cls.partner = es256.Es256Key(cls.work, "partner")
        cls.idp_server = start_backend_server(cls.addClassCleanup, "partner", PartnerIdp, tls=tls)
        cls.idp_server.lock = threading.Lock()
        cls.idp_server.down = False
        cls.idp_server.fetches = {"discovery": 0, "jwks": 0}
        cls.idp_server.jwks = {"keys": [cls.partner.jwk()]}
        cls.issuer = f"https://127.0.0.1:{cls.idp_server.server_address[1]}"
        cls.idp_server.issuer = cls.issuer
        mesh = harness.write(os.path.join(cls.work, "mesh.yaml"), f"""trust_domain: {TD}
authority:
  listen: 127.0.0.1:0
gateway:
  issuers:
    - name: local
      issuer: self
    - name: partner
      issuer: {cls.issuer}
      discovery: {cls.issuer}/.well-known/openid-configuration
      ca: ca.pem
      audiences: [api://partner]
""")
        cls.auth.serve_args = ["--config", mesh]
        cls.auth.start()

    @classmethod
    def svid(cls, path):
        """The SVID for `path`, fetched once: the flood below makes many exchanges."""
        cls.svids = getattr(cls, "svids", {})
        if path not in cls.svids:
            cls.svids[path] = cls.auth.fetch_identity(TD_ID + path)
        return cls.svids[path]

    def partner_token(self, key=None, kid=None, sub="alice"):
        now = int(time.time())
        return (key or self.partner).sign({"iss": self.issuer, "aud": "api://partner",
                                           "sub": sub, "iat": now, "exp": now + 300,
                                           "scp": ["rentals:read"]}, kid=kid)

    def log(self):
        """The authority's whole log (log_text() keeps only its tail)."""
        return self.auth.log_text() and harness.read(self.auth._log_path)

    def fetches(self, what="jwks"):
        with self.idp_server.lock:
            return self.idp_server.fetches[what]

    def exchange_until(self, token, status_wanted=200, seconds=25):
        deadline = time.monotonic() + seconds
        while True:
            status, body, _ = self.exchange(token)
            if status == status_wanted or time.monotonic() > deadline:
                return status, body
            time.sleep(0.25)

    def test_keys_by_discovery_refetch_bounded_and_kept_while_away(self):
        # 1. Fetched at start: the partner's alice is exchanged, qualified by the issuer's name.
        status, body = self.exchange_until(self.partner_token())
        self.assertEqual(status, 200, body)
        _, claims = es256.decode(body["access_token"])
        self.assertEqual(claims["sub"], "partner:alice")
        self.assertEqual(claims["sub_iss"], "partner")
        self.assertEqual(claims["scope"], "rentals:read")  # from the scp array
        self.assertEqual((self.fetches("discovery"), self.fetches()), (1, 1))
        # Cache-Control max-age=300: refreshed in the background after 80% of it.
        self.assertIn("fetched the keys of issuer 'partner'; next refresh in 240 s",
                      self.log())

        # 2. The partner rotates: a token under its new kid is refused until the authority
        #    refetches, which an unknown kid asks for at most once per 10 s.
        rotated = es256.Es256Key(self.work, "partner-next")
        with self.idp_server.lock:
            self.idp_server.jwks = {"keys": [self.partner.jwk(), rotated.jwk()]}
        status, body = self.exchange_until(self.partner_token(rotated))
        self.assertEqual(status, 200, body)
        self.assertGreaterEqual(self.fetches(), 2)

        # 3. A flood of random kids right after that refetch: at most one fetch per 10 s.
        before = self.fetches()
        started = time.monotonic()
        for i in range(40):
            forged = self.partner_token(kid=f"random-{i}-{os.urandom(6).hex()}")
            self.assert_oauth_error(self.exchange(forged), 400, "invalid_grant", "key set")
        elapsed = time.monotonic() - started
        time.sleep(0.5)  # let a granted fetch finish
        self.assertLessEqual(self.fetches() - before, 1 + int(elapsed // 10))

        # 4. The partner goes away: fetches fail, the last good keys stay in use.
        with self.idp_server.lock:
            self.idp_server.down = True
        deadline = time.monotonic() + 25
        failed = "fetching the keys of issuer 'partner' failed"
        while failed not in self.log() and time.monotonic() < deadline:
            self.exchange(self.partner_token(kid="random-" + os.urandom(6).hex()))
            time.sleep(0.5)
        self.assertIn(failed, self.log())
        self.assertIn("keeping the last good ones", self.log())
        status, body, _ = self.exchange(self.partner_token(rotated, sub="bob"))
        self.assertEqual(status, 200, body)
        self.assertEqual(es256.decode(body["access_token"])[1]["sub"], "partner:bob")
        with self.idp_server.lock:
            self.idp_server.down = False

    def test_a_partner_cannot_speak_for_the_authority(self):
        # A token of the partner's key that names the authority as issuer: refused, never
        # verified with the partner's keys.
        now = int(time.time())
        forged = self.partner.sign({"iss": self.auth.url, "aud": TD_ID, "sub": "alice",
                                    "iat": now, "exp": now + 300}, header={"typ": "at+jwt"})
        self.assert_oauth_error(self.exchange(forged), 400, "invalid_grant", "key set")


if __name__ == "__main__":
    unittest.main()
