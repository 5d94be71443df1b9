"""Lifecycle of `bulwark sidecar`, both sidecars with `workers: 2`: connections are spread over
both workers (each with its own upstream pool); SIGHUP rereads mesh.yaml (a removed `calls`
entry is 403 from then on; a file that does not parse, or a listener change, is logged and the
old configuration stays) and reopens the access log (logrotate: rename, SIGHUP, no line lost);
SIGTERM drains (a slow request in flight completes, then the process exits 0). Loopback only; every process is stopped by its PID through class cleanups;
every wait is bounded. The tests run in name order: the last one stops b's sidecar."""

import json
import os
import signal
import threading
import time
import unittest

import harness
from harness import Authority
from test_sidecar import (EchoHandler, Sidecar, free_ports, http_request, service_yaml,
                          start_backend_server)

TD = harness.TRUST_DOMAIN
SLOW_SECONDS = 1.5
WORKERS = 2


class SlowHandler(EchoHandler):
    """EchoHandler that first sleeps SLOW_SECONDS for paths starting with /slow."""

    def _answer(self):
        if self.path.startswith("/slow"):
            time.sleep(SLOW_SECONDS)
        super()._answer()

    do_GET = do_POST = do_PUT = do_DELETE = _answer


class SidecarLifecycleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup).init().start()
        root = cls.auth.tmpdir("mesh")
        ports = free_ports(6)
        cls.ports = {"a": tuple(ports[0:3]), "b": tuple(ports[3:6])}
        cls.b_port = start_backend_server(cls.addClassCleanup, "b", SlowHandler).server_address[1]
        cls.mesh = os.path.join(root, "mesh.yaml")
        cls.write_mesh(calls=["b"])
        cls.sidecars = {n: Sidecar(cls, cls.auth, cls.mesh, n, cls.ports[n]) for n in "ab"}
        for sidecar in cls.sidecars.values():
            sidecar.wait_ready()

    @classmethod
    def write_mesh(cls, calls, a_ports=None, extra=""):
        text = "\n".join([f"trust_domain: {TD}", "services:",
                          service_yaml("a", 1, a_ports or cls.ports["a"], calls=calls,
                                       workers=WORKERS),
                          service_yaml("b", cls.b_port, cls.ports["b"], workers=WORKERS), extra])
        # Replaced in one rename, so a SIGHUP never sees half a file.
        tmp = cls.mesh + ".tmp"
        harness.write(tmp, text)
        os.replace(tmp, cls.mesh)

    def call_b(self, target="/x", timeout=15):
        return http_request(self.ports["a"][1], target=target, headers={"Host": "b"},
                            timeout=timeout)[0]

    def hangup_and_wait(self, sidecar, log_text, timeout=5):
        before = sidecar.log().count(log_text)
        os.kill(sidecar.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sidecar.log().count(log_text) > before:
                return
            time.sleep(0.05)
        self.fail(f"no '{log_text}' in the log after SIGHUP:\n{sidecar.log()}")

    @staticmethod
    def read_access_log(path):
        try:
            with open(path, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def wait_access_lines(self, path, prefix, count, timeout=10):
        """The lines of the access log file `path` whose path starts with `prefix`, waiting
        (bounded) for `count` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [ln for ln in self.read_access_log(path) if ln["path"].startswith(prefix)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def test_a0_connections_are_served_by_both_workers(self):
        # Each request is a new connection to a's outbound listener: they alternate between
        # a's two workers, and each worker opens its own pooled connection to b, so b's inbound
        # listener sees two connections and spreads them over its two workers too.
        count = 8
        for i in range(count):
            self.assertEqual(self.call_b(f"/spread/{i}"), 200)
        for name, direction in (("a", "outbound"), ("b", "inbound")):
            lines = self.wait_access_lines(self.sidecars[name].access_log, "/spread/", count)
            self.assertEqual(len(lines), count, lines)
            self.assertTrue(all(ln["direction"] == direction for ln in lines), lines)
            workers = sorted({ln["worker"] for ln in lines})
            self.assertEqual(workers, list(range(WORKERS)), f"{name}: {lines}")
        self.assertIn(f"{WORKERS} workers", self.sidecars["a"].log())

    def test_a1_sighup_reopens_the_access_log(self):
        a = self.sidecars["a"]
        rotated = a.access_log + ".1"
        self.addCleanup(lambda: os.path.exists(rotated) and os.remove(rotated))
        per_phase = 10
        for i in range(per_phase):
            self.assertEqual(self.call_b(f"/rotate/before/{i}"), 200)
        self.wait_access_lines(a.access_log, "/rotate/before/", per_phase)
        os.rename(a.access_log, rotated)  # what logrotate does first
        # Between the rename and the signal, lines still go to the file the sidecar has open.
        for i in range(per_phase):
            self.assertEqual(self.call_b(f"/rotate/between/{i}"), 200)
        self.wait_access_lines(rotated, "/rotate/between/", per_phase)
        self.hangup_and_wait(a, "sidecar: reloaded")
        for i in range(per_phase):
            self.assertEqual(self.call_b(f"/rotate/after/{i}"), 200)
        after = self.wait_access_lines(a.access_log, "/rotate/after/", per_phase)
        old = self.read_access_log(rotated)
        self.assertEqual(sorted(ln["path"] for ln in after),
                         sorted(f"/rotate/after/{i}" for i in range(per_phase)))
        old_paths = sorted(ln["path"] for ln in old if ln["path"].startswith("/rotate/"))
        self.assertEqual(old_paths, sorted([f"/rotate/before/{i}" for i in range(per_phase)] +
                                           [f"/rotate/between/{i}" for i in range(per_phase)]))
        self.assertNotIn("/rotate/after/", json.dumps(old))
        self.assertIsNone(a.proc.poll())

    def test_a_sighup_reloads_calls(self):
        a = self.sidecars["a"]
        self.addCleanup(self.write_mesh, ["b"])
        self.assertEqual(self.call_b(), 200)
        # A file that does not parse: logged with its position, the old configuration stays.
        harness.write(self.mesh, harness.read(self.mesh) + "  oops: [unclosed\n")
        self.hangup_and_wait(a, "reload failed")
        self.assertRegex(a.log(), r"mesh\.yaml:\d+:\d+:")
        self.assertEqual(self.call_b(), 200)
        # A listener change needs a restart: refused, the old configuration stays.
        moved = (self.ports["a"][0], free_ports(1)[0], self.ports["a"][2])
        self.write_mesh(calls=[], a_ports=moved)
        self.hangup_and_wait(a, "reload refused")
        self.assertIn("services.a.sidecar.outbound changed", a.log())
        self.assertEqual(self.call_b(), 200)
        # b removed from a's calls: 403 from the next request on, without a restart.
        self.write_mesh(calls=[])
        self.hangup_and_wait(a, "sidecar: reloaded")
        status, _, body = http_request(self.ports["a"][1], headers={"Host": "b"})
        self.assertEqual(status, 403, body)
        self.assertIn("not in services.a.calls", body["error_description"])
        # And back.
        self.write_mesh(calls=["b"])
        self.hangup_and_wait(a, "sidecar: reloaded")
        self.assertEqual(self.call_b(), 200)
        self.assertIsNone(a.proc.poll())

    def test_b_sigterm_drains_requests_in_flight(self):
        b = self.sidecars["b"]
        self.assertEqual(self.call_b(), 200)  # a now holds an idle pooled connection to b
        result = {}

        def slow():
            try:
                result["status"] = self.call_b("/slow-in-flight")
            except OSError as e:
                result["error"] = repr(e)

        thread = threading.Thread(target=slow, daemon=True)
        thread.start()
        time.sleep(0.5)  # the request is at the backend now
        signalled = time.monotonic()
        os.kill(b.proc.pid, signal.SIGTERM)
        thread.join(10)
        self.assertEqual(result, {"status": 200}, b.log())
        rc = b.proc.wait(timeout=10)
        self.assertEqual(rc, 0, b.log())
        self.assertLess(time.monotonic() - signalled, SLOW_SECONDS + 3)
        self.assertIn("draining", b.log())
        # b is gone: a answers 502 rather than hanging.
        status = self.call_b(timeout=15)
        self.assertEqual(status, 502)


if __name__ == "__main__":
    unittest.main()
