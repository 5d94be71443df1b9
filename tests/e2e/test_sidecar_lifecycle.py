"""Lifecycle of `bulwark sidecar`: SIGHUP rereads mesh.yaml (a removed `calls` entry is 403
from then on; a file that does not parse, or a listener change, is logged and the old
configuration stays), and SIGTERM drains (a slow request in flight completes, then the
process exits 0). Loopback only; every process is stopped by its PID through class cleanups;
every wait is bounded. The tests run in name order: the last one stops b's sidecar."""

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
                          service_yaml("a", 1, a_ports or cls.ports["a"], calls=calls),
                          service_yaml("b", cls.b_port, cls.ports["b"]), extra])
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
