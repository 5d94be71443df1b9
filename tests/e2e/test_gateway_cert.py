"""End-to-end tests of the gateway's authority-issued certificate (gateway.tls not set,
docs/gateway.md#certificate): a real authority (`--gateway-cert-ttl 6s`, `--config` the same
mesh.yaml), the gateway (SVID from a join token), one sidecar and a Python backend. Checked: the
certificate served chains to the authority's bundle (openssl verify) and carries exactly the
names derived from gateway.listen and gateway.public_url; it is renewed at half-life and new
connections get the new one while an open one keeps working; only the gateway's SVID may ask for
it (a service's SVID gets 403, no client certificate 401), and names outside the mesh's, or a
wildcard, are refused. Loopback only; every process is stopped by PID through cleanups; every
loop is bounded."""

import http.client
import os
import socket
import ssl
import subprocess
import time
import unittest

import harness
from harness import Authority, free_ports
from test_gateway import Gateway
from test_sidecar import Sidecar, _read, service_yaml, start_backend

TD = harness.TRUST_DOMAIN
GATEWAY_ID = f"spiffe://{TD}/gateway"
CERT_TTL = 6  # seconds: renewed every ~3 s


class GatewayCertificateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup).init()
        root = cls.auth.tmpdir("mesh")
        backend_port = start_backend(cls.addClassCleanup, "api")
        ports = free_ports(5)
        cls.public, gateway_admin, sidecar_ports = ports[0], ports[1], tuple(ports[2:5])
        cls.mesh = harness.write(os.path.join(root, "mesh.yaml"), "\n".join([
            f"trust_domain: {TD}",
            "gateway:",
            f"  listen: \"127.0.0.1:{cls.public}\"",
            f"  public_url: \"https://localhost:{cls.public}\"",
            "  routes:",
            "    - { prefix: /public, service: api, auth: [none] }",
            "services:",
            service_yaml("api", backend_port, sidecar_ports,
                         allow=("{ from: gateway }",)),
            ""]))
        cls.auth.start(("--gateway-cert-ttl", f"{CERT_TTL}s", "--config", cls.mesh))
        Sidecar(cls, cls.auth, cls.mesh, "api", sidecar_ports).wait_ready()
        cls.gateway = Gateway(cls, cls.auth, cls.mesh, gateway_admin).wait_ready()
        # The sidecar may learn the gateway's delegated key only from the first token naming it
        # (docs/gateway.md#transaction-tokens): wait for a first 200, bounded.
        statuses = []
        deadline = time.monotonic() + 15
        while statuses[-1:] != [200] and time.monotonic() < deadline:
            conn = http.client.HTTPSConnection("localhost", cls.public,
                                               context=cls.context(), timeout=15)
            try:
                statuses.append(cls.get(conn)[0])
            finally:
                conn.close()
            time.sleep(0.1)
        assert statuses[-1:] == [200], (statuses, cls.gateway.log())

    # --- helpers -------------------------------------------------------------------------
    @classmethod
    def context(cls):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cls.auth.bundle)
        ctx.check_hostname = True
        return ctx

    def served_chain(self):
        """The chain the gateway sends on a new connection (openssl s_client -showcerts)."""
        done = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{self.public}", "-servername",
             "localhost", "-showcerts"], input=b"", capture_output=True, timeout=30)
        text = done.stdout.decode(errors="replace")
        certs = harness.split_pem(text)
        self.assertGreaterEqual(len(certs), 2, text + done.stderr.decode(errors="replace"))
        return "".join(certs)

    def serial(self):
        path = harness.write(os.path.join(self.auth.tmpdir("served"), "chain.pem"),
                             self.served_chain())
        return harness.serial_int(path)

    @staticmethod
    def get(conn, target="/public/x"):
        conn.request("GET", target)
        return _read(conn.getresponse())

    # --- tests ---------------------------------------------------------------------------
    def test_served_certificate_chains_to_the_bundle_with_the_derived_names(self):
        path = harness.write(os.path.join(self.auth.tmpdir("served"), "chain.pem"),
                             self.served_chain())
        rc, out, err = harness.openssl_verify(self.auth.bundle, path)
        self.assertEqual(rc, 0, out + err)
        sans = harness.x509(path, "-ext", "subjectAltName").splitlines()[1].strip()
        self.assertEqual(sorted(s.strip() for s in sans.split(",")),
                         sorted(["DNS:localhost", "IP Address:127.0.0.1", f"URI:{GATEWAY_ID}"]))
        life = harness.not_after(path) - int(time.time())
        self.assertLessEqual(life, CERT_TTL + 1)
        # A verifying client (the bundle as its only trust, host names checked) gets through
        # under both names and reaches the backend.
        for host in ("localhost", "127.0.0.1"):
            conn = http.client.HTTPSConnection(host, self.public, context=self.context(),
                                               timeout=15)
            try:
                status, _, body = self.get(conn)
                self.assertEqual(status, 200, body)
            finally:
                conn.close()
        # A name the certificate is not for fails the client's host name check.
        with socket.create_connection(("127.0.0.1", self.public), timeout=10) as sock:
            with self.assertRaises(ssl.SSLCertVerificationError):
                self.context().wrap_socket(sock, server_hostname="evil.example")

    def test_certificate_is_renewed_and_new_connections_get_the_new_one(self):
        first = self.serial()
        kept = http.client.HTTPSConnection("localhost", self.public, context=self.context(),
                                           timeout=15)
        self.addCleanup(kept.close)
        self.assertEqual(self.get(kept)[0], 200)
        renewed = first
        deadline = time.monotonic() + 3 * CERT_TTL
        while renewed == first and time.monotonic() < deadline:
            time.sleep(0.5)
            renewed = self.serial()
        self.assertNotEqual(renewed, first, self.gateway.log())
        self.assertIn("TLS certificate renewed", self.gateway.log())
        status, _, body = self.get(kept)  # the connection opened before keeps working
        self.assertEqual(status, 200, body)
        kinds = [s["kind"] for s in self.auth.svids() if s["spiffe_id"] == GATEWAY_ID]
        self.assertGreaterEqual(kinds.count("gateway-tls"), 2, kinds)

    def post_certificate(self, identity, dns=("localhost",), ips=("127.0.0.1",)):
        csr, _, _ = harness.make_csr(self.auth.tmpdir("csr"))
        cert, key = identity if identity else (None, None)
        return self.auth.post("/v1/gateway/certificate",
                              {"csr": csr, "dns": list(dns), "ips": list(ips)}, cert=cert,
                              key=key)

    def test_only_the_gateway_identity_gets_a_certificate(self):
        service = self.auth.fetch_identity(f"spiffe://{TD}/svc/api")
        status, body = self.post_certificate(service)
        self.assertEqual(status, 403, body)
        self.assertIn("only the gateway", body["error_description"])
        status, body = self.post_certificate(None)
        self.assertEqual(status, 401, body)
        gateway = self.auth.fetch_identity(GATEWAY_ID)
        for dns, ips in ((["*.localhost"], []), (["bank.example.com"], ["127.0.0.1"]),
                         ([], ["0.0.0.0"]), ([], ["10.1.2.3"]), ([], [])):
            status, body = self.post_certificate(gateway, dns, ips)
            self.assertEqual(status, 400, (dns, ips, body))
        status, body = self.post_certificate(gateway)
        self.assertEqual(status, 200, body)
        self.assertIn("BEGIN CERTIFICATE", body["cert_pem"])


if __name__ == "__main__":
    unittest.main()
