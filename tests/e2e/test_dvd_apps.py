"""The DVD rental example services (examples/dvd-rental/) on their own, without bulwark: each
service runs as a real process on loopback, and a small Host-routing proxy stands in for the
sidecars' outbound listener, so that what the services do with a request is tested apart from
what bulwark does to it (that is tests/scenarios/). Transaction tokens here are unsigned: the
services never verify them, their sidecars do."""

import base64
import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import unittest

from harness import free_ports, stop_process

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
APPS = os.path.join(ROOT, "examples", "dvd-rental")
SERVICES = ["contract", "user", "dvd", "queue", "frontend"]


def txn_token(sub):
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{b64({'alg': 'ES256', 'typ': 'txntoken+jwt'})}.{b64({'sub': sub})}.c2ln"


def request(port, method, path, body=None, headers=None, host="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    all_headers = {"Host": host, **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


class HostRouter(http.server.ThreadingHTTPServer):
    """Forwards each request to the service its Host header names, and records what it saw."""

    def __init__(self, address, ports):
        self.ports = ports
        self.seen = []  # (host, method, path, txn token)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self):
                host = self.headers.get("Host", "")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                self.server.seen.append((host, self.command, self.path,
                                         self.headers.get("Txn-Token")))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                upstream = http.client.HTTPConnection("127.0.0.1", self.server.ports[host],
                                                      timeout=10)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    status, data = response.status, response.read()
                except OSError:  # the service is not up yet
                    status, data = 502, b"{}"
                finally:
                    upstream.close()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

            def log_message(self, *args):
                pass

        super().__init__(address, Handler)


class DvdAppsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ports = free_ports(len(SERVICES) + 1)
        cls.ports = dict(zip(SERVICES, ports))
        cls.router = HostRouter(("127.0.0.1", ports[-1]), cls.ports)
        threading.Thread(target=cls.router.serve_forever, daemon=True).start()
        cls.procs = []
        try:
            for name in SERVICES:
                env = dict(os.environ, PORT=str(cls.ports[name]),
                           BULWARK_OUTBOUND=f"127.0.0.1:{ports[-1]}")
                cls.procs.append(subprocess.Popen(
                    [sys.executable, os.path.join(APPS, f"{name}.py")], env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
            for proc in cls.procs:
                line = proc.stdout.readline()
                if "listening" not in line:
                    raise RuntimeError(f"a service did not start: {line!r}")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for proc in cls.procs:
            stop_process(proc)
        cls.router.shutdown()
        cls.router.server_close()

    def contract(self, method, path, user=None, body=None):
        headers = {"Txn-Token": txn_token(user)} if user else {}
        return request(self.ports["contract"], method, path, body, headers)

    def test_renting_reserves_charges_and_ships_for_the_token_user(self):
        first_call = len(self.router.seen)
        status, rental = self.contract("POST", "/rentals", "alice", {"dvd": "1"})
        self.assertEqual(status, 201, rental)
        self.assertEqual((rental["user"], rental["price"], rental["shipping"]), ("alice", 4, "queued"))
        _, account = request(self.ports["user"], "GET", "/users/alice")
        self.assertEqual(account["balance"], 46)
        # Every onward call carried the caller's transaction token.
        # (dvd's shipping worker polls the queue too, for no user: it sends no token.)
        calls = [s for s in self.router.seen[first_call:] if s[3] is not None]
        self.assertEqual([c[0] for c in calls], ["dvd", "user", "queue"])
        self.assertTrue(all(token == txn_token("alice") for *_, token in calls), calls)
        # dvd's worker claims the shipping job, ships it, then marks it done.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, shipped = request(self.ports["dvd"], "GET", "/shipments")
            if any(s["rental"] == rental["id"] for s in shipped["shipments"]):
                break
            time.sleep(0.1)
        else:
            self.fail("the rental was never shipped")
        _, queued = request(self.ports["queue"], "GET", "/jobs")
        self.assertNotIn(rental["id"], [job["data"].get("rental") for job in queued["jobs"]])
        status, mine = self.contract("GET", "/rentals", "alice")
        self.assertEqual(status, 200)
        self.assertIn(rental["id"], [r["id"] for r in mine["rentals"]])
        status, _ = self.contract("GET", f"/rentals/{rental['id']}", "bob")
        self.assertEqual(status, 404)

    def test_out_of_stock_and_insufficient_balance_are_refused(self):
        status, _ = self.contract("POST", "/rentals", "bob", {"dvd": "3"})
        self.assertEqual(status, 201)
        status, body = self.contract("POST", "/rentals", "carol", {"dvd": "3"})
        self.assertEqual((status, body["error"]), (409, "out of stock"))
        status, body = request(self.ports["user"], "POST", "/users/carol/charge",
                               {"amount": 1000})
        self.assertEqual(status, 402)
        _, account = request(self.ports["user"], "GET", "/users/carol")
        self.assertEqual(account["balance"], 50)

    def test_frontend_serves_the_page_without_external_assets(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.ports["frontend"], timeout=10)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            page = response.read().decode()
        finally:
            conn.close()
        self.assertEqual(response.status, 200)
        self.assertIn("default-src 'self'", response.getheader("Content-Security-Policy"))
        self.assertIn("fetch(path", page)
        # Who is signed in comes from the gateway; logging out is a form POST to it.
        self.assertIn("'/_bulwark/session'", page)
        self.assertIn('<form method="post" action="/_bulwark/logout">', page)
        self.assertIn("<main>", page)
        self.assertNotIn("http://", page)
        self.assertNotIn("https://", page)

    def test_requests_without_a_user_or_with_bad_bodies_get_4xx(self):
        self.assertEqual(self.contract("GET", "/rentals")[0], 401)
        self.assertEqual(self.contract("POST", "/rentals", "alice", {"dvd": 1})[0], 400)
        self.assertEqual(self.contract("DELETE", "/rentals", "alice")[0], 405)
        self.assertEqual(self.contract("GET", "/nothing", "alice")[0], 404)
        self.assertEqual(request(self.ports["user"], "POST", "/users/alice/charge",
                                 {"amount": -5})[0], 400)


if __name__ == "__main__":
    unittest.main()
