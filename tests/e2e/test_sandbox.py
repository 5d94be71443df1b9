"""The service sandbox (`bulwark sandbox run`, docs/sandbox.md): small Python programs run
inside it perform the attacks a compromised service would try, and each is shown to fail; the
same program outside the sandbox shows the attack works there, so each test can fail.

Needs root (namespaces, setuid); skipped with the reason otherwise. Scripts live under /var/tmp
because the sandbox hides the host's /tmp. Every process is stopped by its PID, every file and
cgroup removed, also on failure.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time
import unittest
import uuid

import harness

# The system interpreter: one under a 0700 home (pyenv in /root) is not executable by the
# service user.
PYTHON = "/usr/bin/python3"
# Distinct service ids per run, so parallel runs do not share RLIMIT_NPROC counts.
UID_BASE = 61000 + (os.getpid() % 500) * 8

PROBE = textwrap.dedent("""\
    import ctypes, errno, os, socket, sys
    libc = ctypes.CDLL(None, use_errno=True)
    def err(rc):
        return "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()]
    what = sys.argv[1]
    if what == "status":
        for line in open("/proc/self/status"):
            if line.split(":")[0] in ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff",
                                       "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"):
                print(line.strip().replace("\\t", " "))
    elif what == "ptrace":
        # PTRACE_ATTACH (16) to a child of our own and to the pid given.
        child = os.fork()
        if child == 0:
            os.execv("/bin/sleep", ["sleep", "5"])
        print("own-child", err(libc.ptrace(16, child, None, None)))
        print("other", err(libc.ptrace(16, int(sys.argv[2]), None, None)))
        os.kill(child, 9)
        os.waitpid(child, 0)
    elif what == "mount":
        os.makedirs("/tmp/m", exist_ok=True)
        print("mount", err(libc.mount(b"none", b"/tmp/m", b"tmpfs", 0, None)))
    elif what == "unshare":
        print("unshare", err(libc.unshare(0x10000000)))  # CLONE_NEWUSER
    elif what == "read":
        try:
            print("read", open(sys.argv[2]).read().strip())
        except OSError as e:
            print("read", errno.errorcode[e.errno])
    elif what == "connect":
        s = socket.socket()
        s.settimeout(3)
        try:
            s.connect(("127.0.0.1", int(sys.argv[2])))
            print("connect ok")
        except OSError as e:
            print("connect", errno.errorcode.get(e.errno, str(e)))
        print("links", ",".join(sorted(os.listdir("/sys/class/net"))))
    elif what == "write-tmp":
        open(sys.argv[2], "w").write("escaped")
        print("wrote", os.path.exists(sys.argv[2]))
    elif what == "write":
        try:
            with open(sys.argv[2], "w") as f:
                f.write("x")
            print("write ok")
        except OSError as e:
            print("write", errno.errorcode[e.errno])
    elif what == "nofile":
        fds = []
        try:
            for _ in range(int(sys.argv[2])):
                fds.append(os.open("/dev/null", os.O_RDONLY))
            print("nofile unbounded", len(fds))
        except OSError as e:
            print("nofile", errno.errorcode[e.errno], len(fds))
    elif what == "nproc":
        kids = []
        result = "nproc unbounded"
        for _ in range(int(sys.argv[2])):
            try:
                pid = os.fork()
            except OSError as e:
                result = f"nproc {errno.errorcode[e.errno]} {len(kids)}"
                break
            if pid == 0:
                os.execv("/bin/sleep", ["sleep", "10"])
            kids.append(pid)
        print(result)
        for pid in kids:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    elif what == "memory":
        try:
            block = bytearray(int(sys.argv[2]) << 20)
            print("memory allocated", len(block) >> 20)
        except MemoryError:
            print("memory MemoryError")
    sys.stdout.flush()
""")


class SandboxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("the sandbox needs root (namespaces, setuid); not root here")
        if not os.access(PYTHON, os.X_OK):
            raise unittest.SkipTest(f"{PYTHON} is needed to run probes as another user")
        rc, _, err = harness.run(["unshare", "-n", "true"])
        if rc != 0:
            raise unittest.SkipTest(f"network namespaces are not available here: {err.strip()}")
        cls.dir = tempfile.mkdtemp(prefix="bulwark-sandbox-e2e-", dir="/var/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        os.chmod(cls.dir, 0o755)
        cls.probe = os.path.join(cls.dir, "probe.py")
        with open(cls.probe, "w") as f:
            f.write(PROBE)
        os.chmod(cls.probe, 0o644)

    def sandbox(self, *probe_args, uid=None, flags=(), timeout=30):
        """Runs the probe in the sandbox; returns (rc, stdout, stderr)."""
        uid = uid or UID_BASE
        argv = [harness.BINARY, "sandbox", "run", "--user", f"{uid}:{uid}",
                "--name", f"e2e-{uuid.uuid4().hex[:12]}", *flags,
                "--", PYTHON, self.probe, *probe_args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        return done.returncode, done.stdout, done.stderr

    def outside(self, *probe_args):
        return harness.run([PYTHON, self.probe, *probe_args])

    def start_sleeper(self):
        proc = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL)
        self.addCleanup(harness.stop_process, proc)
        return proc

    # --- what the sandbox reports and what /proc shows ---------------------------------------
    def test_status_shows_no_capabilities_no_new_privs_and_seccomp(self):
        rc, out, err = self.sandbox("status")
        self.assertEqual(rc, 0, err)
        fields = {key: value for key, _, value in (l.partition(" ") for l in out.splitlines())}
        for cap in ("CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"):
            self.assertEqual(fields[cap], "0000000000000000", cap)
        self.assertEqual(fields["NoNewPrivs:"], "1")
        self.assertEqual(fields["Seccomp:"], "2")
        self.assertEqual(fields["Uid:"].split(), [str(UID_BASE)] * 4)
        self.assertEqual(fields["Gid:"].split(), [str(UID_BASE)] * 4)
        self.assertEqual(fields.get("Groups:", "").strip(), "")
        self.assertIn("applied: no_new_privs", err)
        self.assertIn("applied: network namespace (only lo, up", err)
        self.assertIn("applied: seccomp deny-list", err)
        # The probe outside: root with capabilities, so the comparison above means something.
        _, out, _ = self.outside("status")
        self.assertNotIn("CapEff: 0000000000000000", out)

    def test_cgroup_limits_reported_and_removed(self):
        name = f"e2e-{uuid.uuid4().hex[:12]}"
        argv = [harness.BINARY, "sandbox", "run", "--user", str(UID_BASE + 1), "--name", name,
                "--memory", "128MiB", "--nproc", "16", "--", PYTHON, "-c",
                "print(open('/proc/self/cgroup').read())"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        # Each of memory and pids is either applied or reported as not applied, with a reason.
        for controller, limit in (("memory", "134217728"), ("pids", "16")):
            applied = [l for l in done.stderr.splitlines()
                       if "applied: cgroup" in l and limit in l and "not applied" not in l]
            missing = [l for l in done.stderr.splitlines()
                       if f"not applied: cgroup {controller}" in l]
            self.assertTrue(applied or missing, f"{controller}: {done.stderr}")
            if applied:
                # Its own cgroup: bulwark-<pid>-<n>-<name> (sandbox::CgroupNameFor).
                self.assertRegex(done.stdout, rf"/bulwark-\d+-\d+-{name}\n")
        # The cgroup directories are gone after the run.
        found = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "6", "-name",
                                f"bulwark-*-{name}"], capture_output=True, text=True, timeout=30)
        self.assertEqual(found.stdout.strip(), "")

    # --- attacks -----------------------------------------------------------------------------
    def test_ptrace_is_refused(self):
        target = self.start_sleeper()
        rc, out, err = self.sandbox("ptrace", str(target.pid))
        self.assertEqual(rc, 0, err)
        self.assertIn("own-child EPERM", out)
        self.assertIn("other EPERM", out)
        _, out, _ = self.outside("ptrace", str(target.pid))
        self.assertIn("own-child ok", out)

    def test_mount_is_refused(self):
        rc, out, err = self.sandbox("mount")
        self.assertEqual(rc, 0, err)
        self.assertIn("mount EPERM", out)

    def test_unshare_is_refused(self):
        rc, out, err = self.sandbox("unshare")
        self.assertEqual(rc, 0, err)
        self.assertIn("unshare EPERM", out)
        # The unshare(1) tool fails too, and an unprivileged user could otherwise do it.
        argv = [harness.BINARY, "sandbox", "run", "--user", str(UID_BASE + 2), "--",
                "unshare", "-Ur", "true"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        self.assertNotEqual(done.returncode, 0)
        _, out, _ = self.outside("unshare")
        self.assertIn("unshare ok", out)

    def test_reading_another_users_0600_file_is_refused(self):
        secret = os.path.join(self.dir, "secret.key")
        with open(secret, "w") as f:
            f.write("s3cret\n")
        os.chmod(secret, 0o600)  # owned by root, as another service's key would be
        rc, out, err = self.sandbox("read", secret)
        self.assertEqual(rc, 0, err)
        self.assertIn("read EACCES", out)
        self.assertNotIn("s3cret", out)
        _, out, _ = self.outside("read", secret)
        self.assertIn("read s3cret", out)

    def test_host_loopback_is_unreachable_from_a_private_network(self):
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        rc, out, err = self.sandbox("connect", str(port))
        self.assertEqual(rc, 0, err)
        self.assertIn("connect ECONNREFUSED", out)
        self.assertIn("links lo\n", out)
        _, out, _ = self.outside("connect", str(port))
        self.assertIn("connect ok", out)

    def test_tmp_is_private(self):
        name = f"/tmp/bulwark-sandbox-escape-{uuid.uuid4().hex}"
        self.addCleanup(lambda: os.path.exists(name) and os.unlink(name))
        rc, out, err = self.sandbox("write-tmp", name)
        self.assertEqual(rc, 0, err)
        self.assertIn("wrote True", out)  # inside, the file exists...
        self.assertFalse(os.path.exists(name))  # ...but not on the host

    def test_read_only_root_keeps_only_the_listed_paths_writable(self):
        shared = os.path.join(self.dir, "shared")  # world-writable: the uid alone cannot protect it
        data = os.path.join(self.dir, "data")
        for d in (shared, data):
            os.mkdir(d)
            os.chmod(d, 0o777)
        rc, out, err = self.sandbox("write", os.path.join(shared, "a"))
        self.assertEqual(rc, 0, err)
        self.assertIn("write ok", out)  # without --read-only the write works
        flags = ["--read-only", "--writable", data]
        rc, out, err = self.sandbox("write", os.path.join(shared, "b"), flags=flags)
        self.assertEqual(rc, 0, err)
        self.assertIn("write EROFS", out)
        self.assertFalse(os.path.exists(os.path.join(shared, "b")))
        self.assertIn(f"applied: read-only file system except /tmp, {data}", err)
        rc, out, err = self.sandbox("write", os.path.join(data, "c"), flags=flags)
        self.assertIn("write ok", out)
        self.assertTrue(os.path.exists(os.path.join(data, "c")))
        rc, out, err = self.sandbox("write", "/tmp/d", flags=flags)
        self.assertIn("write ok", out)

    def test_nofile_limit(self):
        rc, out, err = self.sandbox("nofile", "500", flags=["--nofile", "32"])
        self.assertEqual(rc, 0, err)
        words = out.split()
        self.assertEqual(words[:2], ["nofile", "EMFILE"], out)
        self.assertLess(int(words[2]), 32)

    def test_nproc_limit(self):
        rc, out, err = self.sandbox("nproc", "40", uid=UID_BASE + 3, flags=["--nproc", "8"])
        self.assertEqual(rc, 0, err)
        words = out.split()
        self.assertEqual(words[:2], ["nproc", "EAGAIN"], out)
        self.assertLess(int(words[2]), 8)

    def test_memory_limit(self):
        rc, out, err = self.sandbox("memory", "512", flags=["--memory", "128MiB"])
        self.assertEqual(rc, 0, err)
        self.assertIn("memory MemoryError", out)
        rc, out, err = self.sandbox("memory", "16", flags=["--memory", "128MiB"])
        self.assertIn("memory allocated 16", out)

    # --- errors ------------------------------------------------------------------------------
    def test_failing_step_is_reported(self):
        argv = [harness.BINARY, "sandbox", "run", "--user", str(UID_BASE), "--cwd",
                "/nonexistent-dir", "--", "true"]
        rc, _, err = harness.run(argv)
        self.assertEqual(rc, 1)
        self.assertIn("sandbox step 'working directory' failed: No such file or directory", err)

    def test_bad_arguments(self):
        for args, message in (
                (["--user", "0", "--", "true"], "never runs as root"),
                (["--user", "abc", "--", "true"], "expected numeric UID[:GID]"),
                (["--user", "61000", "--memory", "lots", "--", "true"], "--memory"),
                (["--user", "61000", "--", "no-such-command-xyz"], "not found in PATH")):
            rc, _, err = harness.cli("sandbox", "run", *args)
            self.assertEqual(rc, 1, args)
            self.assertIn(message, err, args)

    def test_exit_status_and_signals_pass_through(self):
        rc, _, _ = harness.cli("sandbox", "run", "--user", str(UID_BASE), "--", "sh", "-c",
                               "exit 7")
        self.assertEqual(rc, 7)
        proc = subprocess.Popen([harness.BINARY, "sandbox", "run", "--user", str(UID_BASE),
                                 "--", "sleep", "30"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(harness.stop_process, proc)
        deadline = time.monotonic() + 10
        line = ""
        while time.monotonic() < deadline and not line.startswith("bulwark sandbox: pid "):
            line = proc.stderr.readline()
            if not line:
                break
        self.assertIn("bulwark sandbox: pid", line)
        os.kill(proc.pid, 15)
        self.assertEqual(proc.wait(timeout=10), 128 + 15)


if __name__ == "__main__":
    unittest.main()
