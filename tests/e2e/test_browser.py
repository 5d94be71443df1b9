"""Single sign-on in a real browser (issue 7's "Done when"): the DVD rental mesh runs through
`bulwark up` (as test_up.py runs it: services copied under /var/tmp), alice is added and enrolled
through her enrolment link (tests/e2e/sso.py: password and TOTP), and Debian's headless Chromium,
driven by playwright-core (tests/interop/browser.mjs), opens the gateway, is sent to the login
page, types her password and a TOTP code, reaches the frontend, rents a DVD and sees it on the
page, logs out, and a new visit asks for the password again.

Screenshots of every page are written to $BULWARK_TEST_OUTPUT (ctest: build/test-output/browser)
and their paths printed. Needs root (the sandbox of `up`), /usr/bin/chromium and
tests/interop/node_modules (scripts/install-deps installs both); skipped with the reason
otherwise. `up` is stopped by its PID in tearDownClass, also on failure, and the temporary
directory is removed.
"""

import base64
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
import sso
from test_up import READY_TIMEOUT, ROOT, Up, dvd_mesh

CHROMIUM = "/usr/bin/chromium"
INTEROP = os.path.join(ROOT, "tests", "interop")
# Clear of test_up's 70000-76400 and the scenarios' 77000-83400; distinct per run.
UID_BASE = 84000 + (os.getpid() % 400) * 16
BROWSER_TIMEOUT = 120  # seconds for the whole browser run


def missing():
    """Why this machine cannot run the test, or None."""
    if os.geteuid() != 0:
        return "bulwark up needs root (sandbox, uids, namespaces)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (Debian's chromium: scripts/install-deps)"
    if not os.path.isdir(os.path.join(INTEROP, "node_modules", "playwright-core")):
        return "tests/interop/node_modules/playwright-core is missing (scripts/install-deps)"
    if shutil.which("node") is None:
        return "node is not installed (scripts/install-deps)"
    return None


def spki_sha256(host, port):
    """base64(SHA-256(SubjectPublicKeyInfo)) of the certificate served at host:port, computed
    by the openssl CLI: what --ignore-certificate-errors-spki-list pins."""
    pem = ssl.get_server_certificate((host, port))
    pubkey = subprocess.run(["openssl", "x509", "-pubkey", "-noout"], input=pem.encode(),
                            capture_output=True, check=True, timeout=10).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pubkey,
                         capture_output=True, check=True, timeout=10).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der,
                            capture_output=True, check=True, timeout=10).stdout
    return base64.b64encode(digest).decode()


class MeshAuthority:
    """The authority of a mesh run by `up`, as tests/e2e/sso.py's functions use one."""

    def __init__(self, state, port):
        self.data_dir = os.path.join(state, "authority")
        self.bundle = os.path.join(state, "bundle.pem")
        self.host_port = ("127.0.0.1", port)
        self.url = f"https://127.0.0.1:{port}"

    def admin(self, *args, timeout=harness.CLI_TIMEOUT):
        return harness.cli("authority", *args, "--data-dir", self.data_dir, timeout=timeout)


@unittest.skipIf(missing(), missing())
class BrowserLoginTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out_dir = os.environ.get("BULWARK_TEST_OUTPUT",
                                     os.path.join(ROOT, "build", "test-output", "browser"))
        os.makedirs(cls.out_dir, exist_ok=True)
        for name in os.listdir(cls.out_dir):
            if name.endswith(".png"):
                os.remove(os.path.join(cls.out_dir, name))
        # Under /var/tmp, world-searchable: the sidecars read the state as their own uids.
        cls.tmp = tempfile.mkdtemp(prefix="bulwark-browser-", dir="/var/tmp")
        os.chmod(cls.tmp, 0o755)
        cls.state = os.path.join(cls.tmp, "state")
        cls.authority_port, cls.gateway_port = harness.free_ports(2)
        cls.gateway = f"https://127.0.0.1:{cls.gateway_port}"
        cls.up = None
        try:
            cls.up = Up(dvd_mesh(cls.tmp, cls.authority_port, cls.gateway_port), cls.state,
                        uid_base=UID_BASE)
            cls.up.wait_for(r"is up \(ready in (\d+) ms\)", READY_TIMEOUT)
            cls.auth = MeshAuthority(cls.state, cls.authority_port)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.up is not None:
            cls.up.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def logs(self, *names):
        out = []
        for name in names:
            with open(os.path.join(self.state, "logs", f"{name}.log")) as f:
                out.append(f"--- {name}.log\n" + f.read()[-3000:])
        return "\n".join(out)

    def test_logs_in_with_password_and_totp_rents_and_logs_out(self):
        bundle = os.path.join(self.state, "bundle.pem")
        status, _ = harness.https_request("GET", self.gateway + "/_bulwark/session",
                                          cafile=bundle)
        if status == 404:
            self.skipTest("this gateway does not serve browser sessions yet (/_bulwark/session "
                          "is 404: the gateway side of gateway.session, branch gwsession)")
        self.assertEqual(status, 401, "/_bulwark/session without a session")
        secret = sso.enrol(self.auth, "alice", "alice@example.org")
        # The enrolment spent this step's code and the browser uses the next one: never let
        # two steps pass in between (a step is 30 s; the run takes a few seconds).
        if time.time() % 30 > 20:
            time.sleep(30 - time.time() % 30 + 0.5)
        spki = sorted({spki_sha256("127.0.0.1", port)
                       for port in (self.gateway_port, self.authority_port)})
        run = {"gateway": self.gateway, "user": "alice", "password": sso.PASSWORD,
               "totp_secret": secret, "out_dir": self.out_dir, "spki": spki,
               "timeout_ms": 20000}
        began = time.monotonic()
        proc = subprocess.run(["node", os.path.join(INTEROP, "browser.mjs"), json.dumps(run)],
                              cwd=INTEROP, capture_output=True, text=True,
                              timeout=BROWSER_TIMEOUT)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        seen = json.loads(lines[-1]) if lines else {}
        print(f"\nbrowser: ran in {time.monotonic() - began:.1f} s; steps:", flush=True)
        for step in seen.get("steps", []):
            print(f"  {step}")
        print("screenshots:\n" + "\n".join(f"  {p}" for p in seen.get("screenshots", [])),
              flush=True)
        self.assertEqual(proc.returncode, 0,
                         f"{json.dumps(seen, indent=1)}\nstderr: {proc.stderr[-3000:]}\n"
                         + self.logs("gateway", "authority"))
        self.assertTrue(seen["login_url"].startswith(
            f"https://127.0.0.1:{self.authority_port}/login"), seen["login_url"])
        self.assertEqual(seen["page_url"], self.gateway + "/")
        self.assertIn("Metropolis - shipping", seen["rentals"])
        self.assertIn("4 credits for rental of Metropolis", seen["charges"])
        self.assertNotIn("__Host-bulwark-session", seen["gateway_cookies_after_logout"])
        self.assertEqual(len(seen["screenshots"]), 5, seen["screenshots"])
        for path in seen["screenshots"]:
            self.assertGreater(os.path.getsize(path), 1000, path)
        # The rental went through the mesh as alice: contract charged her through user.
        self.assertRegex(self.logs("user"), r"POST /users/alice/charge")


if __name__ == "__main__":
    unittest.main()
