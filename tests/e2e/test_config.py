"""`bulwark authority init|serve --config mesh.yaml`: the authority section of mesh.yaml drives
the authority, relative paths resolve against the file, and a bad file is refused with its
file:line:column before anything starts."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import harness


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bulwark-config-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.port = free_port()
        self.mesh = os.path.join(self.dir, "conf", "mesh.yaml")
        os.makedirs(os.path.dirname(self.mesh))
        harness.write(self.mesh,
                      "trust_domain: cfg.example\n"
                      "authority:\n"
                      f"  listen: 127.0.0.1:{self.port}\n"
                      "  data_dir: state/authority\n"
                      "  svid_ttl: 2m\n")

    def test_init_and_serve_take_the_authority_section(self):
        rc, out, err = harness.cli("authority", "init", "--config", self.mesh)
        self.assertEqual(rc, 0, err)
        data = os.path.join(self.dir, "conf", "state", "authority")
        self.assertTrue(os.path.exists(os.path.join(data, "kek.key")), out)
        self.assertIn("trust domain cfg.example", out)
        proc = subprocess.Popen([harness.BINARY, "authority", "serve", "--config", self.mesh],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, cwd="/")
        self.addCleanup(harness.stop_process, proc)
        endpoint = os.path.join(data, "endpoint")
        deadline = time.monotonic() + harness.STARTUP_TIMEOUT
        while time.monotonic() < deadline and not os.path.exists(endpoint):
            time.sleep(0.05)
        self.assertEqual(harness.read(endpoint).strip(), f"https://127.0.0.1:{self.port}")
        token = os.path.join(self.dir, "tok")
        rc, out, err = harness.cli("authority", "token", "create", "--data-dir", data,
                                   "--spiffe-id", "spiffe://cfg.example/svc/a", "--out", token)
        self.assertEqual(rc, 0, err)
        work = os.path.join(self.dir, "w")
        rc, out, err = harness.cli("identity", "fetch", "--authority",
                                   f"https://127.0.0.1:{self.port}", "--bundle",
                                   os.path.join(data, "bundle.pem"), "--token-file", token,
                                   "--out", work)
        self.assertEqual(rc, 0, err)
        # svid_ttl: 2m from the file.
        remaining = harness.not_after(os.path.join(work, "svid.pem")) - time.time()
        self.assertGreater(remaining, 100)
        self.assertLess(remaining, 135)

    def test_bad_file_is_refused_with_its_position(self):
        harness.write(self.mesh, "trust_domain: cfg.example\nauthority:\n  listn: 127.0.0.1:1\n")
        for command in ("init", "serve"):
            rc, out, err = harness.cli("authority", command, "--config", self.mesh)
            self.assertNotEqual(rc, 0)
            self.assertIn("mesh.yaml:3:3: authority.listn: unknown key 'listn'", err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "conf", ".bulwark")))

    def test_check_validates_the_file_and_the_files_it_names(self):
        keys = os.path.join(self.dir, "conf", "keys")
        os.makedirs(keys)
        harness.write(os.path.join(keys, "partner.json"), '{"keys": []}')
        schemas = os.path.join(self.dir, "conf", "schemas")
        os.makedirs(schemas)
        harness.write(os.path.join(schemas, "rental.json"), '{"type": "object"}')
        harness.write(os.path.join(schemas, "bad.json"), '{"type": "object", "pattern": "a*"}')
        text = (
            "trust_domain: cfg.example\n"
            "gateway:\n"
            "  issuers:\n"
            "    - { name: partner, issuer: https://issuer.test, jwks: file:keys/partner.json,\n"
            "        audiences: [api://x] }\n"
            "  routes:\n"
            "    - { prefix: /api, service: api, auth: [bearer], schema: schemas/rental.json }\n"
            "services:\n"
            "  api:\n"
            "    port: 9001\n"
            "    allow: [{ from: gateway, paths: [/api/**] }]\n")
        harness.write(self.mesh, text)
        # Run from elsewhere: relative paths resolve against the folder of mesh.yaml.
        rc, out, err = harness.cli("check", self.mesh)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), [
            "api: 1 rule; callers gateway; 1 path template; 0 when conditions",
            "gateway: 127.0.0.1:8443; 1 route; 1 issuer",
            f"{self.mesh}: the policy of 1 service compiles",
        ])
        cases = [
            (text.replace("keys/partner.json", "keys/gone.json"),
             "gateway.issuers[0].jwks: keys/gone.json: no such file"),
            (text.replace("service: api", "service: nope"),
             "mesh.yaml:7:32: gateway.routes[0].service: unknown service 'nope'"),
            (text.replace("schemas/rental.json", "schemas/gone.json"),
             "gateway.routes[0].schema: schemas/gone.json: no such file"),
            (text.replace("schemas/rental.json", "schemas/bad.json"),
             "gateway.routes[0].schema: " + os.path.join(schemas, "bad.json") +
             ": /pattern: 'pattern' is not supported"),
            (text.replace("/api/**", "/api/**/x"),
             "mesh.yaml:11:38: services.api.allow[0].paths[0]: '**' must be the last segment"),
        ]
        for bad, message in cases:
            with self.subTest(message=message):
                harness.write(self.mesh, bad)
                rc, out, err = harness.cli("check", self.mesh)
                self.assertEqual(rc, 1, out)
                self.assertIn(message, err)
        rc, out, _ = harness.cli("check", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("bulwark check mesh.yaml", out)


if __name__ == "__main__":
    unittest.main()
