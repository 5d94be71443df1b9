"""`bulwark up` (docs/up.md) runs the DVD rental mesh of examples/dvd-rental/mesh.yaml: the
authority, the gateway, and per service its sandboxed service and its sidecar. A scripted client
rents a DVD through the gateway with an API key; a service killed with SIGKILL is restarted (with
its sidecar) and serves again; SIGTERM stops every child by PID; a second `up` on the same state
directory reuses the authority (the same root CA, the same API key).

The mesh is the example file with two changes only: free ports for the authority and the
gateway, and the services' scripts as absolute paths (the copy lives in a temporary directory).
Needs root (sandbox, uids, namespaces); skipped with the reason otherwise. The tests of the class
share one running mesh and run in name order; the last one stops it. Every process is stopped by
PID, also on failure (tearDownClass), and the state directory is removed.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "dvd-rental")
# Distinct uids per run, so parallel runs do not share RLIMIT_NPROC counts.
UID_BASE = 70000 + (os.getpid() % 400) * 16  # clear of test_sandbox's 61000-65000
READY_TIMEOUT = 60  # seconds for `up` to print that the mesh is up


class Up:
    """One `bulwark up` process; its combined output collected line by line."""

    def __init__(self, mesh, state, uid_base=UID_BASE):
        self.lines = []
        self.cond = threading.Condition()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [harness.BINARY, "up", mesh, "--state-dir", state, "--uid-base", str(uid_base)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_for(self, pattern, timeout, start=0):
        """Returns the first match of `pattern` in the lines from index `start` on."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    m = regex.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError(f"no line matching {pattern!r}; output:\n"
                                         + "\n".join(self.lines[-80:]))
                self.cond.wait(min(left, 0.2))

    def pids(self):
        """Every PID `up` reported starting, by process name."""
        out = {}
        for m in re.finditer(r"started [a-z ]+? (\S+) \(pid (\d+)", self.text()):
            out.setdefault(m.group(1), []).append(int(m.group(2)))
        return out

    def stop(self):
        harness.stop_process(self.proc, term_timeout=30)
        self.reader.join(timeout=10)


def copy_app(tmp, *extra):
    """Copies the example's services (and the `extra` files) into `tmp`/app and returns that
    folder. Every service gets a private tmpfs on /tmp, so a checkout under /tmp would be
    invisible to it; /var/tmp is not hidden."""
    app = os.path.join(tmp, "app")
    os.makedirs(app, mode=0o755)
    for name in sorted(os.listdir(EXAMPLE)):
        if name.endswith(".py"):
            shutil.copy(os.path.join(EXAMPLE, name), app)
    for path in extra:
        shutil.copy(path, app)
    return app


def dvd_mesh(tmp, authority_port, gateway_port):
    """Writes `tmp`/mesh.yaml: the example's mesh with the given ports and the services copied
    under `tmp` (copy_app), named by absolute paths; returns its path."""
    with open(os.path.join(EXAMPLE, "mesh.yaml")) as f:
        text = f.read()
    text = text.replace("127.0.0.1:7443", f"127.0.0.1:{authority_port}")
    text = text.replace("127.0.0.1:8443", f"127.0.0.1:{gateway_port}")
    app = copy_app(tmp)
    text = re.sub(r"\[python3, (\w+\.py)\]",
                  lambda m: f"[/usr/bin/python3, {os.path.join(app, m.group(1))}]", text)
    path = os.path.join(tmp, "mesh.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose only once reaped; up reaps its children.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def listening(pid):
    """The TCP ports in LISTEN state in the network namespace of `pid` (IPv4)."""
    ports = set()
    for line in harness.read(f"/proc/{pid}/net/tcp").splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A":
            ports.add(int(fields[1].split(":")[1], 16))
    return ports


@unittest.skipUnless(os.geteuid() == 0, "bulwark up needs root (sandbox, uids, namespaces)")
class UpDvdMeshTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Under /var/tmp, world-searchable: the sidecars read the state as their own uids.
        cls.tmp = tempfile.mkdtemp(prefix="bulwark-up-", dir="/var/tmp")
        os.chmod(cls.tmp, 0o755)
        cls.state = os.path.join(cls.tmp, "state")
        cls.authority_port, cls.gateway_port = harness.free_ports(2)
        cls.mesh = dvd_mesh(cls.tmp, cls.authority_port, cls.gateway_port)
        cls.ups = []
        try:  # a failed start stops what it started and removes the state, as tearDownClass does
            cls.up = cls.start_up()
            rc, out, err = harness.cli("authority", "apikey", "create", "--data-dir",
                                       os.path.join(cls.state, "authority"), "--client", "alice",
                                       "--scopes", "rentals:read rentals:charge")
            if rc != 0:
                raise AssertionError(f"apikey create failed: {err}")
        except BaseException:
            cls.tearDownClass()
            raise
        cls.api_key = out.strip()

    @classmethod
    def start_up(cls):
        up = Up(cls.mesh, cls.state)
        cls.ups.append(up)
        m = up.wait_for(r"is up \(ready in (\d+) ms\)", READY_TIMEOUT)
        seen = time.monotonic() - up.started
        print(f"\nbulwark up: ready in {m.group(1)} ms (its own count), {seen * 1000:.0f} ms "
              "from exec to the ready line", flush=True)
        return up

    @classmethod
    def tearDownClass(cls):
        for up in cls.ups:
            up.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def gateway(self, method, path, body=None, key=None):
        """One request through the gateway as alice (her API key), verifying its certificate."""
        return harness.https_request(method, f"https://127.0.0.1:{self.gateway_port}{path}", body,
                                     cafile=os.path.join(self.state, "bundle.pem"),
                                     headers={"X-Api-Key": key or self.api_key})

    def logs(self, *names):
        """The last lines of the named processes' log files, for failure messages."""
        out = []
        for name in names:
            with open(os.path.join(self.state, "logs", f"{name}.log")) as f:
                out += [f"{name}: {line}" for line in f.read().splitlines()[-15:]]
        return "\n".join(out)

    def rent(self, dvd):
        """Rents through the gateway, retrying for a bounded while (the API key feed, restarts)."""
        deadline = time.monotonic() + 15
        tries = []
        while True:
            status, body = self.gateway("POST", "/rentals", {"dvd": dvd})
            tries.append((status, body))
            if status == 201 or time.monotonic() > deadline:
                if status != 201:
                    print("rent: every try:", tries[:5], self.logs("contract", "sidecar-user"))
                return status, body
            time.sleep(0.2)

    def test_a_client_rents_a_dvd_through_the_gateway(self):
        status, body = self.rent("1")
        self.assertEqual(status, 201, body)
        self.assertEqual(body["user"], "alice")
        self.assertEqual(body["shipping"], "queued")
        status, charges = self.gateway("GET", "/users/alice/charges")
        self.assertEqual(status, 200, charges)
        self.assertEqual([c["amount"] for c in charges["charges"]], [4])
        # Another user's charges are not alice's to read: the rule binds token.sub to path.id.
        status, _ = self.gateway("GET", "/users/bob/charges")
        self.assertEqual(status, 403)
        # Without a key the gateway refuses; the page is for browsers with a session only
        # (auth: [session]; test_browser.py logs in): an API key does not open it.
        self.assertEqual(self.gateway("GET", "/rentals", key="bwk_x_y")[0], 401)
        status, page = self.gateway("GET", "/")
        self.assertEqual(status, 401, f"{page}\n" + self.logs("gateway", "sidecar-frontend"))
        # A path that only normalizes into the gateway's own /_bulwark/ is no route: it never
        # reaches the frontend behind `/`.
        status, body = self.gateway("GET", "/catalog/../_bulwark/session")
        self.assertEqual(status, 404, body)
        # The dvd service's worker took the job from the queue (dvd -> its sidecar -> queue's).
        log = os.path.join(self.state, "logs", "queue.log")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(log) as f:
                if re.search(r"POST /jobs/\d+/done", f.read()):
                    break
            time.sleep(0.2)
        else:
            with open(log) as f:
                queue = f.read()
            exits = "\n".join(line for line in self.up.lines if " exited " in line)
            self.fail(f"the shipping job was never marked done; queue.log:\n{queue}\n"
                      f"processes that exited:\n{exits}")

    def test_b_services_are_sandboxed_and_sidecars_run_as_other_uids(self):
        pids = self.up.pids()
        service, sidecar = pids["user"][-1], pids["sidecar-user"][-1]
        status = {pid: harness.read(f"/proc/{pid}/status") for pid in (service, sidecar)}
        uid = lambda pid: re.search(r"Uid:\s+(\d+)\s+(\d+)\s+(\d+)", status[pid]).groups()
        self.assertEqual(len(set(uid(service))), 1)
        self.assertEqual(len(set(uid(sidecar))), 1)
        self.assertNotIn("0", uid(service) + uid(sidecar))
        self.assertNotEqual(uid(service), uid(sidecar))
        for pid in (service, sidecar):
            self.assertRegex(status[pid], r"CapEff:\s+0+\n")
            self.assertRegex(status[pid], r"CapPrm:\s+0+\n")
            self.assertRegex(status[pid], r"NoNewPrivs:\s+1\n")
        self.assertRegex(status[service], r"Seccomp:\s+2\n")
        # The service has a network namespace of its own; its sidecar is in the host's.
        ns = lambda pid: os.readlink(f"/proc/{pid}/ns/net")
        self.assertNotEqual(ns(service), ns(os.getpid()))
        self.assertEqual(ns(sidecar), ns(os.getpid()))
        # Inside the service's namespace listen the service (9002) and its sidecar's outbound
        # listener, held by the sidecar in the host namespace; neither is in the host's.
        outbound = int(re.search(r"user +service .* outbound 127\.0\.0\.1:(\d+)",
                                 self.up.text()).group(1))
        inside, outside = listening(service), listening(os.getpid())
        self.assertIn(9002, inside)
        self.assertIn(outbound, inside)
        self.assertNotIn(outbound, outside)

    def test_c_a_service_killed_with_sigkill_is_restarted(self):
        before = len(self.up.lines)
        old = self.up.pids()["user"][-1]
        os.kill(old, signal.SIGKILL)
        self.up.wait_for(r"user exited with status 137", 10, before)
        m = self.up.wait_for(r"started sandboxed service user \(pid (\d+)", 15, before)
        self.assertNotEqual(int(m.group(1)), old)
        self.up.wait_for(r"started sidecar sidecar-user \(pid", 15, before)
        self.up.wait_for(r"^up +\| user is ready again", 15, before)
        self.up.wait_for(r"^up +\| sidecar-user is ready again", 15, before)
        status, body = self.rent("2")  # charges alice through the restarted user service
        self.assertEqual(status, 201, body)

    def test_d_the_gateway_client_secret_and_cookie_key_are_the_gateways_alone(self):
        gateway_uid = UID_BASE + 1
        for name in ("client-secret", "session.key"):
            st = os.stat(os.path.join(self.state, "gateway", name))
            self.assertEqual((st.st_mode & 0o777, st.st_uid), (0o600, gateway_uid), name)
        self.assertEqual(os.path.getsize(os.path.join(self.state, "gateway", "session.key")), 32)
        # The resolved mesh.yaml points the gateway at them; the original's paths are unused.
        resolved = harness.read(os.path.join(self.state, "mesh.yaml"))
        self.assertIn(os.path.join(self.state, "gateway", "client-secret"), resolved)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "secrets")))
        rc, out, err = harness.cli("authority", "client", "list", "--data-dir",
                                   os.path.join(self.state, "authority"))
        self.assertEqual(rc, 0, err)
        self.assertIn(f"https://127.0.0.1:{self.gateway_port}/_bulwark/callback", out)

    def test_e_a_service_under_tmp_is_refused_before_anything_starts(self):
        tmp = tempfile.mkdtemp(prefix="bulwark-up-tmp-", dir="/tmp")
        self.addCleanup(shutil.rmtree, tmp, True)
        mesh = os.path.join(tmp, "mesh.yaml")
        with open(mesh, "w") as f:
            f.write(harness.read(self.mesh).replace(os.path.join(self.tmp, "app"), tmp))
        done = subprocess.run([harness.BINARY, "up", mesh, "--state-dir",
                               os.path.join(self.tmp, "state-tmp")], capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertIn(f"services.frontend.command[1]: {tmp}/frontend.py is under /tmp; a "
                      "sandboxed service sees a private, empty /tmp", done.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "state-tmp")))

    def test_z_sigterm_stops_everything_and_a_second_up_reuses_the_authority(self):
        up = self.up
        first = up.text()
        self.assertIn("initialised a new authority", first)
        serial = re.search(r"root CA serial (\w+)", first).group(1)
        pids = [pid for group in up.pids().values() for pid in group]
        self.assertGreaterEqual(len(pids), 12)  # authority, gateway, 5 x (service, sidecar)
        began = time.monotonic()
        up.proc.send_signal(signal.SIGTERM)
        self.assertEqual(up.proc.wait(timeout=60), 0, up.text()[-3000:])
        print(f"\nbulwark up: stopped in {(time.monotonic() - began) * 1000:.0f} ms", flush=True)
        self.assertEqual([p for p in pids if alive(p)], [])
        self.assertIn("stopping every process in reverse order", up.text())

        self.assertIn("gateway sessions: registered the OpenID Connect client gateway "
                      f"(redirect URI https://127.0.0.1:{self.gateway_port}/_bulwark/callback)",
                      first)
        secret_file = os.path.join(self.state, "gateway", "client-secret")
        secret = harness.read(secret_file)
        key_file = os.path.join(self.state, "gateway", "session.key")
        with open(key_file, "rb") as f:
            key = f.read()  # 32 raw bytes

        second = type(self).start_up()
        type(self).up = second
        self.assertIn("reusing the authority", second.text())
        self.assertNotIn("initialised a new authority", second.text())
        # The gateway's client and its cookie key are reused: sessions survive a restart.
        self.assertIn("gateway sessions: reusing the OpenID Connect client gateway",
                      second.text())
        self.assertEqual(harness.read(secret_file), secret)
        with open(key_file, "rb") as f:
            self.assertEqual(f.read(), key)
        status, body = self.rent("3")  # the API key made in the first run still works
        self.assertEqual(status, 201, body)
        bundle = harness.read(os.path.join(self.state, "bundle.pem"))
        rc, subject, _ = harness.run(["openssl", "x509", "-noout", "-serial"], input_text=bundle)
        self.assertEqual(int(subject.strip().split("=")[1], 16), int(serial, 16))


class UpWithoutRootTest(unittest.TestCase):
    def test_refuses_with_a_clear_message(self):
        # As root, the child drops to nobody first; otherwise it already is not root.
        demote = (lambda: (os.setgid(65534), os.setuid(65534))) if os.geteuid() == 0 else None
        done = subprocess.run([harness.BINARY, "up", os.path.join(EXAMPLE, "mesh.yaml")],
                              capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, preexec_fn=demote)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertIn("bulwark up needs root", done.stderr)
        self.assertFalse(os.path.exists(os.path.join(EXAMPLE, ".bulwark")))


if __name__ == "__main__":
    unittest.main()
