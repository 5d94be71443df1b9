"""`bulwark policy check` and `bulwark policy explain` on real mesh.yaml files: summaries,
errors with file:line:column, decisions with the allowing rule or the deny reason, path
normalization before matching, and the documented exit codes (explain: 0 allow, 1 deny, 2 error).
"""

import os
import shutil
import tempfile
import unittest

import harness

MESH = """\
trust_domain: dvd.example
services:
  contract:
    port: 9001
    allow:
      - from: gateway
        methods: [GET, POST]
        paths: ["/rentals", "/rentals/{id}"]
  dvd:
    port: 9003
  user:
    port: 9002
    allow:
      - from: contract
        methods: [POST]
        paths: ["/users/{id}/charge"]
        when: token.sub == path.id && "rentals:charge" in token.scope
      - from: [spiffe://dvd.example/admin/*, gateway]
        methods: [GET]
        paths: ["/users/{id}", "/admin/**"]
        when: headers.x-tenant == "dvd" || query.debug == "1"
"""

CHARGE_42 = '{"sub": "42", "scope": "rentals:charge profile"}'


class PolicyCliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bulwark-policy-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.mesh = os.path.join(self.dir, "mesh.yaml")
        harness.write(self.mesh, MESH)

    def explain(self, *args):
        return harness.cli("policy", "explain", "--config", self.mesh, *args)

    def test_help_has_examples(self):
        for command in (["policy"], ["policy", "check"], ["policy", "explain"]):
            with self.subTest(command=" ".join(command)):
                rc, out, err = harness.cli(*command, "--help")
                self.assertEqual(rc, 0, err)
                self.assertIn("Usage:", out)
        _, out, _ = harness.cli("policy", "explain", "--help")
        self.assertIn("bulwark policy explain --config mesh.yaml --to user", out)
        _, out, _ = harness.cli("policy", "check", "--help")
        self.assertIn("bulwark policy check mesh.yaml", out)

    def test_check_summarizes_every_service(self):
        rc, out, err = harness.cli("policy", "check", self.mesh)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), [
            "contract: 1 rule; callers gateway; 2 path templates; 0 when conditions",
            "dvd: no rules, every call is denied",
            "user: 2 rules; callers contract, spiffe://dvd.example/admin/*, gateway; "
            "3 path templates; 2 when conditions",
            f"{self.mesh}: the policy of 3 services compiles",
        ])

    def test_check_reports_errors_with_their_position(self):
        cases = [
            (MESH.replace('"/users/{id}/charge"', '"/users/{id}/{id}"'),
             "mesh.yaml:16:17: services.user.allow[0].paths[0]: parameter 'id' appears twice"),
            (MESH.replace('"/admin/**"', '"/admin/**/x"'),
             "mesh.yaml:20:32: services.user.allow[1].paths[1]: '**' must be the last segment"),
            (MESH.replace("token.sub == path.id", "token.sub == path.uid"),
             "mesh.yaml:17:33: unknown path parameter 'uid'"),
            (MESH.replace("spiffe://dvd.example/admin/*", "spiffe://dvd.example/*/x"),
             "mesh.yaml:18:16: services.user.allow[1].from[0]: 'spiffe://dvd.example/*/x': '*' "
             "may only be a whole last segment"),
        ]
        for text, message in cases:
            with self.subTest(message=message):
                harness.write(self.mesh, text)
                rc, out, err = harness.cli("policy", "check", self.mesh)
                self.assertEqual(rc, 1, out)
                self.assertIn(message, err)
        rc, _, err = harness.cli("policy", "check", os.path.join(self.dir, "missing.yaml"))
        self.assertEqual(rc, 1)
        self.assertIn("missing.yaml", err)

    def test_explain_allows_with_the_rule_and_denies_with_the_reason(self):
        cases = [
            (["--to", "user", "--from", "contract", "--method", "POST", "--path",
              "/users/42/charge", "--claims", CHARGE_42],
             0, "ALLOW by rule 0 (from contract; methods POST; paths /users/{id}/charge; when "
                "token.sub == path.id"),
            # The same call for another user: the confused deputy is refused.
            (["--to", "user", "--from", "contract", "--method", "POST", "--path",
              "/users/43/charge", "--claims", CHARGE_42],
             1, "DENY: condition (rule 0 (from contract;"),
            (["--to", "user", "--from", "contract", "--method", "POST", "--path",
              "/users/43/charge"],
             1, "DENY: condition"),
            (["--to", "user", "--from", "dvd", "--method", "POST", "--path", "/users/42/charge",
              "--claims", CHARGE_42],
             1, "DENY: no_rule_for_caller (no rule of services.user.allow names "
                "spiffe://dvd.example/svc/dvd)"),
            (["--to", "dvd", "--from", "contract", "--method", "GET", "--path", "/"],
             1, "DENY: no_rule_for_caller"),
            (["--to", "user", "--from", "contract", "--method", "GET", "--path",
              "/users/42/charge"],
             1, "DENY: method"),
            (["--to", "user", "--from", "contract", "--method", "POST", "--path", "/users/42"],
             1, "DENY: path"),
            (["--to", "user", "--from", "spiffe://dvd.example/admin/alice", "--method", "GET",
              "--path", "/admin/a/b", "--header", "X-Tenant: dvd"],
             0, "ALLOW by rule 1"),
            (["--to", "user", "--from", "spiffe://dvd.example/admin/alice", "--method", "GET",
              "--path", "/admin?debug=1"],
             0, "ALLOW by rule 1"),
            (["--to", "user", "--from", "spiffe://dvd.example/admin/alice", "--method", "GET",
              "--path", "/admin/x", "--header", "X-Tenant: other"],
             1, "DENY: condition (rule 1"),
            (["--to", "user", "--from", "spiffe://dvd.example/admin/alice/x", "--method", "GET",
              "--path", "/admin/x", "--header", "X-Tenant: dvd"],
             1, "DENY: no_rule_for_caller"),
            (["--to", "contract", "--from", "gateway", "--method", "GET", "--path",
              "/rentals/7"],
             0, "ALLOW by rule 0"),
        ]
        for args, code, line in cases:
            with self.subTest(args=" ".join(args)):
                rc, out, err = self.explain(*args)
                self.assertEqual(rc, code, out + err)
                self.assertIn(line, out)

    def test_explain_decides_on_the_normalized_path(self):
        base = ["--to", "user", "--from", "contract", "--method", "POST", "--claims", CHARGE_42]
        # Dot segments (escaped or not) resolve before matching: the deny for user 43 holds.
        for path in ("/users/42/charge/../../43/charge", "/users/42/%2e%2e/43/charge",
                     "//users//43/./charge"):
            with self.subTest(path=path):
                rc, out, _ = self.explain(*base, "--path", path)
                self.assertEqual(rc, 1, out)
                self.assertIn("normalizes to /users/43/charge", out)
                self.assertIn("DENY: condition", out)
        rc, out, _ = self.explain(*base, "--path", "/users/%34%32/charge")
        self.assertEqual(rc, 0, out)
        self.assertIn("ALLOW by rule 0", out)
        # Ambiguous spellings are refused as the sidecar would (400).
        for path, reason in (("/users/42%2Fcharge", "encoded '/' (%2F)"),
                             ("/users/42/charge;x=1", "';' (path parameters)"),
                             ("/users/%c0%ae%c0%ae/42/charge", "overlong UTF-8"),
                             ("/users/42/%ef%bc%8e%ef%bc%8e/charge", "fullwidth"),
                             ("/users\\42\\charge", "'\\'"),
                             ("/../users/42/charge", "'..' above the root")):
            with self.subTest(path=path):
                rc, out, _ = self.explain(*base, "--path", path)
                self.assertEqual(rc, 1, out)
                self.assertIn("DENY: bad_path (", out)
                self.assertIn(reason, out)

    def test_explain_errors_exit_2(self):
        common = ["--method", "GET", "--path", "/"]
        cases = [
            (["--to", "nobody", "--from", "contract", *common], "no service 'nobody'"),
            (["--to", "user", "--from", "nobody", *common], "--from 'nobody' is neither"),
            (["--to", "user", "--from", "spiffe://dvd.example/svc/", *common], "SPIFFE ID"),
            (["--to", "user", "--from", "contract", *common, "--claims", "[1]"],
             "--claims must be a JSON object"),
            (["--to", "user", "--from", "contract", *common, "--claims", '{"a":1,"a":2}'],
             "--claims must be a JSON object"),
            (["--to", "user", "--from", "contract", *common, "--header", "NoColon"],
             "must look like 'Name: value'"),
        ]
        for args, message in cases:
            with self.subTest(args=" ".join(args)):
                rc, out, err = self.explain(*args)
                self.assertEqual(rc, 2, out + err)
                self.assertIn(message, err)
        harness.write(self.mesh, "trust_domain: dvd.example\nservces: {}\n")
        rc, _, err = self.explain("--to", "user", "--from", "contract", *common)
        self.assertEqual(rc, 2)
        self.assertIn("mesh.yaml:2:1: servces: unknown key", err)
        rc, _, err = harness.cli("policy", "explain", "--config", self.mesh)
        self.assertNotEqual(rc, 0)
        self.assertIn("--to is required", err)


if __name__ == "__main__":
    unittest.main()
