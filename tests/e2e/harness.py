"""Shared helpers for the end-to-end tests: a real `bulwark authority` process on loopback,
CSRs made with the openssl CLI, HTTPS calls with the stdlib, and checks with openssl.

Python 3 stdlib only. Every process started here is stopped by its PID (SIGTERM, then SIGKILL)
through a cleanup callback that runs even when the test fails.
"""

import calendar
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse

BINARY = os.environ.get("BULWARK_BINARY", "/work/main/build/bulwark")
TRUST_DOMAIN = "example.org"
CLI_TIMEOUT = 30  # seconds; no single CLI call may take longer
STARTUP_TIMEOUT = 15  # seconds until serve must have written its endpoint and answer /healthz


def cli(*args, timeout=CLI_TIMEOUT, binary=None):
    """Runs `bulwark ARGS...` and returns (rc, stdout, stderr) as text.

    subprocess.run kills the child (by its PID) if it outlives `timeout`, and then raises.
    """
    done = subprocess.run([binary or BINARY, *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout, done.stderr


def run(argv, timeout=CLI_TIMEOUT, input_text=None):
    """Runs an arbitrary command (openssl, curl); returns (rc, stdout, stderr)."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          input=input_text,
                          stdin=None if input_text is not None else subprocess.DEVNULL)
    return done.returncode, done.stdout, done.stderr


def free_ports(n):
    """n distinct free loopback ports: bound to port 0 together, then released."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def stop_process(proc, term_timeout=5.0):
    """Stops one process by its PID: SIGTERM, wait, then SIGKILL; always reaps it."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout=term_timeout)
    except subprocess.TimeoutExpired:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return proc.wait(timeout=10)


class Authority:
    """An authority data directory plus (optionally) a running `authority serve`.

    `add_cleanup` is the test's addCleanup/addClassCleanup: the temp dir and every serve
    process started through this object are cleaned up by it, also when the test fails.
    """

    def __init__(self, add_cleanup, trust_domain=TRUST_DOMAIN, serve_args=()):
        self._add_cleanup = add_cleanup
        self._tmp = tempfile.TemporaryDirectory(prefix="bulwark-e2e-")
        add_cleanup(self._tmp.cleanup)
        self.root = self._tmp.name
        self.data_dir = os.path.join(self.root, "authority")
        self.trust_domain = trust_domain
        self.serve_args = list(serve_args)
        self.proc = None
        self.url = None
        self._log = None
        self._log_path = None
        self._serve_count = 0
        self._identities = {}

    # --- paths ---------------------------------------------------------------------------
    @property
    def bundle(self):
        return os.path.join(self.data_dir, "bundle.pem")

    @property
    def kek(self):
        return os.path.join(self.data_dir, "kek.key")

    @property
    def endpoint_file(self):
        return os.path.join(self.data_dir, "endpoint")

    @property
    def host_port(self):
        parsed = urllib.parse.urlsplit(self.url)
        return parsed.hostname, parsed.port

    def tmpdir(self, name):
        """A fresh directory under this authority's temp root (for CSRs, SVID dirs...)."""
        return tempfile.mkdtemp(prefix=name + "-", dir=self.root)

    # --- lifecycle -----------------------------------------------------------------------
    def init(self):
        rc, out, err = cli("authority", "init", "--data-dir", self.data_dir,
                           "--trust-domain", self.trust_domain)
        if rc != 0:
            raise AssertionError(f"authority init failed rc={rc}: {out}{err}")
        return self

    def start(self, extra_args=()):
        """Starts `authority serve` and waits until its (new) endpoint answers /healthz."""
        if self.proc is not None and self.proc.poll() is None:
            raise AssertionError("authority already running")
        before = _stat_key(self.endpoint_file)
        self._serve_count += 1
        self._log_path = os.path.join(self.root, f"serve-{self._serve_count}.log")
        self._log = open(self._log_path, "wb")
        self._add_cleanup(self._log.close)
        argv = [BINARY, "authority", "serve", "--data-dir", self.data_dir,
                "--listen", "127.0.0.1:0", *self.serve_args, *extra_args]
        proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        self.proc = proc
        self._add_cleanup(stop_process, proc)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"authority serve exited rc={proc.returncode}:\n"
                                     + self.log_text())
            key = _stat_key(self.endpoint_file)
            if key is not None and key != before:
                with open(self.endpoint_file) as f:
                    url = f.read().strip()
                if url and self._healthy(url):
                    self.url = url
                    return self
            time.sleep(0.05)
        raise AssertionError("authority serve did not come up in time:\n" + self.log_text())

    def _healthy(self, url):
        try:
            status, _ = https_request("GET", url + "/healthz", cafile=self.bundle, timeout=2)
            return status == 200
        except (OSError, ssl.SSLError, http.client.HTTPException):
            return False

    def stop(self):
        if self.proc is not None:
            return stop_process(self.proc)
        return None

    def kill9(self):
        """SIGKILLs the running serve by its PID and reaps it."""
        os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=10)

    def log_text(self):
        if self._log_path is None:
            return ""
        if self._log is not None:
            self._log.flush()
        with open(self._log_path, "rb") as f:
            return f.read()[-4000:].decode(errors="replace")

    # --- admin CLI -----------------------------------------------------------------------
    def admin(self, *args, timeout=CLI_TIMEOUT):
        """Runs `bulwark authority ARGS... --data-dir D`; returns (rc, stdout, stderr)."""
        return cli("authority", *args, "--data-dir", self.data_dir, timeout=timeout)

    def admin_json(self, *args):
        rc, out, err = self.admin(*args)
        if rc != 0:
            raise AssertionError(f"authority {' '.join(args)} failed rc={rc}: {out}{err}")
        return json.loads(out)

    def token(self, spiffe_id, ttl=None):
        args = ["token", "create", "--spiffe-id", spiffe_id]
        if ttl:
            args += ["--ttl", ttl]
        rc, out, err = self.admin(*args)
        if rc != 0:
            raise AssertionError(f"token create failed rc={rc}: {out}{err}")
        token = out.strip()
        if not token or "\n" in token:
            raise AssertionError(f"token create printed something unexpected: {out!r}")
        return token

    def token_file(self, spiffe_id, ttl=None):
        """Creates a join token written by the CLI (--out) to a 0600 file; returns its path."""
        path = os.path.join(self.tmpdir("token"), "token")
        args = ["token", "create", "--spiffe-id", spiffe_id, "--out", path]
        if ttl:
            args += ["--ttl", ttl]
        rc, out, err = self.admin(*args)
        if rc != 0:
            raise AssertionError(f"token create --out failed rc={rc}: {out}{err}")
        return path

    def fetch_identity(self, spiffe_id):
        """Gets an SVID for `spiffe_id` with `bulwark identity fetch` (join token from a 0600
        file), once per ID for this authority; returns (svid.pem, key.pem) paths."""
        if spiffe_id in self._identities:
            return self._identities[spiffe_id]
        out = os.path.join(self.tmpdir("id"), "id")
        rc, stdout, err = cli("identity", "fetch", "--authority", self.url, "--bundle",
                              self.bundle, "--token-file", self.token_file(spiffe_id),
                              "--out", out)
        if rc != 0:
            raise AssertionError(f"identity fetch failed rc={rc}: {stdout}{err}")
        self._identities[spiffe_id] = (os.path.join(out, "svid.pem"),
                                       os.path.join(out, "key.pem"))
        return self._identities[spiffe_id]

    def svids(self, include_all=True):
        args = ["list", "--all"] if include_all else ["list"]
        return self.admin_json(*args)["svids"]

    def workload_svids(self, spiffe_id=None):
        out = [s for s in self.svids() if s["kind"] not in ("admin", "server")]
        if spiffe_id is not None:
            out = [s for s in out if s["spiffe_id"] == spiffe_id]
        return out

    def audit(self, n=1000):
        return self.admin_json("list", "--audit", str(n))["entries"]

    def revoke(self, serial=None, spiffe_id=None):
        args = ["revoke"]
        args += ["--serial", serial] if serial else ["--spiffe-id", spiffe_id]
        return self.admin_json(*args)

    # --- HTTP API ------------------------------------------------------------------------
    def post(self, path, body, cert=None, key=None, timeout=10):
        return https_request("POST", self.url + path, body, cafile=self.bundle, cert=cert,
                             key=key, timeout=timeout)

    def get(self, path, cert=None, key=None, timeout=10):
        return https_request("GET", self.url + path, cafile=self.bundle, cert=cert, key=key,
                             timeout=timeout)

    def issue(self, token, csr_pem, spiffe_id=None, timeout=10):
        body = {"join_token": token, "csr": csr_pem}
        if spiffe_id is not None:
            body["spiffe_id"] = spiffe_id
        return self.post("/v1/svids", body, timeout=timeout)


def _stat_key(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def ssl_context(cafile, cert=None, key=None):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def https_request(method, url, body=None, cafile=None, cert=None, key=None, timeout=10,
                  headers=None):
    """One HTTPS request with a verifying client (check_hostname on, cafile as only trust).

    `body` may be a dict/list (sent as JSON), str or bytes (sent verbatim) or None.
    Returns (status, parsed) where parsed is the decoded JSON body, or the text if it is not
    JSON.
    """
    parsed_url = urllib.parse.urlsplit(url)
    ctx = ssl_context(cafile, cert, key)
    conn = http.client.HTTPSConnection(parsed_url.hostname, parsed_url.port, context=ctx,
                                       timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        hdrs.update(headers or {})
        path = parsed_url.path + (("?" + parsed_url.query) if parsed_url.query else "")
        conn.request(method, path or "/", body=data, headers=hdrs)
        response = conn.getresponse()
        raw = response.read()
        text = raw.decode(errors="replace")
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text
    finally:
        conn.close()


def https_post(url, body, cafile, cert=None, key=None, timeout=10):
    return https_request("POST", url, body, cafile=cafile, cert=cert, key=key, timeout=timeout)


# --- openssl CLI ----------------------------------------------------------------------------
def openssl(*args, data=None):
    """Runs the openssl CLI with `data` (bytes) on stdin; returns its stdout (bytes). Fails the
    test when openssl does."""
    done = subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=30)
    if done.returncode != 0:
        raise AssertionError(f"openssl {args[:2]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def make_csr(directory, key_type="ec", subj="/CN=x", addext=(), name="req"):
    """Makes a key and CSR with the openssl CLI. key_type: "ec" (P-256), "ec384", "rsa1024",
    "rsa2048", "ed25519". Returns (csr_pem, key_path, csr_path)."""
    key_path = os.path.join(directory, name + ".key")
    csr_path = os.path.join(directory, name + ".csr")
    newkey = {
        "ec": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "ec384": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "rsa1024": ["-newkey", "rsa:1024"],
        "rsa2048": ["-newkey", "rsa:2048"],
        "ed25519": ["-newkey", "ed25519"],
    }[key_type]
    argv = ["openssl", "req", "-new", *newkey, "-nodes", "-keyout", key_path, "-out", csr_path,
            "-subj", subj]
    for ext in addext:
        argv += ["-addext", ext]
    rc, out, err = run(argv)
    if rc != 0:
        raise AssertionError(f"openssl req failed: {err}")
    with open(csr_path) as f:
        return f.read(), key_path, csr_path


def split_pem(text):
    """Splits concatenated PEM certificates into a list of PEM strings."""
    end = "-----END CERTIFICATE-----"
    return [part.strip() + "\n" + end + "\n" for part in text.split(end) if part.strip()]


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write(path, text, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def openssl_verify(bundle, chain_path):
    """`openssl verify -CAfile bundle -untrusted chain chain` (the leaf is the first cert)."""
    return run(["openssl", "verify", "-CAfile", bundle, "-untrusted", chain_path, chain_path])


def x509(cert_path, *flags):
    rc, out, err = run(["openssl", "x509", "-in", cert_path, "-noout", *flags])
    if rc != 0:
        raise AssertionError(f"openssl x509 {flags} failed: {err}")
    return out


def uri_sans(cert_path):
    """All URI SANs of the first certificate in the file, as openssl prints them."""
    out = x509(cert_path, "-ext", "subjectAltName")
    sans = []
    for line in out.splitlines()[1:]:
        for item in line.split(","):
            item = item.strip()
            if item.startswith("URI:"):
                sans.append(item[len("URI:"):])
    return sans


def not_after(cert_path):
    """notAfter of the first certificate, in Unix seconds."""
    out = x509(cert_path, "-enddate").strip()
    text = out.split("=", 1)[1]
    return calendar.timegm(time.strptime(text, "%b %d %H:%M:%S %Y %Z"))


def serial_int(cert_path):
    return int(x509(cert_path, "-serial").strip().split("=", 1)[1], 16)


def public_key_pem(path, is_private_key=False):
    if is_private_key:
        rc, out, err = run(["openssl", "pkey", "-in", path, "-pubout"])
    else:
        rc, out, err = run(["openssl", "x509", "-in", path, "-noout", "-pubkey"])
    if rc != 0:
        raise AssertionError(f"openssl pubkey failed: {err}")
    return out


def chain_files(directory, chain_pem, prefix="cert"):
    """Writes each certificate of a PEM chain to its own file; returns the paths."""
    paths = []
    for i, pem in enumerate(split_pem(chain_pem)):
        paths.append(write(os.path.join(directory, f"{prefix}{i}.pem"), pem))
    return paths

