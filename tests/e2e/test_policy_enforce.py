"""End-to-end tests of policy enforcement: a real authority started with --config mesh.yaml
distributes each service's allow rules (GET /v1/policy); sidecars of contract, user and audit
enforce them in front of recording backends. Checked: allowed and denied calls, default deny,
normalization bypass attempts through the live sidecar, the decision log and metrics, and a
policy change applied under load without a restart. Loopback only; every process is stopped by
PID through cleanups; every wait and load loop is bounded."""

import json
import os
import threading
import time
import unittest

import harness
import test_sidecar_lifecycle
from harness import Authority, free_ports
from test_sidecar import (Sidecar, http_request, mtls_request, service_yaml, sid,
                          start_backend_server)
from test_sidecar_attacks import RecordingHandler

TD = harness.TRUST_DOMAIN
PUBLIC = '{ from: contract, methods: [GET], paths: ["/public/**"] }'
USERS = '{ from: contract, methods: [GET], paths: ["/users/{id}"] }'
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
FORBIDDEN = {"error": "forbidden", "error_description": "not allowed"}


def write_atomically(path, text):
    """Replaces `path` in one rename, as an editor or a deploy tool would."""
    harness.write(path + ".tmp", text)
    os.replace(path + ".tmp", path)


class Mesh:
    """An authority (--config mesh.yaml) and the sidecars of contract, user (`user_rules`) and
    audit (no rules), user and audit in front of RecordingHandler backends."""

    def __init__(self, test_cls, user_rules):
        self.test_cls = test_cls
        self.auth = Authority(test_cls.addClassCleanup).init()
        root = self.auth.tmpdir("mesh")
        # Backends first: free_ports then cannot hand out a port they took.
        self.backend = {n: start_backend_server(test_cls.addClassCleanup, n, RecordingHandler)
                        for n in ["user", "audit"]}
        ports = free_ports(9)
        self.ports = {n: tuple(ports[i * 3:i * 3 + 3]) for i, n in enumerate(
            ["contract", "user", "audit"])}
        self.path = os.path.join(root, "mesh.yaml")
        write_atomically(self.path, self.text(user_rules))
        self.auth.start(("--config", self.path))
        self.decision_log = os.path.join(self.auth.tmpdir("decisions"), "user.jsonl")
        self.sidecars = {
            "contract": Sidecar(test_cls, self.auth, self.path, "contract",
                                self.ports["contract"]),
            "user": Sidecar(test_cls, self.auth, self.path, "user", self.ports["user"],
                            extra_args=("--decision-log", self.decision_log)),
            "audit": Sidecar(test_cls, self.auth, self.path, "audit", self.ports["audit"]),
        }
        for sidecar in self.sidecars.values():
            sidecar.wait_ready()
        for name in ["user", "audit"]:
            self.wait_for_authority_policy(name)

    def text(self, user_rules):
        return "\n".join([
            f"trust_domain: {TD}", "services:",
            service_yaml("contract", 1, self.ports["contract"], calls=["user", "audit"],
                         allow=()),
            service_yaml("user", self.backend["user"].server_address[1], self.ports["user"],
                         allow=user_rules),
            service_yaml("audit", self.backend["audit"].server_address[1], self.ports["audit"],
                         allow=()), ""])

    def call(self, service, target, method="GET", headers=None):
        """A request from contract's service through its outbound listener to `service`."""
        return http_request(self.ports["contract"][1], method, target,
                            headers={"Host": service, **(headers or {})}, timeout=10)

    def scrape(self, name):
        status, _, text = http_request(self.ports[name][2], target="/metrics")
        assert status == 200, text
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line and not line.startswith("#")}

    def wait_for_authority_policy(self, name, above=0):
        """Waits until sidecar `name` runs a policy version > `above`; returns it."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            version = self.scrape(name).get("bulwark_sidecar_policy_version", 0)
            if version > above:
                return version
            time.sleep(0.05)
        raise AssertionError(f"{name} did not get a policy from the authority:\n"
                             + self.sidecars[name].log())


class PolicyEnforceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mesh = Mesh(cls, (PUBLIC, USERS))

    def seen(self, name):
        return list(self.mesh.backend[name].seen)

    def test_allowed_call_passes_with_the_normalized_path(self):
        status, _, body = self.mesh.call("user", "/public//a/./b/%7Ex?q=%2F&r=1")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["path"], "/public/a/b/~x?q=%2F&r=1")  # the query as sent
        self.assertEqual(body["headers"]["x-bulwark-peer-id"], sid("contract"))

    def test_call_the_rules_do_not_allow_is_403_and_never_reaches_the_service(self):
        before = self.seen("user")
        for method, target in [("GET", "/admin"), ("POST", "/public/x"), ("GET", "/users/7/x")]:
            status, _, body = self.mesh.call("user", target, method)
            self.assertEqual((status, body), (403, FORBIDDEN), f"{method} {target}")
        self.assertEqual(self.seen("user"), before)

    def test_service_without_rules_denies_every_call(self):
        for target in ["/", "/public/x", "/anything"]:
            status, _, body = self.mesh.call("audit", target)
            self.assertEqual((status, body), (403, FORBIDDEN), target)
        self.assertEqual(self.seen("audit"), [])

    def test_normalization_bypass_attempts_never_reach_a_denied_path(self):
        attempts = [
            "/public/..%2fadmin", "/public/..%2Fadmin", "/public/%2e%2e/admin",
            "/public/%2E%2E%2Fadmin", "/public/../admin", "/public/./../admin", "//admin",
            "/public/..\\admin", "/public/..%5cadmin", "/public/..;/admin", "/public;x/../admin",
            "/ADMIN", "/Public/x", "/public/%00/../../admin", "/public/%c0%ae%c0%ae/admin",
            "/public/%ef%bc%8e%ef%bc%8e/admin", "/public/%e2%80%8b/../../admin",
            "/users/7/../../admin",
        ]
        before = self.seen("user")
        for target in attempts:
            status, _, body = self.mesh.call("user", target)
            self.assertIn(status, (400, 403), f"{target}: {status} {body}")
            if status == 400:
                self.assertEqual(body["error"], "bad_request", target)
        # Not one of them reached the service, under any spelling.
        self.assertEqual(self.seen("user"), before)
        # A double encoding is a literal segment under /public, forwarded as it was checked.
        status, _, body = self.mesh.call("user", "/public/%252e%252e/admin")
        self.assertEqual((status, body["path"]), (200, "/public/%252e%252e/admin"))

    def decisions(self, path, count=1):
        deadline = time.monotonic() + 10
        while True:
            with open(self.mesh.decision_log, encoding="utf-8") as f:
                found = [json.loads(ln) for ln in f if ln.strip()]
            found = [d for d in found if d["path"] == path]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def test_decision_log_has_the_rule_or_the_reason(self):
        headers = {"traceparent": TRACEPARENT}
        self.assertEqual(self.mesh.call("user", "/secret-room", headers=headers)[0], 403)
        self.assertEqual(self.mesh.call("user", "/public/logged", headers=headers)[0], 200)
        self.assertEqual(self.mesh.call("user", "/public/..%2Fx")[0], 400)
        version = self.mesh.scrape("user")["bulwark_sidecar_policy_version"]
        [deny] = self.decisions("/secret-room")
        self.assertEqual((deny["decision"], deny["reason"]), ("deny", "path"))
        self.assertEqual(deny["peer"], sid("contract"))
        self.assertEqual(deny["method"], "GET")
        self.assertEqual(deny["trace_id"], TRACEPARENT.split("-")[1])
        self.assertEqual(deny["policy_version"], version)
        [allow] = self.decisions("/public/logged")
        self.assertEqual((allow["decision"], allow["rule"]), ("allow", 0))
        self.assertIn("/public/**", allow["description"])
        [bad] = self.decisions("/public/..%2Fx")
        self.assertTrue(bad["reason"].startswith("bad_path: "), bad)

    def test_metrics_count_decisions_and_show_the_authority_version(self):
        self.assertEqual(self.mesh.call("user", "/public/m")[0], 200)
        self.assertEqual(self.mesh.call("user", "/nope")[0], 403)
        series = self.mesh.scrape("user")
        self.assertGreater(series["bulwark_sidecar_policy_version"], 0)  # not the local 0
        self.assertGreaterEqual(
            series['bulwark_sidecar_policy_decisions_total{decision="allow",rule="0"}'], 1)
        self.assertGreaterEqual(
            series['bulwark_sidecar_policy_decisions_total{decision="deny",rule="path"}'], 1)
        self.assertEqual(series["bulwark_sidecar_decision_log_dropped_total"], 0)

    def test_authority_serves_each_workload_only_its_own_rules(self):
        cert, key = self.mesh.auth.fetch_identity(sid("user"))
        status, body = self.mesh.auth.get("/v1/policy", cert=cert, key=key)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["service"], "user")
        self.assertEqual([r["paths"] for r in body["allow"]], [["/public/**"], ["/users/{id}"]])
        self.assertEqual(set(body), {"version", "service", "allow"})  # nothing of the others
        # A long-poll for the version it has returns after the wait with the same version.
        started = time.monotonic()
        status, again = self.mesh.auth.get(f"/v1/policy?after={body['version']}&wait=1s",
                                           cert=cert, key=key)
        self.assertEqual((status, again["version"]), (200, body["version"]))
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        # Without a certificate, or with an identity that is not a service: refused.
        self.assertEqual(self.mesh.auth.get("/v1/policy")[0], 401)
        cert, key = self.mesh.auth.fetch_identity(f"spiffe://{TD}/gateway")
        self.assertEqual(self.mesh.auth.get("/v1/policy", cert=cert, key=key)[0], 403)
        cert, key = self.mesh.auth.fetch_identity(sid("stranger"))
        self.assertEqual(self.mesh.auth.get("/v1/policy", cert=cert, key=key)[0], 403)


class PolicyUpdateTest(unittest.TestCase):
    """Rewrites mesh.yaml under load, so it has a mesh of its own."""

    LOAD_SECONDS = 6  # bound on the load phase
    MAX_REQUESTS = 5000  # per worker

    @classmethod
    def setUpClass(cls):
        cls.mesh = Mesh(cls, (PUBLIC, USERS))

    def load(self, target, results, stop):
        """Calls `target` until `stop` or the bounds; records (monotonic time, status)."""
        deadline = time.monotonic() + self.LOAD_SECONDS
        for _ in range(self.MAX_REQUESTS):
            if stop.is_set() or time.monotonic() > deadline:
                return
            try:
                status = self.mesh.call("user", target)[0]
            except OSError as e:
                status = f"{type(e).__name__}: {e}"
            results.append((time.monotonic(), status))

    def test_removed_rule_takes_effect_within_a_second_under_load(self):
        version = self.mesh.scrape("user")["bulwark_sidecar_policy_version"]
        kept, removed, stop = [], [], threading.Event()
        workers = [threading.Thread(target=self.load, args=("/public/kept", kept, stop)),
                   threading.Thread(target=self.load, args=("/users/7", removed, stop))]
        for w in workers:
            w.start()
        try:
            time.sleep(1.0)
            write_atomically(self.mesh.path, self.mesh.text((PUBLIC,)))  # USERS removed
            changed_at = time.monotonic()
            time.sleep(2.0)
        finally:
            stop.set()
            for w in workers:
                w.join(self.LOAD_SECONDS + 15)
        self.assertGreater(self.mesh.scrape("user")["bulwark_sidecar_policy_version"], version)
        # The rule that stayed never failed, before, during or after the switch.
        self.assertGreater(len(kept), 20)
        self.assertEqual([r for r in kept if r[1] != 200], [])
        # The removed rule: 200 until the switch, then 403, with no other answer and no going back.
        statuses = [s for _, s in removed]
        self.assertEqual(set(statuses) - {200, 403}, set(), statuses)
        self.assertIn(200, statuses)
        first_403 = statuses.index(403)
        self.assertEqual(set(statuses[first_403:]), {403})
        delay = removed[first_403][0] - changed_at
        self.assertLess(delay, 1.0, f"the change took {delay:.3f} s")
        print(f"\npolicy change applied {delay * 1000:.0f} ms after the write "
              f"({len(kept) + len(removed)} requests under load)")
        # The service saw exactly the calls that were answered 200: no denied one slipped by.
        seen = [p for p in self.mesh.backend["user"].seen if p == ("GET", "/users/7")]
        self.assertEqual(len(seen), statuses.count(200))

    def test_bad_file_keeps_the_last_good_version(self):
        version = self.mesh.scrape("user")["bulwark_sidecar_policy_version"]
        good = harness.read(self.mesh.path)
        write_atomically(self.mesh.path, good.replace('paths: ["/public/**"]',
                                                      'paths: ["/public/**"], when: "path.x"'))
        try:
            deadline = time.monotonic() + 5
            while "keeping version" not in self.mesh.auth.log_text():
                self.assertLess(time.monotonic(), deadline, self.mesh.auth.log_text())
                time.sleep(0.05)
            self.assertRegex(self.mesh.auth.log_text(), r"mesh\.yaml:\d+:\d+:")
            self.assertEqual(self.mesh.scrape("user")["bulwark_sidecar_policy_version"], version)
            self.assertEqual(self.mesh.call("user", "/public/still")[0], 200)
        finally:
            write_atomically(self.mesh.path, good)


class PolicyReloadWithoutAuthorityTest(unittest.TestCase):
    """A sidecar with identity files follows no authority: SIGHUP brings a policy change."""

    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup).init().start()
        root = cls.auth.tmpdir("mesh")
        cls.backend = start_backend_server(cls.addClassCleanup, "files", RecordingHandler)
        cls.ports = tuple(free_ports(3))
        rc, out, err = harness.cli("identity", "fetch", "--authority", cls.auth.url,
                                   "--bundle", cls.auth.bundle, "--token-file",
                                   cls.auth.token_file(sid("files")), "--out",
                                   os.path.join(root, "id"))
        if rc != 0:
            raise AssertionError(f"identity fetch failed: {out}{err}")
        cls.path = os.path.join(root, "mesh.yaml")
        write_atomically(cls.path, cls.text((PUBLIC, USERS)))
        cls.sidecar = Sidecar(cls, cls.auth, cls.path, "files", cls.ports,
                              join_token=False).wait_ready()
        cls.cert, cls.key = cls.auth.fetch_identity(sid("contract"))

    @classmethod
    def text(cls, rules):
        return "\n".join([
            f"trust_domain: {TD}", "services:",
            "  contract:", "    port: 1",
            service_yaml("files", cls.backend.server_address[1], cls.ports, identity_dir="id",
                         allow=rules), ""])

    def call(self, target):
        return mtls_request(self.ports[0], self.auth.bundle, self.cert, self.key, target)[0]

    def test_sighup_applies_the_new_policy_and_refuses_a_bad_one(self):
        hangup = test_sidecar_lifecycle.SidecarLifecycleTest.hangup_and_wait
        self.addCleanup(write_atomically, self.path, self.text((PUBLIC, USERS)))
        self.assertEqual(self.call("/users/7"), 200)
        write_atomically(self.path, self.text((PUBLIC,)))
        hangup(self, self.sidecar, "sidecar: reloaded")
        self.assertEqual(self.call("/users/7"), 403)
        self.assertEqual(self.call("/public/x"), 200)
        # Rules that do not compile: the reload is refused and the policy stays.
        # Its valid rule differs from the policy in force, so applying it would show.
        write_atomically(self.path, self.text((USERS, '{ from: contract, when: "path.x" }')))
        hangup(self, self.sidecar, "reload refused")
        self.assertEqual(self.call("/public/x"), 200)
        self.assertEqual(self.call("/users/7"), 403)


if __name__ == "__main__":
    unittest.main()
