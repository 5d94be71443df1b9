"""Tests of the gateway benchmark's own logic (bench/gateway/run.py): the HAProxy peer really
checks the bearer token (a live HAProxy with the bench's configuration in front of a Python
backend: the valid token passes, forged, expired and foreign ones are refused), and the report
shows a failed variant as failed and keeps it out of the ratios. The benchmark itself runs by
hand (bench/run gateway), not here.

Python 3 stdlib only; certificates and keys are made with the openssl CLI; loopback only; the
HAProxy process is stopped by its PID in a cleanup."""

import http.server
import json
import os
import shutil
import tempfile
import threading
import time
import unittest

import run

sb = run.sb


class Backend(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.seen += 1
        data = sb.BODY.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@unittest.skipIf(shutil.which("haproxy") is None, "haproxy is not installed")
class HaproxyJwtTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(tmp.cleanup)
        d = tmp.name
        cls.ca, _, _, combined = run.make_public_cert(d)
        cls.idp = sb.es256.Es256Key(d, "idp")
        cls.attacker = sb.es256.Es256Key(d, "attacker")
        public_key = os.path.join(d, "idp-public.pem")
        sb.run_cli(["openssl", "pkey", "-in", cls.idp.path, "-pubout", "-out", public_key])
        cls.backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Backend)
        cls.backend.seen = 0
        cls.backend.daemon_threads = True
        threading.Thread(target=cls.backend.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()
        cls.addClassCleanup(cls.backend.server_close)
        cls.addClassCleanup(cls.backend.shutdown)
        (cls.port,) = sb.harness.free_ports(1)
        cfg = sb.haproxy_conf(d, "haproxy", 1, run.haproxy_frontend(
            cls.port, combined, public_key, cls.backend.server_address[1]))
        run.check_haproxy_config(cfg)
        processes = sb.Processes(d)
        cls.addClassCleanup(processes.stop_all)
        process = processes.start("haproxy", ["haproxy", "-db", "-f", cfg], "haproxy")
        sb.wait_until("haproxy", lambda: run.public_get(cls.port, cls.ca)[0] == 401, [process])

    def claims(self, **changes):
        now = int(time.time())
        c = {"iss": sb.IDP, "aud": sb.API, "sub": "u", "iat": now, "exp": now + 300}
        c.update(changes)
        return c

    def status(self, token):
        before = self.backend.seen
        status, body, version = run.public_get(self.port, self.ca, token)
        self.assertEqual(version, "TLSv1.3")
        return status, self.backend.seen - before, body

    def test_the_bench_token_passes(self):
        self.assertEqual(self.status(run.bearer_token(self.idp)), (200, 1, sb.BODY))

    def test_forged_expired_and_foreign_tokens_are_refused(self):
        now = int(time.time())
        header = sb.es256.b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        payload = sb.es256.b64url(json.dumps(self.claims()).encode())
        cases = {
            "none": None,
            "tampered": run.tampered(run.bearer_token(self.idp)),
            "another key": self.attacker.sign(self.claims()),
            "alg none": f"{header}.{payload}.",
            "expired": self.idp.sign(self.claims(iat=now - 600, exp=now - 10)),
            "wrong aud": self.idp.sign(self.claims(aud="api://other")),
            "wrong iss": self.idp.sign(self.claims(iss="https://evil.test")),
        }
        for name, token in cases.items():
            with self.subTest(name=name):
                status, seen, _ = self.status(token)
                self.assertEqual((status, seen), (401, 0))


class MeshTest(unittest.TestCase):
    def test_the_bearer_route_has_a_rate_limit_and_reaches_b_through_its_sidecar(self):
        certs = sb.Certificates("/certs")
        text = run.gateway_mesh(8443, "c.pem", "k.pem", "/j.json", 9000, (1, 2, 3), certs, 2)
        self.assertIn("auth: [bearer]", text)
        self.assertIn("rate_limit: { per_principal: 1000000/s, per_address: 1000000/s }", text)
        self.assertIn(f'issuer: "{sb.IDP}", jwks: "file:/j.json"', text)
        self.assertIn("sidecar: { inbound: 127.0.0.1:1, outbound: 127.0.0.1:2, "
                      "admin: 127.0.0.1:3, workers: 2 }", text)


class ReportTest(unittest.TestCase):
    ENV = {"date": "d", "system": "s", "versions": "v", "cpus": 2, "load_before": "0",
           "load_after": "0", "tls": {}}

    def test_failed_variant_is_reported_as_failed_and_left_out_of_ratios(self):
        args = run.parse_args(["--workers", "1", "--connections", "16"])
        ours = {"rps": 3000.0, "p50_ms": 1.0, "p99_ms": 4.0, "errors": 0,
                "rss_kib": {"gateway": 10240, "sidecar": 10240},
                "cpu_us_per_request": {"gateway": 100.0, "sidecar": 50.0}}
        nginx = {"rps": 2000.0, "p50_ms": 2.0, "p99_ms": 2.0, "errors": 2,
                 "rss_kib": {"proxy": 10240}, "cpu_us_per_request": {"proxy": 75.0}}
        results = {(1, 16): {"bulwark": ours, "nginx": nginx,
                             "haproxy": {"failed": "start: boom"}}}
        text = run.report(results, args, self.ENV)
        self.assertIn("| 16 | 1 | haproxy (TLS + jwt_verify) | FAILED: start: boom |", text)
        self.assertIn("| 16 | 1 | bulwark (gateway + sidecar, bearer JWT, rate limit, Txn-Token,"
                      " mTLS) | 3000 | 1.00 | 4.00 | 20.0 (gateway 10.0 + sidecar 10.0) | 150 (gateway 100 +"
                      " sidecar 50) | 0 |", text)
        self.assertIn("| 16 | 1 | nginx (TLS termination only) | 2000 | 2.00 | 2.00 | 10.0 | 75 |",
                      text)
        self.assertIn("| **2** |", text)
        ratios = text.split("bulwark / peer")[1]
        self.assertIn("| 16 | 1 | nginx | 1.50 | 0.50 | 2.00 | 2.00 | 2.00 |", ratios)
        self.assertNotIn("haproxy", ratios)

    def test_bounded_durations(self):
        for bad in (["--duration", "0"], ["--duration", "601"], ["--warmup", "61"]):
            with self.subTest(argv=bad), self.assertRaises(SystemExit):
                run.parse_args(bad)


if __name__ == "__main__":
    unittest.main()
