"""Rotation under load: an authority issuing SVIDs that live 4 s (so each sidecar renews about
every 2 s), two sidecars (a calls b) and a backend; several client threads send thousands of
requests through a's outbound listener, over keep-alive and new connections, for long enough
to span several rotations of both sidecars. Not one request may fail. Bounded in count and
time; loopback only; every process is stopped by its PID through class cleanups."""

import http.client
import os
import random
import threading
import time
import unittest

import harness
from harness import Authority
from test_sidecar import Sidecar, free_ports, service_yaml, sid, start_backend

TD = harness.TRUST_DOMAIN
SVID_TTL = 4  # seconds
THREADS = 4
MIN_SECONDS = 12  # at least ~5 renewals of each sidecar
MAX_SECONDS = 60
MIN_REQUESTS = 3000
MAX_REQUESTS = 60000


class RotationUnderLoadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup,
                             serve_args=("--svid-ttl", f"{SVID_TTL}s")).init().start()
        root = cls.auth.tmpdir("mesh")
        ports = free_ports(6)
        cls.ports = {"a": tuple(ports[0:3]), "b": tuple(ports[3:6])}
        backend = start_backend(cls.addClassCleanup, "b")
        mesh = "\n".join([f"trust_domain: {TD}", "services:",
                          service_yaml("a", 1, cls.ports["a"], calls=["b"]),
                          service_yaml("b", backend, cls.ports["b"]), ""])
        cls.mesh = harness.write(os.path.join(root, "mesh.yaml"), mesh)
        cls.sidecars = {n: Sidecar(cls, cls.auth, cls.mesh, n, cls.ports[n]) for n in "ab"}
        for sidecar in cls.sidecars.values():
            sidecar.wait_ready()

    def test_no_request_fails_across_rotations(self):
        lock = threading.Lock()
        counts = {"ok": 0, "sent": 0}
        failures = []
        started = time.monotonic()
        stop_at = started + MAX_SECONDS

        def more():
            with lock:
                if counts["sent"] >= MAX_REQUESTS or time.monotonic() > stop_at:
                    return False
                if counts["sent"] >= MIN_REQUESTS and time.monotonic() - started > MIN_SECONDS:
                    return False
                counts["sent"] += 1
                return True

        def client(seed):
            rng = random.Random(seed)
            while True:
                # A new connection, used for 1 to 30 requests (1: a connection per request).
                conn = http.client.HTTPConnection("127.0.0.1", self.ports["a"][1], timeout=15)
                try:
                    for _ in range(rng.choice([1, 5, 30])):
                        if not more():
                            return
                        method = rng.choice(["GET", "POST"])
                        body = b"x" * rng.randint(0, 2048) if method == "POST" else None
                        try:
                            conn.request(method, f"/load/{seed}", body=body, headers={"Host": "b"})
                            response = conn.getresponse()
                            data = response.read()
                        except (OSError, http.client.HTTPException) as e:
                            with lock:
                                failures.append(f"{method}: {type(e).__name__}: {e}")
                            break
                        with lock:
                            if response.status == 200:
                                counts["ok"] += 1
                            else:
                                failures.append(f"{method}: {response.status} {data[:300]!r}")
                finally:
                    conn.close()

        threads = [threading.Thread(target=client, args=(i,), daemon=True)
                   for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(MAX_SECONDS + 30)
        elapsed = time.monotonic() - started
        self.assertFalse(any(t.is_alive() for t in threads), "a client thread hung")
        self.assertEqual(failures[:10], [], f"{len(failures)} of {counts['sent']} failed")
        self.assertGreaterEqual(counts["ok"], MIN_REQUESTS)
        # The load spanned several renewals of both sidecars' SVIDs.
        for name in "ab":
            issued = len(self.auth.workload_svids(sid(name)))
            self.assertGreaterEqual(issued, 4, f"{name}: only {issued} SVIDs in {elapsed:.1f} s")
        print(f"\nrotation under load: {counts['ok']} requests in {elapsed:.1f} s "
              f"({counts['ok'] / elapsed:.0f}/s), SVIDs issued: "
              f"a={len(self.auth.workload_svids(sid('a')))} "
              f"b={len(self.auth.workload_svids(sid('b')))}")


if __name__ == "__main__":
    unittest.main()
