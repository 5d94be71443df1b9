"""End-to-end tests of `bulwark gateway`: a real authority, the gateway (public TLS with a
certificate made by openssl, SVID spiffe://<td>/gateway from a join token), one sidecar and a
Python backend that records what reaches it. Checked: a public route reaches the backend over
mTLS as the gateway; forged identity headers are removed; 404/405/413/401; normalization
bypasses to a path without a route never reach the backend; CL+TE smuggling is refused and the
gateway stays up; rate limits hold against header case, X-Forwarded-For and many connections;
HSTS and hardening headers; testssl.sh finds nothing of severity MEDIUM or above. Loopback only;
every process is stopped by PID through cleanups; every loop is bounded."""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest

import es256
import harness
from harness import Authority, free_ports
from test_sidecar import Sidecar, _read, http_request, service_yaml, start_backend_server
from test_sidecar_attacks import RecordingHandler

TD = harness.TRUST_DOMAIN
GATEWAY_ID = f"spiffe://{TD}/gateway"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
SEVERE = {"MEDIUM", "HIGH", "CRITICAL"}


class LeakyBackend(RecordingHandler):
    """A RecordingHandler that leaks what a hardened gateway must not pass on as it is."""

    def end_headers(self):
        self.send_header("X-Powered-By", "PHP/8.2")
        self.send_header("Set-Cookie", "sid=abc; Path=/")
        self.send_header("Set-Cookie", "__Host-bad=1; Path=/; Domain=evil.example")
        super().end_headers()


def make_public_cert(directory):
    """A P-256 certificate for localhost/127.0.0.1 signed by a throwaway CA (openssl CLI)."""
    ca_key, ca = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    key, csr = os.path.join(directory, "gw.key"), os.path.join(directory, "gw.csr")
    cert, ext = os.path.join(directory, "gw.pem"), os.path.join(directory, "ext.cnf")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    steps = [
        ["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=gateway test CA"],
        ["openssl", "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
    ]
    for argv in steps:
        rc, _, err = harness.run(argv)
        assert rc == 0, err
    harness.write(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                       "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n")
    rc, _, err = harness.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                              "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext])
    assert rc == 0, err
    os.chmod(key, 0o600)
    return ca, cert, key


class Gateway(Sidecar):
    """A running `bulwark gateway`, stopped by PID in the class cleanup; wait_ready and log
    as the sidecar's (its admin listener answers /readyz alike)."""

    def __init__(self, test_cls, auth, config, admin_port):
        self.name = "gateway"
        self.admin = admin_port
        self.log_path = os.path.join(auth.tmpdir("gateway-log"), "gateway.log")
        self.access_log = os.path.join(auth.tmpdir("gateway-access"), "access.jsonl")
        log = open(self.log_path, "wb")
        test_cls.addClassCleanup(log.close)
        argv = [harness.BINARY, "gateway", "--config", config, "--authority", auth.url,
                "--bundle", auth.bundle, "--token-file", auth.token_file(GATEWAY_ID),
                "--admin", f"127.0.0.1:{admin_port}", "--access-log", self.access_log,
                "--upstream-timeout", "10s"]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        test_cls.addClassCleanup(harness.stop_process, self.proc)


class GatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup).init().start()
        root = cls.auth.tmpdir("mesh")
        cls.ca, cert, key = make_public_cert(root)
        cls.backend = start_backend_server(cls.addClassCleanup, "api", LeakyBackend)
        ports = free_ports(5)
        cls.public, gateway_admin = ports[0], ports[1]
        cls.sidecar_ports = tuple(ports[2:5])
        cls.cert, cls.key = cert, key
        cls.mesh = harness.write(os.path.join(root, "mesh.yaml"), cls.mesh_text(cls.public))
        cls.sidecar = Sidecar(cls, cls.auth, cls.mesh, "api", cls.sidecar_ports).wait_ready()
        cls.gateway = Gateway(cls, cls.auth, cls.mesh, gateway_admin).wait_ready()
        cls.first_statuses = cls.first_requests()

    @classmethod
    def first_requests(cls, port=None, within=10):
        """Requests to the gateway on `port` (default: the class's) until one passes; returns
        their statuses. A sidecar that fetched the authority's keys before a gateway registered
        its first delegated key refetches them on the first token naming that key (at most once
        per 10 s, docs/gateway.md#transaction-tokens): such requests are refused (401) until then."""
        probe = object.__new__(cls)  # the helpers read only class attributes
        statuses = []
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and statuses[-1:] != [200]:
            conn = http.client.HTTPSConnection("localhost", port or cls.public,
                                               context=probe.context(), timeout=15)
            try:
                conn.request("GET", "/public/first")
                statuses.append(_read(conn.getresponse())[0])
            finally:
                conn.close()
            time.sleep(0.05)
        return statuses

    @classmethod
    def mesh_text(cls, public_port, extra_routes=()):
        return "\n".join([
            f"trust_domain: {TD}",
            "gateway:",
            f"  listen: \"127.0.0.1:{public_port}\"",
            f"  tls: {{ cert: {cls.cert}, key: {cls.key} }}",
            "  routes:",
            "    - { prefix: /public, service: api, auth: [none], methods: [GET, POST],"
            " max_body: 1KiB }",
            "    - { path: \"/items/{id}\", service: api, auth: [none], methods: [GET] }",
            "    - { prefix: /limited, service: api, auth: [none],"
            " rate_limit: { per_address: 1/m, burst: 3 } }",
            "    - { prefix: /secure, service: api, auth: [bearer] }",
            "    - { prefix: /keyed, service: api, auth: [api_key] }",
            *[f"    - {route}" for route in extra_routes],
            "services:",
            service_yaml("api", cls.backend.server_address[1], cls.sidecar_ports,
                         allow=("{ from: gateway }",)),
            ""])

    # --- helpers -------------------------------------------------------------------------
    def context(self):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca)
        ctx.check_hostname = True
        return ctx

    def request(self, method="GET", target="/public/x", headers=None, body=None):
        """One request on a fresh TLS connection (verifying the gateway's certificate)."""
        conn = http.client.HTTPSConnection("localhost", self.public, context=self.context(),
                                           timeout=15)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            return _read(conn.getresponse())
        finally:
            conn.close()

    def raw(self, data, timeout=5):
        """Sends raw bytes over TLS and returns everything until the gateway closes."""
        with socket.create_connection(("127.0.0.1", self.public), timeout=timeout) as sock:
            with self.context().wrap_socket(sock, server_hostname="localhost") as tls:
                tls.sendall(data)
                chunks = []
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    try:
                        chunk = tls.recv(65536)
                    except (socket.timeout, ssl.SSLError, ConnectionError):
                        break
                    if not chunk:
                        break
                    chunks.append(chunk)
                return b"".join(chunks).decode(errors="replace")

    def seen(self):
        return list(self.backend.seen)

    def scrape(self):
        status, _, text = http_request(self.gateway.admin, target="/metrics")
        self.assertEqual(status, 200, text)
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line and not line.startswith("#")}

    # --- tests ---------------------------------------------------------------------------
    def test_a_fresh_gateways_key_is_learnt_from_the_first_token_naming_it(self):
        self.assertEqual(self.first_statuses[-1], 200, self.first_statuses)
        self.assertLessEqual(len(self.first_statuses), 3, self.first_statuses)

    def test_public_route_reaches_the_backend_as_the_gateway_over_mtls(self):
        status, headers, body = self.request(target="/public//a/./b?q=1",
                                             headers={"traceparent": TRACEPARENT})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["path"], "/public/a/b?q=1")  # normalized, query kept
        self.assertEqual(body["headers"]["x-bulwark-peer-id"], GATEWAY_ID)
        self.assertEqual(body["headers"]["traceparent"], TRACEPARENT)  # a valid one is kept
        status, _, body = self.request(target="/items/42")
        self.assertEqual((status, body["path"]), (200, "/items/42"))

    def test_forged_identity_headers_are_removed(self):
        status, _, body = self.request(headers={
            "Txn-Token": "forged.token.value", "X-Bulwark-Peer-Id": "spiffe://x/svc/admin",
            "X_Bulwark_Peer_Id": "spiffe://x/svc/admin", "Txn_Token": "forged"})
        self.assertEqual(status, 200, body)
        seen = body["headers"]
        # The Txn-Token the service sees is the one the gateway minted, not the client's.
        header, claims = es256.decode(seen["txn-token"])
        self.assertEqual(header["typ"], "txntoken+jwt")
        self.assertEqual((claims["req_wl"], claims["sub"], claims["sub_iss"]),
                         (GATEWAY_ID, "anonymous", "none"))
        self.assertNotIn("txn_token", seen)
        self.assertNotIn("x_bulwark_peer_id", seen)
        self.assertEqual(seen["x-bulwark-peer-id"], GATEWAY_ID)

    def test_a_missing_or_invalid_traceparent_is_replaced_by_a_new_one(self):
        for headers in [{}, {"traceparent": "00-zz-yy-01"}]:
            status, _, body = self.request(headers=headers)
            self.assertEqual(status, 200, body)
            made = body["headers"]["traceparent"]
            self.assertRegex(made, r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")
            self.assertNotEqual(made.split("-")[1], "0" * 32)

    def test_refusals_404_405_413_and_unsupported_authentication(self):
        before = self.seen()
        status, _, body = self.request(target="/nothing/here")
        self.assertEqual((status, body["error"]), (404, "not_found"))
        status, headers, body = self.request("DELETE", "/public/x")
        self.assertEqual(status, 405, body)
        self.assertEqual(headers["Allow"], "GET, POST")
        status, _, body = self.request("POST", "/public/x", body=b"x" * 2048)
        self.assertEqual(status, 413, body)
        status, headers, body = self.request(target="/secure/x")
        self.assertEqual(status, 401, body)  # no bearer authenticator is wired in
        self.assertIn("Bearer", headers["WWW-Authenticate"])
        status, _, body = self.request(target="/keyed/x")
        self.assertEqual(status, 401, body)
        self.assertEqual(self.seen(), before)
        status, _, body = self.request("POST", "/public/x", body=b"x" * 1000)
        self.assertEqual(status, 200, body)

    def test_normalization_bypasses_never_reach_the_backend(self):
        before = self.seen()
        for target in ["/public/..%2Fadmin", "/public/..%2fadmin", "/public/%2e%2e/admin",
                       "/public/%2E%2E/admin", "/public/../admin", "/public/..\\admin",
                       "/public/..%5cadmin", "/public/..;/admin", "//admin", "/PUBLIC/x",
                       "/public/%c0%ae%c0%ae/admin", "/publicx", "/items/42/../../admin"]:
            status, _, body = self.request(target=target)
            self.assertIn(status, (400, 404), f"{target}: {status} {body}")
        self.assertEqual(self.seen(), before)

    def test_smuggling_is_refused_and_the_gateway_stays_up(self):
        before = self.seen()
        attacks = [
            b"POST /public/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /public/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n"
            b"Content-Length: 40\r\n\r\nabcGET /admin HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /public/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
            b"Transfer-Encoding: identity\r\n\r\n0\r\n\r\n",
        ]
        for attack in attacks:
            answer = self.raw(attack)
            self.assertTrue(answer.startswith("HTTP/1.1 400") or answer.startswith("HTTP/1.1 501"),
                            answer[:200])
            self.assertEqual(answer.count("HTTP/1.1 "), 1, answer)  # no second response
        self.assertEqual(self.seen(), before)
        self.assertEqual(self.request()[0], 200)

    def test_rate_limit_holds_against_header_case_forwarded_for_and_new_connections(self):
        before = len([s for s in self.seen() if s[1].startswith("/limited")])
        statuses = [self.request(target="/limited/a")[0] for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 200])
        status, headers, body = self.request(target="/limited/a")
        self.assertEqual(status, 429, body)
        self.assertEqual(body["error"], "rate_limited")
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        self.assertLessEqual(int(headers["Retry-After"]), 60)
        tricks = [{"X-Forwarded-For": f"198.51.100.{i}"} for i in range(10)]
        tricks += [{"x-forwarded-for": "203.0.113.1"}, {"X-FORWARDED-FOR": "203.0.113.2"},
                   {"X-Real-IP": "203.0.113.3"}, {"Forwarded": "for=203.0.113.4"}]
        for headers in tricks:  # each on a new connection
            self.assertEqual(self.request(target="/limited/a", headers=headers)[0], 429, headers)
        for target in ["/LIMITED/a", "/limited/%61", "/limited//a"]:
            self.assertIn(self.request(target=target)[0], (404, 429), target)
        after = len([s for s in self.seen() if s[1].startswith("/limited")])
        self.assertEqual(after - before, 3)
        self.assertGreaterEqual(
            self.scrape()['bulwark_gateway_rate_limited_total{route="/limited"}'], 15)

    def test_hsts_and_hardening_headers_on_every_response(self):
        for target in ["/public/x", "/nothing"]:
            status, headers, _ = self.request(target=target)
            self.assertEqual(headers["Strict-Transport-Security"],
                             "max-age=31536000; includeSubDomains", target)
            self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
            self.assertEqual(headers["Referrer-Policy"], "no-referrer")
            self.assertEqual(headers["X-Frame-Options"], "DENY")
            self.assertNotIn("Server", headers)
            self.assertNotIn("X-Powered-By", headers)
        conn = http.client.HTTPSConnection("localhost", self.public, context=self.context(),
                                           timeout=15)
        try:
            conn.request("GET", "/public/cookies")
            response = conn.getresponse()
            response.read()
            cookies = response.headers.get_all("Set-Cookie")
        finally:
            conn.close()
        self.assertEqual(cookies, ["sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax"])

    def test_tls_policy_refuses_old_protocols_and_weak_suites(self):
        for args in (["-tls1_1"], ["-tls1"], ["-tls1_2", "-cipher", "AES128-SHA"],
                     ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA"]):
            rc, out, err = harness.run(["openssl", "s_client", "-connect",
                                        f"127.0.0.1:{self.public}", *args], input_text="")
            self.assertNotEqual(rc, 0, f"{args}: {out}{err}")
        rc, out, err = harness.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.public}",
                                    "-tls1_2", "-CAfile", self.ca], input_text="")
        self.assertEqual(rc, 0, err)
        self.assertIn("ECDHE-ECDSA-AES", out + err)

    def test_metrics_and_access_log(self):
        self.assertEqual(self.request(target="/public/logged",
                                      headers={"traceparent": TRACEPARENT})[0], 200)
        series = self.scrape()
        self.assertGreaterEqual(series['bulwark_gateway_requests_total{route="/public",code="2xx"}'],
                                1)
        self.assertGreaterEqual(series["bulwark_gateway_request_duration_seconds_count"], 1)
        deadline = time.monotonic() + 10
        found = []
        while not found and time.monotonic() < deadline:
            with open(self.gateway.access_log, encoding="utf-8") as f:
                found = [json.loads(ln) for ln in f if '"/public/logged"' in ln]
            time.sleep(0.05)
        self.assertTrue(found, "no access log line")
        line = found[0]
        self.assertIn("route", line, line)
        self.assertEqual((line["route"], line["status"], line["direction"]),
                         ("/public", 200, "public"))
        self.assertEqual(line["trace_id"], TRACEPARENT.split("-")[1])
        self.assertEqual(line["peer"], "127.0.0.1")

    def hangup_and_wait(self, gateway, log_text):
        """Sends SIGHUP to the gateway and waits until its log says `log_text` once more."""
        before = gateway.log().count(log_text)
        os.kill(gateway.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if gateway.log().count(log_text) > before:
                return
            time.sleep(0.05)
        self.fail(f"no '{log_text}' in the log after SIGHUP:\n{gateway.log()}")

    def test_sighup_applies_new_routes_and_keeps_them_on_a_bad_file(self):
        self.assertEqual(self.request(target="/extra/x")[0], 404)
        extra = ("{ prefix: /extra, service: api, auth: [none] }",)
        harness.write(self.mesh + ".tmp", self.mesh_text(self.public, extra))
        os.replace(self.mesh + ".tmp", self.mesh)
        self.hangup_and_wait(self.gateway, "gateway: reloaded")
        status, _, body = self.request(target="/extra/x")
        self.assertEqual((status, body["path"]), (200, "/extra/x"))
        harness.write(self.mesh + ".tmp", "trust_domain: [broken\n")
        os.replace(self.mesh + ".tmp", self.mesh)
        self.hangup_and_wait(self.gateway, "reload failed")
        self.assertEqual(self.request(target="/extra/x")[0], 200)
        # Leave a good file behind, as the running configuration is.
        harness.write(self.mesh + ".tmp", self.mesh_text(self.public, extra))
        os.replace(self.mesh + ".tmp", self.mesh)

    def test_sigterm_drains_and_exits_zero(self):
        public, admin = free_ports(2)
        path = harness.write(os.path.join(self.auth.tmpdir("mesh2"), "mesh.yaml"),
                             self.mesh_text(public))
        second = Gateway(type(self), self.auth, path, admin).wait_ready()
        # A second gateway, a second delegated key: the sidecar learns it within its refetch bound.
        self.assertEqual(self.first_requests(public, within=15)[-1], 200)
        conn = http.client.HTTPSConnection("localhost", public, context=self.context(),
                                           timeout=15)
        try:
            conn.request("GET", "/public/before-term")
            self.assertEqual(_read(conn.getresponse())[0], 200)
        finally:
            conn.close()
        os.kill(second.proc.pid, signal.SIGTERM)
        self.assertEqual(second.proc.wait(timeout=20), 0, second.log())
        self.assertIn("draining", second.log())

    @unittest.skipIf(shutil.which("testssl") is None and shutil.which("testssl.sh") is None,
                     "testssl.sh is not installed (apt-get install testssl.sh)")
    def test_testssl_finds_nothing_of_medium_severity_or_above(self):
        tool = shutil.which("testssl") or shutil.which("testssl.sh")
        out = os.path.join(self.auth.tmpdir("testssl"), "result.json")
        # Protocols, ciphers, server defaults, headers and the known vulnerabilities; no
        # network beyond the loopback target.
        argv = [tool, "--jsonfile", out, "--quiet", "--color", "0", "--warnings", "batch",
                "--fast", "--ip", "127.0.0.1", "-p", "-s", "-f", "-h", "-U",
                f"localhost:{self.public}"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=240,
                              stdin=subprocess.DEVNULL)
        self.assertTrue(os.path.exists(out), done.stdout[-3000:] + done.stderr[-3000:])
        with open(out, encoding="utf-8") as f:
            findings = json.load(f)
        severe = [f for f in findings if f.get("severity") in SEVERE
                  and not about_the_test_ca(f)]
        self.assertEqual(severe, [], json.dumps(severe, indent=1))
        ids = {f["id"] for f in findings}
        self.assertIn("TLS1_3", ids)


def about_the_test_ca(finding):
    """Whether a testssl.sh finding is about the throwaway CA not being in a public trust
    store: the test's setup, not the gateway's TLS policy."""
    return finding["id"] in ("cert_chain_of_trust", "cert_trust", "cert_caIssuers",
                             "cert_crlDistributionPoints", "cert_ocspURL", "cert_revocation",
                             "OCSP_stapling")


if __name__ == "__main__":
    unittest.main()
