"""Attacks on `bulwark sidecar` itself: old TLS versions and weak cipher suites at the inbound
listener (Python's ssl and the openssl CLI), request smuggling and oversized headers over
mutual TLS, and slow clients (slowloris) against the header and handshake timeouts, which this
mesh.yaml shortens (sidecar.timeouts). A recording backend shows what reached the service.
Loopback only; every process is stopped by its PID through class cleanups; every wait is
bounded."""

import os
import shutil
import socket
import ssl
import time
import unittest

import harness
from harness import Authority
from test_sidecar import (EchoHandler, Sidecar, free_ports, http_request, sid,
                          start_backend_server)

TD = harness.TRUST_DOMAIN
HEADER_TIMEOUT = 1  # seconds: sidecar.timeouts.header of b
HANDSHAKE_TIMEOUT = 2  # seconds: sidecar.timeouts.handshake of b


class RecordingHandler(EchoHandler):
    """EchoHandler that also records (method, path) of every request it is given."""

    def _answer(self):
        self.server.seen.append((self.command, self.path))
        super()._answer()

    do_GET = do_POST = do_PUT = do_DELETE = _answer


class SidecarAttackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup).init().start()
        cls.root = cls.auth.tmpdir("mesh")
        ports = free_ports(6)
        cls.ports = {"a": tuple(ports[0:3]), "b": tuple(ports[3:6])}
        cls.backend = start_backend_server(cls.addClassCleanup, "b", RecordingHandler)
        a_in, a_out, a_admin = cls.ports["a"]
        b_in, b_out, b_admin = cls.ports["b"]
        mesh = "\n".join([
            f"trust_domain: {TD}", "services:",
            "  a:", "    port: 1", "    calls: [b]",
            f"    sidecar: {{ inbound: \"127.0.0.1:{a_in}\", outbound: \"127.0.0.1:{a_out}\", "
            f"admin: \"127.0.0.1:{a_admin}\" }}",
            "  b:", f"    port: {cls.backend.server_address[1]}", "    allow: [{ from: a }]",
            "    sidecar:",
            f"      inbound: \"127.0.0.1:{b_in}\"",
            f"      outbound: \"127.0.0.1:{b_out}\"",
            f"      admin: \"127.0.0.1:{b_admin}\"",
            f"      timeouts: {{ header: {HEADER_TIMEOUT}s, handshake: {HANDSHAKE_TIMEOUT}s }}",
            ""])
        cls.mesh = harness.write(os.path.join(cls.root, "mesh.yaml"), mesh)
        cls.sidecars = {n: Sidecar(cls, cls.auth, cls.mesh, n, cls.ports[n]) for n in "ab"}
        for sidecar in cls.sidecars.values():
            sidecar.wait_ready()
        # A workload certificate for a, as a's own sidecar would present it.
        cls.svid_dir = os.path.join(cls.auth.tmpdir("svid"), "id")
        rc, out, err = harness.cli("identity", "fetch", "--authority", cls.auth.url,
                                   "--bundle", cls.auth.bundle, "--token-file",
                                   cls.auth.token_file(sid("a")), "--out", cls.svid_dir)
        if rc != 0:
            raise AssertionError(f"identity fetch failed: {out}{err}")
        cls.cert = os.path.join(cls.svid_dir, "svid.pem")
        cls.key = os.path.join(cls.svid_dir, "key.pem")

    # --- helpers ---------------------------------------------------------------------------
    def context(self, **versions):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.auth.bundle)
        ctx.check_hostname = False
        ctx.load_cert_chain(self.cert, self.key)
        for name, value in versions.items():
            setattr(ctx, name, value)
        return ctx

    def tls_connect(self, ctx=None):
        """An mTLS connection to b's inbound with a's certificate; closed by the test cleanup."""
        raw = socket.create_connection(("127.0.0.1", self.ports["b"][0]), timeout=10)
        tls = (ctx or self.context()).wrap_socket(raw)
        self.addCleanup(tls.close)
        return tls

    def read_all(self, sock, timeout=5):
        """Reads until the peer closes (returns (data, True)) or `timeout` (data, False)."""
        sock.settimeout(0.2)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except (ssl.SSLError, ConnectionError):
                return data, True
            if not chunk:
                return data, True
            data += chunk
        return data, False

    def failures(self):
        """b's inbound TLS handshake failures by reason, from /metrics."""
        status, _, text = http_request(self.ports["b"][2], target="/metrics")
        self.assertEqual(status, 200)
        out = {}
        prefix = 'bulwark_sidecar_tls_handshake_failures_total{reason="'
        for line in text.splitlines():
            if line.startswith(prefix):
                reason, value = line[len(prefix):].split('"} ')
                out[reason] = float(value)
        return out

    def wait_failure(self, before, reason):
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if self.failures().get(reason, 0) > before.get(reason, 0):
                return
            time.sleep(0.05)
        self.fail(f"no '{reason}' handshake failure counted: {self.failures()}")

    # --- TLS ---------------------------------------------------------------------------------
    def test_control_a_valid_tls13_client_is_served(self):
        tls = self.tls_connect()
        self.assertEqual(tls.version(), "TLSv1.3")
        tls.sendall(b"GET /control HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
        data, _ = self.read_all(tls)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])

    def test_tls12_client_is_refused(self):
        before = self.failures()
        ctx = self.context(maximum_version=ssl.TLSVersion.TLSv1_2)
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            self.tls_connect(ctx)
        self.wait_failure(before, "protocol_version")

    @unittest.skipUnless(shutil.which("openssl"), "openssl is not installed")
    def test_weak_cipher_suites_are_refused(self):
        base = ["openssl", "s_client", "-connect", f"127.0.0.1:{self.ports['b'][0]}",
                "-CAfile", self.auth.bundle, "-cert", self.cert, "-key", self.key]
        attempts = [
            # TLS 1.3 with only the 8-byte-tag CCM suite, which the sidecar does not enable.
            ["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_8_SHA256"],
            # TLS 1.2 with CBC and non-forward-secret suites.
            ["-tls1_2", "-cipher", "AES128-SHA:DES-CBC3-SHA:@SECLEVEL=0"],
        ]
        for extra in attempts:
            before = self.failures()
            rc, out, err = harness.run(base + extra, input_text="GET / HTTP/1.1\r\n\r\n",
                                       timeout=15)
            self.assertNotEqual(rc, 0, f"{extra}: handshake succeeded:\n{out}")
            self.assertNotIn("HTTP/1.1", out)
            reason = "no_shared_cipher" if "-tls1_3" in extra else "protocol_version"
            self.wait_failure(before, reason)

    # --- HTTP ---------------------------------------------------------------------------------
    def test_content_length_with_transfer_encoding_is_400_and_nothing_is_smuggled(self):
        tls = self.tls_connect()
        marker = f"/smuggled-{os.getpid()}"
        tls.sendall(b"POST /front HTTP/1.1\r\nHost: b\r\nContent-Length: 6\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                    + f"GET {marker} HTTP/1.1\r\nHost: b\r\n\r\n".encode())
        data, closed = self.read_all(tls)
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:200])
        self.assertEqual(data.count(b"HTTP/1.1 "), 1, data)
        self.assertTrue(closed, "the connection stayed open after a smuggling attempt")
        time.sleep(0.2)
        paths = [p for _, p in self.backend.seen]
        self.assertNotIn(marker, paths)
        self.assertNotIn("/front", paths)

    def test_conflicting_content_lengths_are_400(self):
        tls = self.tls_connect()
        tls.sendall(b"POST /cl HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n"
                    b"Content-Length: 30\r\n\r\nabc")
        data, closed = self.read_all(tls)
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:200])
        self.assertTrue(closed)
        time.sleep(0.2)
        self.assertNotIn("/cl", [p for _, p in self.backend.seen])

    def test_oversized_headers_are_431(self):
        tls = self.tls_connect()
        tls.sendall(b"GET /big HTTP/1.1\r\nHost: b\r\nX-Big: " + b"a" * (20 * 1024)
                    + b"\r\n\r\n")
        data, closed = self.read_all(tls)
        self.assertTrue(data.startswith(b"HTTP/1.1 431"), data[:200])
        self.assertTrue(closed)
        self.assertNotIn("/big", [p for _, p in self.backend.seen])

    def test_headers_sent_slowly_are_cut_off_after_the_header_timeout(self):
        tls = self.tls_connect()
        tls.sendall(b"GET /slow HTTP/1.1\r\n")
        started = time.monotonic()
        closed_at = None
        tls.settimeout(0.3)
        for i in range(40):  # one header line every 0.3 s: never a complete head
            try:
                tls.sendall(f"X-Slow-{i}: x\r\n".encode())
                if tls.recv(1) == b"":
                    closed_at = time.monotonic()
                    break
            except socket.timeout:
                continue
            except (ssl.SSLError, ConnectionError, BrokenPipeError):
                closed_at = time.monotonic()
                break
        self.assertIsNotNone(closed_at, "a slowloris client kept its connection for 12 s")
        self.assertLess(closed_at - started, HEADER_TIMEOUT + 1.5)
        self.assertGreaterEqual(closed_at - started, HEADER_TIMEOUT - 0.2)
        self.assertNotIn("/slow", [p for _, p in self.backend.seen])

    def test_silent_tcp_client_is_closed_after_the_handshake_timeout(self):
        before = self.failures()
        raw = socket.create_connection(("127.0.0.1", self.ports["b"][0]), timeout=10)
        self.addCleanup(raw.close)
        started = time.monotonic()
        raw.settimeout(HANDSHAKE_TIMEOUT + 3)
        try:
            data = raw.recv(1)
        except ConnectionError:
            data = b""
        self.assertEqual(data, b"")
        self.assertLess(time.monotonic() - started, HANDSHAKE_TIMEOUT + 1.5)
        self.assertGreaterEqual(time.monotonic() - started, HANDSHAKE_TIMEOUT - 0.2)
        self.wait_failure(before, "timeout")


if __name__ == "__main__":
    unittest.main()
