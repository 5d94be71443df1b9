"""End-to-end tests of `bulwark sidecar`: a real authority, three sidecars (services a, b, c)
and an impostor sidecar, plain Python http.server backends that echo what they receive, and
attacks made with Python's ssl and the openssl CLI. Loopback only; every process is stopped by
its PID through class cleanups; every wait is bounded."""

import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import unittest

import harness
from harness import Authority, free_ports

TD = harness.TRUST_DOMAIN
READY_TIMEOUT = 20  # seconds for a sidecar to fetch its SVID and answer /readyz
SVID_TTL = 60  # --svid-ttl 1m: the sidecars renew (and rotate their TLS context) after ~30s


def sid(name):
    return f"spiffe://{TD}/svc/{name}"


class EchoHandler(http.server.BaseHTTPRequestHandler):
    """Answers any request with {"service", "method", "path", "headers"} as JSON."""

    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without TCP_NODELAY the body waits for a delayed ACK.
    disable_nagle_algorithm = True

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode(errors="replace") if length else ""
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + "," + value if key in headers else value
        data = json.dumps({"service": self.server.service_name, "method": self.command,
                           "path": self.path, "headers": headers, "body": body}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Backend", self.server.service_name)
        self.send_header("Keep-Alive", "timeout=5")  # hop-by-hop: the sidecar must drop it
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "123")
        self.end_headers()

    def log_message(self, *args):
        pass


def start_backend(add_cleanup, name):
    """An EchoHandler backend for service `name`; returns its port."""
    return start_backend_server(add_cleanup, name, EchoHandler).server_address[1]


def start_backend_server(add_cleanup, name, handler, tls=None):
    """A threading HTTP server on 127.0.0.1:0 with `handler` (server.service_name = name, and
    server.seen = [] for handlers that record), HTTPS when `tls` (a server ssl.SSLContext) is
    given; shut down by `add_cleanup`. Returns it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    return serve_in_thread(add_cleanup, server, name)


def serve_in_thread(add_cleanup, server, name):
    """Runs the socketserver `server` (server.service_name = name, server.seen = []) on a daemon
    thread, shut down and joined by `add_cleanup`. Returns it."""
    server.service_name = name
    server.seen = []
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    add_cleanup(thread.join, 10)
    add_cleanup(server.server_close)
    add_cleanup(server.shutdown)
    return server


def http_request(port, method="GET", target="/", headers=None, body=None, timeout=15):
    """One plain HTTP request to 127.0.0.1:port; returns (status, headers, parsed JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        return _read(conn.getresponse())
    finally:
        conn.close()


def _read(response):
    text = response.read().decode(errors="replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    return response.status, dict(response.getheaders()), parsed


def mtls_request(port, cafile, cert=None, key=None, target="/", headers=None, timeout=10):
    """One HTTPS request to a sidecar's inbound listener on a fresh TLS connection. The server
    is verified against `cafile` (no host name: SVIDs carry only a SPIFFE ID)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    if cert:
        ctx.load_cert_chain(cert, key)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", target, headers=headers or {})
        return _read(conn.getresponse())
    finally:
        conn.close()


def refused(call):
    """Runs call(); returns a description when the server refused (TLS alert, reset, closed
    connection, or a 403), None when it answered otherwise."""
    try:
        status, _, body = call()
    except (ssl.SSLError, ConnectionError, http.client.HTTPException, OSError) as e:
        return f"{type(e).__name__}: {e}"
    return f"403 {body}" if status == 403 else None


def peer_serial(port, cafile, svid_dir):
    """The serial (hex, as Python prints it) of the certificate a sidecar's inbound presents."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    ctx.check_hostname = False
    ctx.load_cert_chain(os.path.join(svid_dir, "svid.pem"), os.path.join(svid_dir, "key.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            return tls.getpeercert()["serialNumber"]


class Sidecar:
    """A running `bulwark sidecar` for one service, stopped by PID in the class cleanup."""

    def __init__(self, test_cls, auth, config, name, ports, join_token=True,
                 authority_flag=True, extra_args=()):
        self.name = name
        self.inbound, self.outbound, self.admin = ports
        self.log_path = os.path.join(auth.tmpdir("sidecar-log"), f"{name}.log")
        self.access_log = os.path.join(auth.tmpdir("access-log"), f"{name}.jsonl")
        log = open(self.log_path, "wb")
        test_cls.addClassCleanup(log.close)
        argv = [harness.BINARY, "sidecar", "--config", config, "--service", name,
                "--upstream-timeout", "10s", "--access-log", self.access_log]
        if join_token:  # else: the identity files named in mesh.yaml
            argv += ["--bundle", auth.bundle, "--token-file", auth.token_file(sid(name))]
            if authority_flag:  # else: authority.listen from mesh.yaml
                argv += ["--authority", auth.url]
        argv += list(extra_args)
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        test_cls.addClassCleanup(harness.stop_process, self.proc)

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"sidecar {self.name} exited rc={self.proc.returncode}:\n"
                                     + self.log())
            try:
                if http_request(self.admin, target="/readyz", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"sidecar {self.name} not ready in time:\n" + self.log())

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read()[-4000:].decode(errors="replace")


# The suites that test transport let every workload of the trust domain call every service;
# test_policy_enforce.py tests the policy itself.
ANY_WORKLOAD = (f'{{ from: ["spiffe://{TD}/**"] }}',)


def service_yaml(name, port, sidecar_ports, calls=(), identity_dir=None, allow=ANY_WORKLOAD,
                 workers=None):
    """services.<name> of mesh.yaml; `allow` holds the rules (flow YAML), () for none;
    `workers` sets sidecar.workers (None: the default, one per core)."""
    inbound, outbound, admin = sidecar_ports
    lines = [f"  {name}:", f"    port: {port}"]
    if allow:
        lines.append("    allow:")
        lines += [f"      - {rule}" for rule in allow]
    if identity_dir:  # relative to mesh.yaml's directory
        lines.append(f"    identity: {{ svid: {identity_dir}/svid.pem, key: {identity_dir}/key.pem,"
                     f" bundle: {identity_dir}/bundle.pem }}")
    if calls:
        lines.append("    calls:")
        lines += [f"      - {c}" for c in calls]
    workers_field = f", workers: {workers}" if workers else ""
    lines.append(f"    sidecar: {{ inbound: \"127.0.0.1:{inbound}\", "
                 f"outbound: \"127.0.0.1:{outbound}\", admin: \"127.0.0.1:{admin}\""
                 f"{workers_field} }}")
    return "\n".join(lines)


class SidecarTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup,
                             serve_args=("--svid-ttl", f"{SVID_TTL}s")).init().start()
        cls.root = cls.auth.tmpdir("mesh")
        ports = free_ports(17)
        names = ["a", "b", "c", "x", "d"]
        cls.ports = {n: tuple(ports[i * 3:i * 3 + 3]) for i, n in enumerate(names)}
        cls.b_listen = ports[15]
        c_port = ports[16]  # nothing listens there: c's service is down
        cls.backend = {n: start_backend(cls.addClassCleanup, n) for n in ["a", "b", "d"]}
        # d takes its identity from files that another provider (here: the CLI) keeps fresh.
        cls.d_identity = os.path.join(cls.root, "d-id")
        rc, out, err = harness.cli("identity", "fetch", "--authority", cls.auth.url,
                                   "--bundle", cls.auth.bundle, "--token-file",
                                   cls.auth.token_file(sid("d")), "--out", cls.d_identity)
        if rc != 0:
            raise AssertionError(f"identity fetch for d failed: {out}{err}")
        mesh = "\n".join([
            f"trust_domain: {TD}", "services:",
            service_yaml("a", cls.backend["a"], cls.ports["a"],
                         calls=[f"{{ service: b, listen: \"127.0.0.1:{cls.b_listen}\" }}", "d"]),
            service_yaml("b", cls.backend["b"], cls.ports["b"]),
            service_yaml("c", c_port, cls.ports["c"]),
            service_yaml("d", cls.backend["d"], cls.ports["d"], identity_dir="d-id"), ""])
        cls.mesh = harness.write(os.path.join(cls.root, "mesh.yaml"), mesh)
        # The impostor's view of the mesh: "b" lives where c's sidecar really is.
        c_in = cls.ports["c"][0]
        x_in, x_out, x_admin = cls.ports["x"]
        host, port = cls.auth.host_port
        evil = "\n".join([
            f"trust_domain: {TD}", f"authority: {{ listen: \"{host}:{port}\" }}", "services:",
            service_yaml("a", cls.backend["a"], cls.ports["x"], calls=["b"]),
            f"  b:\n    port: {cls.backend['b']}\n"
            f"    sidecar: {{ inbound: \"127.0.0.1:{c_in}\" }}", ""])
        cls.evil_mesh = harness.write(os.path.join(cls.root, "mesh-evil.yaml"), evil)
        cls.sidecars = {n: Sidecar(cls, cls.auth, cls.mesh, n, cls.ports[n]) for n in "abc"}
        cls.sidecars["x"] = Sidecar(cls, cls.auth, cls.evil_mesh, "a", cls.ports["x"],
                                    authority_flag=False)
        cls.sidecars["d"] = Sidecar(cls, cls.auth, cls.mesh, "d", cls.ports["d"],
                                    join_token=False)
        for sidecar in cls.sidecars.values():
            sidecar.wait_ready()

    def fetch_svid(self, name):
        """An SVID for `name` fetched with the CLI into files; returns (dir, serial)."""
        out = os.path.join(self.auth.tmpdir("svid"), "id")
        rc, stdout, err = harness.cli("identity", "fetch", "--authority", self.auth.url,
                                      "--bundle", self.auth.bundle, "--token-file",
                                      self.auth.token_file(sid(name)), "--out", out)
        self.assertEqual(rc, 0, stdout + err)
        serial = [ln.split()[1] for ln in stdout.splitlines() if ln.strip().startswith("serial")]
        return out, serial[0]

    def b_inbound(self, svid_dir=None, **kwargs):
        cert = key = None
        if svid_dir:
            cert, key = os.path.join(svid_dir, "svid.pem"), os.path.join(svid_dir, "key.pem")
        return mtls_request(self.ports["b"][0], self.auth.bundle, cert, key, **kwargs)

    # --- the path that works ---------------------------------------------------------------
    def test_call_by_host_header_reaches_b_with_verified_peer_id(self):
        status, headers, body = http_request(self.ports["a"][1], "POST", "/hello?q=1",
                                             headers={"Host": "b"}, body=b"ping")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["service"], "b")
        self.assertEqual(body["path"], "/hello?q=1")
        self.assertEqual(body["body"], "ping")
        self.assertEqual(body["headers"]["x-bulwark-peer-id"], sid("a"))
        self.assertEqual(headers.get("X-Backend"), "b")
        self.assertNotIn("Keep-Alive", headers)

    def test_absolute_form_target_and_dedicated_listener(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.ports["a"][1], timeout=15)
        try:
            conn.request("GET", "http://b/abs?x=2")  # as sent to an HTTP proxy
            status, _, body = _read(conn.getresponse())
        finally:
            conn.close()
        self.assertEqual(status, 200, body)
        self.assertEqual((body["service"], body["path"]), ("b", "/abs?x=2"))
        status, _, body = http_request(self.b_listen, target="/fixed",
                                       headers={"Host": "whatever"})
        self.assertEqual(status, 200, body)
        self.assertEqual((body["service"], body["path"]), ("b", "/fixed"))
        self.assertEqual(body["headers"]["x-bulwark-peer-id"], sid("a"))

    def test_head_request_is_relayed(self):
        started = time.monotonic()
        status, _, body = http_request(self.ports["a"][1], "HEAD", "/", headers={"Host": "b"})
        self.assertEqual(status, 200, body)
        self.assertLess(time.monotonic() - started, 5)

    @unittest.skipUnless(shutil.which("curl"), "curl is not installed")
    def test_curl_uses_the_outbound_listener_as_http_proxy(self):
        rc, out, err = harness.run(["curl", "-sS", "--max-time", "10", "--noproxy", "",
                                    "--proxy", f"http://127.0.0.1:{self.ports['a'][1]}",
                                    "http://b/via-curl"])
        self.assertEqual(rc, 0, err)
        body = json.loads(out)
        self.assertEqual((body["service"], body["path"]), ("b", "/via-curl"))
        self.assertEqual(body["headers"]["x-bulwark-peer-id"], sid("a"))
        self.assertNotIn("proxy-connection", body["headers"])

    def test_admin_endpoints(self):
        for sidecar in self.sidecars.values():
            self.assertEqual(http_request(sidecar.admin, target="/healthz")[0], 200)
            status, _, body = http_request(sidecar.admin, target="/readyz")
            self.assertEqual(status, 200, body)

    def test_help_explains_every_option(self):
        rc, out, err = harness.cli("sidecar", "--help")
        self.assertEqual(rc, 0, err)
        for option in ["--config", "--service", "--authority", "--bundle", "--token-file",
                       "--token-fd", "--upstream-timeout", "--access-log"]:
            self.assertIn(option, out)

    # --- observability ---------------------------------------------------------------------
    def scrape(self, name):
        """The sidecar's /metrics as {series: value}, checking the content type."""
        status, headers, text = http_request(self.sidecars[name].admin, target="/metrics")
        self.assertEqual(status, 200, text)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers)
        series = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                series[key] = float(value)
        return series

    def access_lines(self, name, path, count):
        """The JSON lines of the sidecar's access log for `path`, waiting for `count`."""
        deadline = time.monotonic() + 10
        while True:
            with open(self.sidecars[name].access_log, encoding="utf-8") as f:
                lines = [json.loads(ln) for ln in f if ln.strip()]
            found = [ln for ln in lines if ln["path"] == path]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def test_metrics_and_access_log_count_requests(self):
        inbound = ('bulwark_sidecar_requests_total'
                   f'{{direction="inbound",peer="{sid("a")}",code="2xx"}}')
        outbound = 'bulwark_sidecar_requests_total{direction="outbound",peer="b",code="2xx"}'
        out_count = 'bulwark_sidecar_request_duration_seconds_count{direction="outbound"}'
        before_b, before_a = self.scrape("b"), self.scrape("a")
        path = f"/observed-{os.getpid()}"
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        for i in range(3):
            status, _, body = http_request(self.ports["a"][1], "POST", f"{path}?secret={i}",
                                           headers={"Host": "b", "traceparent":
                                                    f"00-{trace}-00f067aa0ba902b7-01"},
                                           body=b"ping")
            self.assertEqual(status, 200, body)
        after_b, after_a = self.scrape("b"), self.scrape("a")
        self.assertEqual(after_b[inbound] - before_b.get(inbound, 0), 3)
        self.assertEqual(after_a[outbound] - before_a.get(outbound, 0), 3)
        self.assertEqual(after_a[out_count] - before_a[out_count], 3)
        self.assertGreater(after_b["bulwark_sidecar_svid_expiry_seconds"], 0)
        self.assertLessEqual(after_b["bulwark_sidecar_svid_expiry_seconds"], SVID_TTL)
        self.assertEqual(after_b["bulwark_sidecar_access_log_dropped_total"], 0)
        for name, direction, peer in [("b", "inbound", sid("a")), ("a", "outbound", "b")]:
            lines = self.access_lines(name, path, 3)
            self.assertEqual(len(lines), 3, lines)
            for line in lines:
                self.assertEqual((line["direction"], line["peer"], line["method"], line["status"]),
                                 (direction, peer, "POST", 200))
                self.assertEqual(line["request_bytes"], 4)
                self.assertGreater(line["response_bytes"], 0)
                self.assertGreaterEqual(line["duration_ms"], 0)
                self.assertEqual(line["trace_id"], trace)
                self.assertRegex(line["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            with open(self.sidecars[name].access_log, encoding="utf-8") as f:
                self.assertNotIn("secret=", f.read())

    def test_upstream_connections_are_reused(self):
        opened = 'bulwark_sidecar_upstream_connections_opened_total{{direction="{}"}}'
        reused = 'bulwark_sidecar_upstream_connections_reused_total{{direction="{}"}}'
        before_a, before_b = self.scrape("a"), self.scrape("b")
        for i in range(20):  # a new client connection each time; the sidecars keep theirs
            status, _, body = http_request(self.ports["a"][1], target=f"/pooled/{i}",
                                           headers={"Host": "b"})
            self.assertEqual(status, 200, body)
        after_a, after_b = self.scrape("a"), self.scrape("b")

        def delta(after, before, key):
            return after[key] - before.get(key, 0)

        # a -> b over mTLS, and b -> its service: at most one new connection each (another
        # test may have left the pooled one to expire), every other request on a pooled one.
        self.assertLessEqual(delta(after_a, before_a, opened.format("outbound")), 1)
        self.assertGreaterEqual(delta(after_a, before_a, reused.format("outbound")), 19)
        self.assertLessEqual(delta(after_b, before_b, opened.format("inbound")), 1)
        self.assertGreaterEqual(delta(after_b, before_b, reused.format("inbound")), 19)
        # b's inbound holds a's pooled connection open; the admin listener counts this scrape.
        self.assertGreaterEqual(after_b['bulwark_sidecar_open_connections{listener="inbound"}'], 1)
        self.assertGreaterEqual(after_b['bulwark_sidecar_open_connections{listener="admin"}'], 1)

    # --- attacks ---------------------------------------------------------------------------
    def test_client_without_certificate_is_refused(self):
        key = 'bulwark_sidecar_tls_handshake_failures_total{reason="no_client_certificate"}'
        before = self.scrape("b")[key]
        why = refused(lambda: self.b_inbound())
        self.assertIsNotNone(why, "b's inbound answered a client without a certificate")
        self.assertNotIn("403", why, "refused only after the handshake: " + why)
        deadline = time.monotonic() + 3
        while self.scrape("b")[key] == before and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.scrape("b")[key], before + 1)

    def test_certificate_from_another_ca_is_refused(self):
        d = self.auth.tmpdir("rogue")
        ext = harness.write(os.path.join(d, "ext.cnf"),
                            "[leaf]\nbasicConstraints=critical,CA:FALSE\n"
                            "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
                            f"subjectAltName=URI:{sid('a')}\n")
        ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
        key, csr, cert = (os.path.join(d, n) for n in ("leaf.key", "leaf.csr", "leaf.pem"))
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        for argv in (["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca,
                      "-subj", "/CN=rogue", "-days", "1",
                      "-addext", f"subjectAltName=URI:spiffe://{TD}"],
                     ["openssl", "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=a"],
                     ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                      "-set_serial", "7", "-days", "1", "-extfile", ext, "-extensions", "leaf",
                      "-out", cert]):
            rc, out, err = harness.run(argv)
            self.assertEqual(rc, 0, err)
        why = refused(lambda: mtls_request(self.ports["b"][0], self.auth.bundle, cert, key))
        self.assertIsNotNone(why, "b's inbound accepted a certificate from another CA")
        self.assertNotIn("403", why, "refused only after the handshake: " + why)
        # The same client with a's real SVID is accepted: the refusal is about the CA.
        svid_dir, _ = self.fetch_svid("a")
        self.assertEqual(self.b_inbound(svid_dir)[0], 200)

    def test_forged_peer_id_is_replaced(self):
        forged = {"Host": "b", "X-Bulwark-Peer-Id": sid("admin"), "Connection": "X-Hop",
                  "X-Hop": "secret"}
        status, _, body = http_request(self.ports["a"][1], headers=forged)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["headers"]["x-bulwark-peer-id"], sid("a"))
        self.assertNotIn("x-hop", body["headers"])
        # Directly at b's inbound with a's own certificate: the claim is replaced too.
        svid_dir, _ = self.fetch_svid("a")
        status, _, body = self.b_inbound(svid_dir, headers={"X-Bulwark-Peer-Id": sid("c")})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["headers"]["x-bulwark-peer-id"], sid("a"))

    def test_service_not_in_calls_is_forbidden(self):
        status, _, body = http_request(self.ports["a"][1], headers={"Host": "c"})
        self.assertEqual(status, 403, body)
        self.assertIn("'c'", body["error_description"])

    def test_server_with_svid_of_another_service_is_refused(self):
        # The impostor's mesh sends calls for b to c's sidecar, which holds a valid SVID for c.
        status, _, body = http_request(self.ports["x"][1], target="/steal", headers={"Host": "b"})
        self.assertEqual(status, 502, body)
        self.assertEqual(body["error"], "bad_gateway")
        self.assertIn(f"is not {sid('b')}", body["error_description"])

    def test_backend_down_is_502(self):
        svid_dir, _ = self.fetch_svid("a")
        status, _, body = mtls_request(self.ports["c"][0], self.auth.bundle,
                                       os.path.join(svid_dir, "svid.pem"),
                                       os.path.join(svid_dir, "key.pem"))
        self.assertEqual(status, 502, body)
        self.assertIn("service 'c'", body["error_description"])

    def test_revoked_caller_certificate_is_refused(self):
        svid_dir, serial = self.fetch_svid("a")
        status, _, body = self.b_inbound(svid_dir)
        self.assertEqual(status, 200, body)
        rc, out, err = self.auth.admin("revoke", "--serial", serial)
        self.assertEqual(rc, 0, out + err)
        deadline = time.monotonic() + 5
        why = None
        while why is None and time.monotonic() < deadline:
            why = refused(lambda: self.b_inbound(svid_dir))
            time.sleep(0.1)
        self.assertIsNotNone(why, "b still accepts a revoked certificate after 5 s")
        self.assertIn("revoked", why)

    def test_open_connection_of_revoked_peer_is_closed(self):
        """A keep-alive mTLS connection of a workload is closed by b's sidecar soon after its
        certificate is revoked, without the client sending anything more."""
        svid_dir, serial = self.fetch_svid("a")
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.auth.bundle)
        ctx.check_hostname = False
        ctx.load_cert_chain(os.path.join(svid_dir, "svid.pem"), os.path.join(svid_dir, "key.pem"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.ports["b"][0], context=ctx,
                                           timeout=10)
        self.addCleanup(conn.close)
        conn.request("GET", "/before-revocation")
        status, _, body = _read(conn.getresponse())
        self.assertEqual(status, 200, body)
        rc, out, err = self.auth.admin("revoke", "--serial", serial)
        self.assertEqual(rc, 0, out + err)
        revoked_at = time.monotonic()
        conn.sock.settimeout(5)
        try:
            data = conn.sock.recv(1)
        except (ssl.SSLError, ConnectionError) as e:
            data = f"closed: {type(e).__name__}"
        except socket.timeout:
            self.fail("b kept the revoked peer's connection open for 5 s")
        elapsed = time.monotonic() - revoked_at
        self.assertFalse(isinstance(data, bytes) and data, f"b sent {data!r} instead of closing")
        self.assertLess(elapsed, 2.5, f"closed only after {elapsed:.2f} s")

    def test_identity_files_are_used_and_reloaded(self):
        svid_dir, _ = self.fetch_svid("a")
        status, _, body = http_request(self.ports["a"][1], headers={"Host": "d"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["service"], "d")
        self.assertEqual(body["headers"]["x-bulwark-peer-id"], sid("a"))
        first = peer_serial(self.ports["d"][0], self.auth.bundle, svid_dir)
        self.assertEqual(first, harness.x509(os.path.join(self.d_identity, "svid.pem"),
                                             "-serial").strip().split("=", 1)[1].upper())
        rc, out, err = harness.cli("identity", "renew", "--authority", self.auth.url,
                                   "--dir", self.d_identity)
        self.assertEqual(rc, 0, out + err)
        deadline = time.monotonic() + 5
        current = first
        while current == first and time.monotonic() < deadline:
            time.sleep(0.2)
            current = peer_serial(self.ports["d"][0], self.auth.bundle, svid_dir)
        self.assertNotEqual(current, first, "d's sidecar did not pick up the renewed files")
        status, _, body = http_request(self.ports["a"][1], headers={"Host": "d"})
        self.assertEqual(status, 200, body)

    def test_inbound_tls_follows_svid_rotation(self):
        """b's sidecar renews at ~half of the 60 s lifetime; new handshakes then present the
        new certificate, and calls keep working."""
        svid_dir, _ = self.fetch_svid("a")

        def serial():
            return peer_serial(self.ports["b"][0], self.auth.bundle, svid_dir)

        first = serial()
        deadline = time.monotonic() + SVID_TTL
        current = first
        while current == first and time.monotonic() < deadline:
            time.sleep(1)
            current = serial()
        self.assertNotEqual(current, first, "b's inbound kept presenting the first SVID")
        status, _, body = http_request(self.ports["a"][1], headers={"Host": "b"})
        self.assertEqual(status, 200, body)


if __name__ == "__main__":
    unittest.main()
