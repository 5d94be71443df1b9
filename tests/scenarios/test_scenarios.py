"""The literature's attacks on the DVD rental example, performed against the mesh `bulwark up`
runs, each shown to fail (docs/threat-model.md, "The literature's attacks, against the running
demo"; what each one shows is in README.md next to this file).

The mesh is examples/dvd-rental/mesh.yaml with free ports for the authority and the gateway, and
three services swapped for attacker variants that reuse the real services' code:
evil_contract.py (charges bob on alice's rental; replays a kept token), evil_dvd.py (calls user,
connects around the sidecars, reads other processes' files) and evil_frontend.py (echoes the
headers it received). The user sidecar's `token_skew` is 1s (the least allowed) so an expired token is refused
as soon as it expires (tokens live 60 s; the scenario waits for that, bounded).

Needs root (sandbox, uids, namespaces); skipped with the reason otherwise. The tests share one
running mesh and run in name order; every process is stopped by PID in tearDownClass, also on
failure, and the temporary directory is removed. The suite prints its run time.
"""

import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import harness  # noqa: E402
from test_up import READY_TIMEOUT, Up, copy_app  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "dvd-rental")
# Clear of test_up's 70000-76400 and test_sandbox's 61000-65000; distinct per run.
UID_BASE = 77000 + (os.getpid() % 400) * 16
TXN_TOKEN_LIFETIME = 60  # seconds: the gateway's transaction tokens (docs/gateway.md)
GATEWAY_ID = "spiffe://dvd.example/gateway"


def connect(port):
    """'connected' or the errno name of a TCP connect to 127.0.0.1:port from the host."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return "connected"
    except OSError as error:
        return type(error).__name__


def scenario_mesh(tmp, state, authority_port, gateway_port):
    """The example's mesh.yaml with free ports, absolute script paths and the attackers."""
    with open(os.path.join(EXAMPLE, "mesh.yaml")) as f:
        text = f.read()
    text = text.replace("127.0.0.1:7443", f"127.0.0.1:{authority_port}")
    text = text.replace("127.0.0.1:8443", f"127.0.0.1:{gateway_port}")
    attackers = ["evil_contract.py", "evil_dvd.py", "evil_frontend.py", "example_path.py"]
    app = copy_app(tmp, *[os.path.join(HERE, name) for name in attackers])
    evil = {
        "contract.py": [os.path.join(app, "evil_contract.py")],
        "dvd.py": [os.path.join(app, "evil_dvd.py"), state],
        "frontend.py": [os.path.join(app, "evil_frontend.py")],
    }

    def command(match):
        argv = evil.get(match.group(1), [os.path.join(app, match.group(1))])
        return "[" + ", ".join(["/usr/bin/python3"] + argv) + "]"

    text = re.sub(r"\[python3, (\w+\.py)\]", command, text)
    # The page route also takes API keys here, so that an API client reaches the echoing
    # frontend (in the example it is for browsers with a session only).
    text, n = re.subn(r"(path: /, service: frontend, auth: \[session)\]", r"\1, api_key]", text)
    assert n == 1, "examples/dvd-rental/mesh.yaml has no session route for /"
    # The user sidecar tolerates 1 s of clock skew (the least mesh.yaml allows).
    text, n = re.subn(r"(\n  user:\n)", r"\1    sidecar: { token_skew: 1s }\n", text)
    assert n == 1, "examples/dvd-rental/mesh.yaml has no services.user block"
    path = os.path.join(tmp, "mesh.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


@unittest.skipUnless(os.geteuid() == 0, "bulwark up needs root (sandbox, uids, namespaces)")
class DvdScenariosTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.began = time.monotonic()
        # Under /var/tmp, world-searchable: the sidecars read the state as their own uids.
        cls.tmp = tempfile.mkdtemp(prefix="bulwark-scenarios-", dir="/var/tmp")
        os.chmod(cls.tmp, 0o755)
        cls.state = os.path.join(cls.tmp, "state")
        cls.authority_port, cls.gateway_port = harness.free_ports(2)
        cls.mesh = scenario_mesh(cls.tmp, cls.state, cls.authority_port, cls.gateway_port)
        cls.up = None
        try:
            cls.up = Up(cls.mesh, cls.state, uid_base=UID_BASE)
            cls.up.wait_for(r"is up \(ready in (\d+) ms\)", READY_TIMEOUT)
            cls.keys = {user: cls.api_key(user) for user in ("alice", "bob")}
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def api_key(cls, user):
        rc, out, err = harness.cli("authority", "apikey", "create", "--data-dir",
                                   os.path.join(cls.state, "authority"), "--client", user,
                                   "--scopes", "rentals:read rentals:charge")
        if rc != 0:
            raise AssertionError(f"apikey create for {user} failed: {err}")
        return out.strip()

    @classmethod
    def tearDownClass(cls):
        if cls.up is not None:
            cls.up.stop()
        if os.environ.get("SCENARIOS_KEEP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)
        print(f"\nscenarios: suite ran in {time.monotonic() - cls.began:.1f} s", flush=True)

    def gateway(self, method, path, body=None, user="alice", headers=None):
        """One request through the gateway with `user`'s API key, verifying its certificate."""
        hdrs = {"X-Api-Key": self.keys[user]} if user else {}
        hdrs.update(headers or {})
        return harness.https_request(method, f"https://127.0.0.1:{self.gateway_port}{path}", body,
                                     cafile=os.path.join(self.state, "bundle.pem"), headers=hdrs)

    def log(self, name):
        with open(os.path.join(self.state, "logs", f"{name}.log")) as f:
            return f.read()

    def rent_once(self):
        """Alice rents DVD 1 (the attackers act during it); bounded retries for the key feed."""
        if hasattr(type(self), "rental"):
            return type(self).rental
        deadline = time.monotonic() + 15
        while True:
            status, body = self.gateway("POST", "/rentals", {"dvd": "1"})
            if status == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(status, 201, f"{body}\n" + self.log("contract")[-3000:])
        type(self).rental = body
        print(f"\nthe compromised contract saw: {body.get('evil')}", flush=True)
        type(self).rented_at = time.monotonic()
        return body

    def dvd_report(self):
        """What the compromised dvd saw while alice's rental reserved the DVD (logs/dvd.log)."""
        self.rent_once()
        deadline = time.monotonic() + 10
        while True:
            found = re.search(r"EVIL-DVD (\{.*\})", self.log("dvd"))
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertIsNotNone(found, "no EVIL-DVD line in dvd.log:\n" + self.log("dvd")[-3000:])
        seen = json.loads(found.group(1))
        print(f"\nthe compromised dvd saw: {seen}", flush=True)
        return seen

    def test_1_a_compromised_contract_cannot_charge_another_user(self):
        rental = self.rent_once()
        self.assertEqual(rental["user"], "alice")
        # The attack reached user's sidecar with alice's valid token and was refused there.
        self.assertEqual(rental["evil"]["charge_bob"], 403, rental)
        self.assertEqual(rental["evil"]["charge_bob_answer"]["error_description"], "not allowed")
        # user's sidecar stopped it: the user service never saw a charge for bob.
        self.assertNotIn("POST /users/bob/charge", self.log("user"))
        status, charges = self.gateway("GET", "/users/bob/charges", user="bob")
        self.assertEqual(status, 200, charges)
        self.assertEqual(charges["charges"], [])
        # Alice's own charge, for the same request, went through: the rule is not "deny all".
        status, charges = self.gateway("GET", "/users/alice/charges")
        self.assertEqual(status, 200, charges)
        self.assertEqual([c["amount"] for c in charges["charges"]], [4])

    def test_2_a_compromised_dvd_cannot_call_user_nor_go_around_the_sidecars(self):
        seen = self.dvd_report()
        # dvd's own sidecar refuses first (user is not in services.dvd.calls); user's sidecar
        # has no rule for dvd either (default deny), a second line this attack cannot reach.
        self.assertEqual(seen["call_user"], 403, seen)
        self.assertIn("not in services.dvd.calls", seen["call_user_answer"]["error_description"])
        # Inside dvd's network namespace nothing listens on user's port nor its sidecar's.
        self.assertEqual(seen["direct_user_port"], "ECONNREFUSED", seen)
        self.assertIsNotNone(seen["user_sidecar_inbound_port"], seen)
        self.assertEqual(seen["user_sidecar_inbound"], "ECONNREFUSED", seen)
        # ... while on the host the user sidecar does listen there: the port was the right one.
        self.assertEqual(connect(seen["user_sidecar_inbound_port"]), "connected")
        status, charges = self.gateway("GET", "/users/alice/charges")
        self.assertEqual(status, 200, charges)
        self.assertNotIn("charged by dvd", [c["for"] for c in charges["charges"]])

    def test_3_an_outside_client_cannot_reach_a_services_own_port(self):
        for port in (9000, 9001, 9002, 9003, 9004):
            self.assertEqual(connect(port), "ConnectionRefusedError", f"port {port}")

    def test_4_a_service_cannot_read_other_processes_keys_or_files(self):
        seen = self.dvd_report()
        # The files exist and are readable to root: the refusals below are the sandbox's.
        self.assertTrue(os.path.getsize(os.path.join(self.state, "gateway", "key.pem")) > 0)
        self.assertTrue(os.path.getsize(os.path.join(self.state, "authority", "kek.key")) > 0)
        self.assertEqual(seen["gateway_key"], "EACCES", seen)
        self.assertEqual(seen["authority_kek"], "EACCES", seen)
        self.assertEqual(seen["user_pid"], self.up.pids()["user"][-1], seen)
        self.assertEqual(seen["user_environ"], "EACCES", seen)

    def test_5_identity_headers_forged_at_the_gateway_are_removed(self):
        forged_token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.x"
        status, body = self.gateway("GET", "/", user="alice", headers={
            "X-Bulwark-Peer-Id": "spiffe://dvd.example/contract",
            "X_Bulwark_Peer_Id": "spiffe://dvd.example/contract",
            "Txn-Token": forged_token,
            "Txn_Token": forged_token,
        })
        self.assertEqual(status, 200, body)
        received = {}
        for name, value in body["headers"]:
            received.setdefault(name.lower(), []).append(value)
        self.assertEqual(received.get("x-bulwark-peer-id"), [GATEWAY_ID], received)
        self.assertNotIn(forged_token, received.get("txn-token", []), received)
        self.assertNotIn("x_bulwark_peer_id", received)
        self.assertNotIn("txn_token", received)

    def test_6_a_stolen_transaction_token_is_refused_after_it_expired(self):
        self.rent_once()
        # While alice's token is valid the kept copy works (for alice only, as in scenario 1):
        # the refusal below is its expiry, not the replay being spotted.
        status, body = self.gateway("GET", "/rentals/replay?user=alice")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["evil"]["replay"], 201, body)
        wait = TXN_TOKEN_LIFETIME + 2 - (time.monotonic() - self.rented_at)
        if wait > 0:
            time.sleep(min(wait, TXN_TOKEN_LIFETIME + 2))
        status, body = self.gateway("GET", "/rentals/replay?user=alice")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["evil"]["replay"], 401, body)
        status, charges = self.gateway("GET", "/users/alice/charges")
        self.assertEqual(status, 200, charges)
        self.assertEqual([c["for"] for c in charges["charges"]].count("a replayed token"), 1)


if __name__ == "__main__":
    unittest.main()
