#!/usr/bin/env python3
"""The sidecar benchmark of issue 3: load generator -> outbound proxy -> mTLS -> inbound proxy ->
backend, with keep-alive and the same certificates, for bulwark, nginx and HAProxy, next to the
backend alone (direct), all in one run; and bulwark again with a valid transaction token on every
request (bulwark-txn), so that the token filter's cost is the difference between the two.

    bench/run sidecar [--workers 1,2] [--connections 16,64] [--duration 10] [--markdown FILE]

- nginx, HAProxy and wrk are installed from Debian when missing (scripts/install-deps --bench).
- Certificates: a bulwark authority (trust domain bench.test) issues the SVIDs of
  spiffe://bench.test/svc/a and .../svc/b through `bulwark identity fetch`; the authority is then
  stopped (kept for bulwark-txn, below). Every proxy uses these files: a's SVID on the outbound
  side, b's on the inbound side, the same bundle on both (bulwark reads them through `identity:`
  in mesh.yaml).
- The backend is nginx answering `return 200` with a small body, on its own worker.
- bulwark-txn: the authority keeps running (with a bench identity provider in gateway.issuers and
  --txn-token-ttl 60s); before each wrk run the bench mints a user token with its own key, has
  the authority exchange it (as the gateway) for a transaction token, and wrk sends it as
  Txn-Token on every request: sidecar a relays it, sidecar b verifies it against the authority's
  JWKS (the first time in full, then from its cache). Same mesh rules as bulwark.
- Each proxy is checked before it is measured: a request through it reaches the backend, its
  inbound listener refuses a client without a certificate, and it negotiates TLS 1.3.
- wrk runs at each connection count for --duration seconds (after a --warmup), keep-alive,
  --latency; the RSS of each proxy's processes is sampled from /proc/PID/status during the load.
- Every process started is stopped by its PID at the end, also on failure or Ctrl-C; every port
  is a free one on 127.0.0.1. A variant that fails is reported as failed, never as zero.

Python 3 stdlib only. Results and how to read them: docs/benchmarks.md ("Sidecar").
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import es256  # noqa: E402  (the bench identity provider's ES256 key, signed by openssl)
import harness  # noqa: E402  (free ports, stopping a process by PID, TLS client contexts)

TRUST_DOMAIN = "bench.test"
BODY = "bulwark bench backend\n"
PACKAGES = ("nginx", "haproxy", "wrk")
TOPOLOGIES = ("direct", "bulwark", "bulwark-txn", "nginx", "haproxy")
PEERS = ("nginx", "haproxy")
START_TIMEOUT = 20  # seconds for any process to answer
CLI_TIMEOUT = 30  # seconds for one bulwark CLI call
IDP = "https://idp.bench.test"  # the bench's own identity provider (a key it holds)
API = "api://bench"
TXN_TOKEN_TTL = 60  # seconds: the longest transaction token the authority mints
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
TXN_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:txn_token"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class BenchError(Exception):
    """A step that failed; the message says which and why."""


def log(message):
    print(f"[sidecar-bench] {message}", file=sys.stderr, flush=True)


def spiffe_id(service):
    return f"spiffe://{TRUST_DOMAIN}/svc/{service}"


def gateway_id():
    return f"spiffe://{TRUST_DOMAIN}/gateway"


# --- packages -------------------------------------------------------------------------------


def ensure_packages():
    """Installs nginx, haproxy and wrk from Debian when missing (scripts/install-deps --bench)."""
    done = subprocess.run(["bash", os.path.join(ROOT, "scripts", "install-deps"), "--bench"],
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchError(f"scripts/install-deps --bench failed ({done.returncode})")


def version_of(argv, pattern):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    match = re.search(pattern, done.stdout + done.stderr)
    return match.group(1) if match else "?"


# --- processes ------------------------------------------------------------------------------


def proc_stat(pid):
    """(command name, [the fields after it: state, ppid, ...]) from /proc/PID/stat, or None
    once the process is gone. The name is in parentheses and may hold spaces."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    open_paren, close_paren = stat.find("("), stat.rfind(")")
    return stat[open_paren + 1:close_paren], stat[close_paren + 2:].split()


def child_pids(pid):
    """The direct children of `pid` (nginx's workers), from /proc."""
    children = []
    for entry in os.listdir("/proc"):
        stat = proc_stat(entry) if entry.isdigit() else None
        if stat is not None and int(stat[1][1]) == pid:
            children.append(int(entry))
    return children


def is_alive(pid, name):
    """Whether `pid` still runs a process named `name` (guards against a reused PID)."""
    stat = proc_stat(pid)
    return stat is not None and stat[0] == name and stat[1][0] != "Z"


class Process:
    """One started process (and, for nginx, the workers it forked), stopped by PID."""

    def __init__(self, label, argv, log_path, name):
        self.label = label
        self.name = name  # the kernel's command name, to recognise its children
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.children = []

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def adopt_children(self):
        self.children = child_pids(self.pid)

    def pids(self):
        return [self.pid, *self.children]

    def log_tail(self, size=1500):
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read()[-size:].decode(errors="replace").strip()

    def stop(self):
        """SIGTERM, wait up to 5 s, then SIGKILL; also any forked worker left behind."""
        harness.stop_process(self.proc)
        deadline = time.monotonic() + 5
        for child in self.children:
            while is_alive(child, self.name) and time.monotonic() < deadline:
                time.sleep(0.05)
            if is_alive(child, self.name):
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._log.close()


class Processes:
    """Every process the benchmark starts; stop_all() runs in a finally."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.started = []

    def start(self, label, argv, name):
        log_path = os.path.join(self.workdir, f"{label}.log")
        process = Process(label, argv, log_path, name)
        self.started.append(process)
        return process

    def stop(self, process):
        process.stop()
        self.started.remove(process)

    def stop_all(self):
        while self.started:
            self.stop(self.started[-1])


def run_cli(argv, timeout=CLI_TIMEOUT):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv[:3])} failed ({done.returncode}): "
                         f"{(done.stdout + done.stderr).strip()}")
    return done.stdout


# --- HTTP and TLS probes --------------------------------------------------------------------


def http_get(port, path="/", timeout=5, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def wait_until(what, check, processes, timeout=START_TIMEOUT):
    """Polls check() until it returns true; fails early if one of `processes` exits."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        for process in processes:
            if not process.alive():
                raise BenchError(f"{process.label} exited ({process.proc.returncode}) before "
                                 f"{what}:\n{process.log_tail()}")
        try:
            if check():
                return
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            last_error = e
        time.sleep(0.1)
    tails = "\n".join(f"{p.label}: {p.log_tail()}" for p in processes)
    raise BenchError(f"timed out waiting for {what} (last error: {last_error})\n{tails}")


def tls_client(bundle, cert=None, key=None):
    ctx = harness.ssl_context(bundle, cert, key)
    ctx.check_hostname = False  # SVIDs carry a SPIFFE ID, no host name
    return ctx


def tls_get(port, ctx, timeout=5):
    """GET / over TLS; returns (status, protocol version, cipher suite)."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", "/")
        version, cipher = conn.sock.version(), conn.sock.cipher()[0]
        response = conn.getresponse()
        response.read()
        return response.status, version, cipher
    finally:
        conn.close()


def check_variant(variant, certs):
    """Before measuring a proxy: a request reaches the backend through it, its inbound listener
    refuses a client without a certificate, and a client with a's SVID gets TLS 1.3. With a
    transaction token: the token passes and a tampered one is refused (the filter is on)."""
    variant.prepare()
    status, body = http_get(variant.port, headers=variant.headers)
    if status != 200 or body != BODY:
        raise BenchError(f"a request through {variant.name} answered {status} {body[:200]!r}")
    if variant.headers:
        token = variant.headers["Txn-Token"]
        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        status, _ = http_get(variant.port, headers={"Txn-Token": tampered})
        if status != 401:
            raise BenchError(f"{variant.name} answered {status} to a tampered transaction token")
    if variant.inbound_port is None:
        return
    try:
        status, _, _ = tls_get(variant.inbound_port, tls_client(certs.bundle))
    except (ssl.SSLError, OSError, http.client.HTTPException):
        status = None
    if status is not None and status < 400:
        raise BenchError(f"{variant.name}'s inbound answered {status} to a client without a "
                         "certificate")
    status, version, cipher = tls_get(variant.inbound_port,
                                      tls_client(certs.bundle, certs.svid("a"), certs.key("a")))
    if status != 200 or version != "TLSv1.3":
        raise BenchError(f"{variant.name}'s inbound with a's SVID: {status} over {version}")
    variant.tls = f"{version} {cipher}"


# --- certificates ---------------------------------------------------------------------------


class Certificates:
    """SVIDs of svc/a and svc/b from a bulwark authority, in `root`/id/<service>/."""

    def __init__(self, root):
        self.root = root

    def svid(self, service):
        return os.path.join(self.root, "id", service, "svid.pem")

    def key(self, service):
        return os.path.join(self.root, "id", service, "key.pem")

    @property
    def bundle(self):
        return os.path.join(self.root, "id", "a", "bundle.pem")

    def combined(self, service):
        """svid.pem followed by key.pem in one 0600 file, the form HAProxy's `crt` takes."""
        path = os.path.join(self.root, "id", service, "haproxy.pem")
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                for part in (self.svid(service), self.key(service)):
                    with open(part) as f:
                        out.write(f.read())
        return path

    def issue(self, binary, processes, keep_authority):
        """Issues the SVIDs of a and b (and of the gateway when `keep_authority`). Returns a
        TokenMinter over the still running authority when `keep_authority`, else None."""
        data = os.path.join(self.root, "authority")
        run_cli([binary, "authority", "init", "--data-dir", data, "--trust-domain", TRUST_DOMAIN])
        idp = es256.Es256Key(self.root, "idp")
        with open(os.path.join(self.root, "idp-jwks.json"), "w") as f:
            json.dump({"keys": [idp.jwk()]}, f)
        mesh = os.path.join(self.root, "authority-mesh.yaml")
        with open(mesh, "w") as f:
            f.write(f"""trust_domain: {TRUST_DOMAIN}
gateway:
  issuers:
    - {{ name: bench, issuer: "{IDP}", jwks: "file:idp-jwks.json", audiences: ["{API}"] }}
""")
        serve = processes.start("authority", [binary, "authority", "serve", "--data-dir", data,
                                              "--listen", "127.0.0.1:0", "--svid-ttl", "24h",
                                              "--config", mesh, "--txn-token-ttl",
                                              f"{TXN_TOKEN_TTL}s"], "bulwark")
        endpoint = os.path.join(data, "endpoint")
        wait_until("the authority's endpoint file", lambda: os.path.exists(endpoint) and
                   open(endpoint).read().strip(), [serve])
        url = open(endpoint).read().strip()
        services = ("a", "b", "gateway") if keep_authority else ("a", "b")
        try:
            for service in services:
                token = os.path.join(self.root, f"{service}.token")
                run_cli([binary, "authority", "token", "create", "--data-dir", data, "--spiffe-id",
                         gateway_id() if service == "gateway" else spiffe_id(service), "--out",
                         token])
                run_cli([binary, "identity", "fetch", "--authority", url, "--bundle",
                         os.path.join(data, "bundle.pem"), "--token-file", token, "--out",
                         os.path.join(self.root, "id", service)])
        except BaseException:
            processes.stop(serve)
            raise
        if not keep_authority:
            processes.stop(serve)
            return None
        return TokenMinter(url, os.path.join(data, "bundle.pem"), self, idp)


class TokenMinter:
    """Transaction tokens from the running authority: a user token signed by the bench's
    identity provider key, exchanged by the gateway (its SVID over mTLS) at /oauth2/token."""

    def __init__(self, url, bundle, certs, idp):
        self.url = url
        self.bundle = bundle
        self.certs = certs
        self.idp = idp

    def mint(self):
        """Returns (token, seconds it lives)."""
        now = int(time.time())
        user = self.idp.sign({"iss": IDP, "aud": API, "sub": "bench-user", "iat": now,
                              "exp": now + 300, "scope": "bench:read"})
        form = urllib.parse.urlencode({
            "grant_type": TOKEN_EXCHANGE, "requested_token_type": TXN_TOKEN_TYPE,
            "subject_token": user, "subject_token_type": ACCESS_TOKEN_TYPE})
        status, body = harness.https_request(
            "POST", self.url + "/oauth2/token", form, cafile=self.bundle,
            cert=self.certs.svid("gateway"), key=self.certs.key("gateway"),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise BenchError(f"token exchange answered {status}: {str(body)[:300]}")
        return body["access_token"], int(body["expires_in"])


# --- topologies -----------------------------------------------------------------------------


class Variant:
    """A running topology: where wrk sends its load, and the proxy processes to sample."""

    def __init__(self, name, port, instances, inbound_port=None, minter=None):
        self.name = name
        self.port = port
        self.instances = instances  # [("outbound", Process), ("inbound", Process)]
        self.inbound_port = inbound_port
        self.tls = ""
        self.minter = minter  # bulwark-txn: where each run's transaction token comes from
        self.headers = {}

    def prepare(self, needed_seconds=0):
        """Before a run: a fresh transaction token that outlives `needed_seconds` (the token
        filter caches it until its exp, so the run measures the cached path)."""
        if self.minter is None:
            return
        token, lifetime = self.minter.mint()
        if lifetime < needed_seconds:
            raise BenchError(f"a transaction token lives {lifetime} s, the run needs "
                             f"{needed_seconds} s: shorten --warmup + --duration")
        self.headers = {"Txn-Token": token}


def nginx_conf(workdir, label, workers, http_block):
    """A whole nginx.conf for one instance in `workdir`/<label>/, foreground, no access log."""
    prefix = os.path.join(workdir, label)
    os.makedirs(prefix, exist_ok=True)
    temp = "\n".join(f"  {kind}_temp_path {prefix}/{kind}_temp;"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = f"""daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
{temp}
{http_block}
}}
"""
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return prefix, path


def start_nginx(processes, workdir, label, workers, http_block):
    prefix, conf = nginx_conf(workdir, label, workers, http_block)
    process = processes.start(label, ["nginx", "-p", prefix, "-e", f"{prefix}/error.log", "-c",
                                      conf], "nginx")
    return process


def wait_nginx_workers(process, workers):
    """nginx forks its workers after binding: waits for them so that their RSS is sampled."""
    def forked():
        process.adopt_children()
        return len(process.children) >= workers
    wait_until(f"{process.label}'s {workers} worker(s)", forked, [process])


def start_backend(processes, workdir):
    (port,) = harness.free_ports(1)
    body = BODY.replace("\n", "\\n")
    process = start_nginx(processes, workdir, "backend", 1, f"""
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    default_type text/plain;
    location / {{ return 200 "{body}"; }}
  }}""")
    wait_until("the backend", lambda: http_get(port) == (200, BODY), [process])
    wait_nginx_workers(process, 1)
    return port


UPSTREAM_KEEPALIVE = 256  # idle upstream connections kept per worker (nginx), > any wrk -c


def start_bulwark(processes, workdir, certs, binary, workers, backend, minter=None):
    """bulwark's two sidecars; with `minter`, sidecar b also gets the authority's token keys."""
    name = "bulwark" if minter is None else "bulwark-txn"
    a_in, a_out, a_admin, a_port, a_call, b_in, b_out, b_admin = harness.free_ports(8)
    mesh = os.path.join(workdir, name, "mesh.yaml")
    os.makedirs(os.path.dirname(mesh), exist_ok=True)
    with open(mesh, "w") as f:
        f.write(f"""trust_domain: {TRUST_DOMAIN}
services:
  a:
    port: {a_port}
    calls:
      - {{ service: b, listen: 127.0.0.1:{a_call} }}
    sidecar: {{ inbound: 127.0.0.1:{a_in}, outbound: 127.0.0.1:{a_out}, admin: 127.0.0.1:{a_admin}, workers: {workers} }}
    identity: {{ svid: {certs.svid("a")}, key: {certs.key("a")}, bundle: {certs.bundle} }}
  b:
    port: {backend}
    allow: [{{ from: a }}]
    sidecar: {{ inbound: 127.0.0.1:{b_in}, outbound: 127.0.0.1:{b_out}, admin: 127.0.0.1:{b_admin}, workers: {workers} }}
    identity: {{ svid: {certs.svid("b")}, key: {certs.key("b")}, bundle: {certs.bundle} }}
""")
    instances = []
    for service, admin in (("a", a_admin), ("b", b_admin)):
        argv = [binary, "sidecar", "--config", mesh, "--service", service]
        if minter is not None:
            argv += ["--authority", minter.url]
        process = processes.start(f"{name}-{service}-w{workers}", argv, "bulwark")
        wait_until(f"sidecar {service}'s /readyz", lambda: http_get(admin, "/readyz")[0] == 200,
                   [process])
        instances.append(process)
    return Variant(name, a_call, [("outbound", instances[0]), ("inbound", instances[1])],
                   inbound_port=b_in, minter=minter)


def start_nginx_pair(processes, workdir, certs, workers, backend):
    out_port, in_port = harness.free_ports(2)
    inbound = start_nginx(processes, workdir, f"nginx-in-w{workers}", workers, f"""
  upstream backend {{
    server 127.0.0.1:{backend};
    keepalive {UPSTREAM_KEEPALIVE};
    keepalive_requests 1000000;
  }}
  server {{
    listen 127.0.0.1:{in_port} ssl backlog=4096;
    ssl_protocols TLSv1.3;
    ssl_certificate {certs.svid("b")};
    ssl_certificate_key {certs.key("b")};
    ssl_client_certificate {certs.bundle};
    ssl_verify_client on;
    ssl_verify_depth 3;
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # nginx 1.22 has no variable for a URI SAN: the verified subject is all it can pass on.
      proxy_set_header X-Bulwark-Peer-Id $ssl_client_s_dn;
    }}
  }}""")
    outbound = start_nginx(processes, workdir, f"nginx-out-w{workers}", workers, f"""
  upstream b {{
    server 127.0.0.1:{in_port};
    keepalive {UPSTREAM_KEEPALIVE};
    keepalive_requests 1000000;
  }}
  server {{
    listen 127.0.0.1:{out_port} backlog=4096;
    location / {{
      proxy_pass https://b;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_protocols TLSv1.3;
      proxy_ssl_certificate {certs.svid("a")};
      proxy_ssl_certificate_key {certs.key("a")};
      proxy_ssl_session_reuse on;
      # proxy_ssl_verify on would also require a DNS name or CN matching proxy_ssl_name, which
      # an SVID does not have: nginx cannot authenticate a SPIFFE server (docs/benchmarks.md).
      proxy_ssl_verify off;
    }}
  }}""")
    for process in (inbound, outbound):
        wait_nginx_workers(process, workers)
    wait_until("nginx's outbound", lambda: http_get(out_port)[0] == 200, [inbound, outbound])
    return Variant("nginx", out_port, [("outbound", outbound), ("inbound", inbound)],
                   inbound_port=in_port)


def san_hex(service):
    """The DER of a subjectAltName extension holding exactly the URI SAN of `service`, in hex
    (upper case, as HAProxy's `hex` converter writes it): OID 2.5.29.17, the OCTET STRING and
    the SEQUENCE of one [6] IA5String. Matching it in a certificate's DER checks its SPIFFE ID."""
    uri = spiffe_id(service).encode()
    names = bytes([0x86, len(uri)]) + uri
    sequence = bytes([0x30, len(names)]) + names
    return (bytes([0x06, 0x03, 0x55, 0x1D, 0x11, 0x04, len(sequence)]) + sequence).hex().upper()


def haproxy_conf(workdir, label, workers, body):
    path = os.path.join(workdir, f"{label}.cfg")
    with open(path, "w") as f:
        f.write(f"""global
  nbthread {workers}
  maxconn 8192
  ssl-server-verify required
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 60s
{body}
""")
    return path


def start_haproxy_pair(processes, workdir, certs, workers, backend):
    out_port, in_port = harness.free_ports(2)
    # Inbound: client certificate required and verified against the bundle; the caller must be
    # svc/a (the DER of its subjectAltName), whose ID is then passed on as the verified peer.
    in_cfg = haproxy_conf(workdir, f"haproxy-in-w{workers}", workers, f"""
frontend inbound
  bind 127.0.0.1:{in_port} ssl crt {certs.combined("b")} ca-file {certs.bundle} verify required ssl-min-ver TLSv1.3
  http-request deny unless {{ ssl_c_der,hex -m sub {san_hex("a")} }}
  http-request set-header X-Bulwark-Peer-Id {spiffe_id("a")}
  default_backend app
backend app
  server app 127.0.0.1:{backend}""")
    # Outbound: the server must chain to the bundle and be svc/b (same DER match on its
    # certificate, checked on every response).
    out_cfg = haproxy_conf(workdir, f"haproxy-out-w{workers}", workers, f"""
frontend outbound
  bind 127.0.0.1:{out_port}
  default_backend b
backend b
  http-response deny unless {{ ssl_s_der,hex -m sub {san_hex("b")} }}
  server b 127.0.0.1:{in_port} ssl crt {certs.combined("a")} ca-file {certs.bundle} verify required ssl-min-ver TLSv1.3""")
    for cfg in (in_cfg, out_cfg):
        done = subprocess.run(["haproxy", "-c", "-q", "-f", cfg], capture_output=True, text=True,
                              timeout=CLI_TIMEOUT)
        if done.returncode != 0:
            raise BenchError(f"haproxy -c {cfg}: {(done.stdout + done.stderr).strip()}")
    inbound = processes.start(f"haproxy-in-w{workers}", ["haproxy", "-db", "-f", in_cfg],
                              "haproxy")
    outbound = processes.start(f"haproxy-out-w{workers}", ["haproxy", "-db", "-f", out_cfg],
                               "haproxy")
    wait_until("haproxy's outbound", lambda: http_get(out_port)[0] == 200, [inbound, outbound])
    return Variant("haproxy", out_port, [("outbound", outbound), ("inbound", inbound)],
                   inbound_port=in_port)


# --- load -----------------------------------------------------------------------------------


def rss_kib(pid, field="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    """User plus system CPU time of `pid` so far, from /proc/PID/stat (0 once it is gone)."""
    stat = proc_stat(pid)
    if stat is None:
        return 0.0
    utime, stime = stat[1][11], stat[1][12]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


def instances_cpu(instances):
    """CPU seconds so far of each instance ("outbound", "inbound"), all its processes summed."""
    return {label: sum(cpu_seconds(pid) for pid in process.pids()) for label, process in instances}


class RssSampler(threading.Thread):
    """Samples every 100 ms the summed VmRSS of each instance's processes (nginx: master and
    workers) and keeps the peak per instance."""

    def __init__(self, instances):
        super().__init__(daemon=True)
        self.instances = instances
        self.peak = {label: 0 for label, _ in instances}
        self.peak_by_pid = {}  # for the JSON: nginx's master and workers one by one
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            for label, process in self.instances:
                total = 0
                for pid in process.pids():
                    kib = rss_kib(pid)
                    total += kib
                    key = f"{process.label}:{pid}"
                    self.peak_by_pid[key] = max(self.peak_by_pid.get(key, 0), kib)
                self.peak[label] = max(self.peak[label], total)
            self._done.wait(0.1)

    def finish(self):
        self._done.set()
        self.join(timeout=5)
        return self.peak


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def to_ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(text):
    result = {}
    match = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not match:
        raise BenchError(f"wrk printed no Requests/sec:\n{text}")
    result["rps"] = float(match.group(1))
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", text, re.M)
        if not match:
            raise BenchError(f"wrk printed no {pct}% latency:\n{text}")
        result[f"p{pct}_ms"] = to_ms(match.group(1))
    match = re.search(r"(\d+) requests in", text)
    result["requests"] = int(match.group(1)) if match else 0
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    result["non_2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    result["socket_errors"] = sum(int(g) for g in match.groups()) if match else 0
    return result


def wrk(port, connections, duration, headers=None):
    threads = min(2, connections)
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://127.0.0.1:{port}/")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchError(f"wrk exited {done.returncode}: {(done.stdout + done.stderr).strip()}")
    return parse_wrk(done.stdout)


def warm_up(port, connections, args, headers=None):
    if args.warmup > 0:
        wrk(port, connections, args.warmup, headers)


def measure(variant, connections, args):
    """Warm-up, then the measured wrk run with RSS sampling; the proxies must survive it."""
    variant.prepare(args.warmup + args.duration + 5)
    warm_up(variant.port, connections, args, variant.headers)
    sampler = RssSampler(variant.instances)
    cpu_before = instances_cpu(variant.instances)
    sampler.start()
    try:
        result = wrk(variant.port, connections, args.duration, variant.headers)
    finally:
        peak = sampler.finish()
    cpu_after = instances_cpu(variant.instances)
    for label, process in variant.instances:
        if not process.alive():
            raise BenchError(f"{process.label} died under load ({process.proc.returncode}):\n"
                             f"{process.log_tail()}")
    result["rss_kib"] = peak
    result["rss_kib_by_process"] = sampler.peak_by_pid
    # CPU time per request of each proxy: less sensitive than requests/s to what else runs.
    requests = max(result["requests"], 1)
    result["cpu_us_per_request"] = {label: (cpu_after[label] - cpu_before[label]) * 1e6 / requests
                                    for label in cpu_after}
    result["errors"] = result["non_2xx"] + result["socket_errors"]
    return result


# --- report ---------------------------------------------------------------------------------


def mib(kib):
    return f"{kib / 1024:.1f}"


def ratio(a, b):
    """a / b with two decimals, or two significant digits when it is below 0.1."""
    if not a or not b:
        return "–"
    value = a / b
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"


def pair_cell(values, fmt):
    """ "outbound / inbound" of a per-instance dict, or a dash."""
    if not values:
        return "–"
    return " / ".join(fmt(values[label]) for label in ("outbound", "inbound") if label in values)


def total(values):
    return sum(values.values()) if values else 0


def report(results, args, environment):
    """Markdown: one table of every run (direct once per connection count), then bulwark's
    ratios to its peers."""
    lines = [f"Run of {environment['date']} ({environment['system']}; {environment['versions']}); "
             f"wrk {args.duration} s per run after a {args.warmup} s warm-up; "
             f"{environment['cpus']} CPUs shared by wrk, the backend and both proxies; load "
             f"average {environment['load_before']} before, {environment['load_after']} after.",
             ""]
    lines.append("| connections | workers | topology | requests/s | p50 ms | p99 ms | "
                 "peak RSS MiB (out / in) | CPU µs/request (out / in) | errors | vs direct |")
    lines.append("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for connections in args.connections:
        direct = {}
        for workers in args.workers:
            runs = results.get((workers, connections), {})
            direct = runs.get("direct", direct)
            for name in args.topologies:
                r = runs.get(name)
                if r is None or (name == "direct" and workers != args.workers[0]):
                    continue
                w = "–" if name == "direct" else str(workers)
                if "failed" in r:
                    lines.append(f"| {connections} | {w} | {name} | FAILED: {r['failed']} "
                                 "| | | | | | |")
                    continue
                errors = str(r["errors"]) if r["errors"] == 0 else f"**{r['errors']}**"
                vs = "1.00" if name == "direct" else ratio(r["rps"], direct.get("rps"))
                rss = pair_cell(r.get("rss_kib"), mib)
                cpu = pair_cell(r.get("cpu_us_per_request"), lambda v: f"{v:.0f}")
                lines.append(f"| {connections} | {w} | {name} | {r['rps']:.0f} | "
                             f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {rss} | {cpu} | {errors} | "
                             f"{vs} |")
    lines += token_filter_lines(results, args)
    lines += ["", "bulwark / peer in the same run (requests/s: higher is better; the others: "
              "lower is better; RSS: the larger of out and in; CPU: out + in):", ""]
    lines.append("| connections | workers | peer | requests/s | p99 | peak RSS | CPU/request |")
    lines.append("| ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for connections in args.connections:
        for workers in args.workers:
            runs = results.get((workers, connections), {})
            ours = runs.get("bulwark")
            for peer in PEERS:
                theirs = runs.get(peer)
                if not ours or not theirs or "failed" in ours or "failed" in theirs:
                    continue
                rss = ratio(max(ours["rss_kib"].values()), max(theirs["rss_kib"].values()))
                cpu = ratio(total(ours["cpu_us_per_request"]), total(theirs["cpu_us_per_request"]))
                lines.append(f"| {connections} | {workers} | {peer} | "
                             f"{ratio(ours['rps'], theirs['rps'])} | "
                             f"{ratio(ours['p99_ms'], theirs['p99_ms'])} | {rss} | {cpu} |")
    tls = sorted(f"{name}: {tls}" for name, tls in environment["tls"].items())
    if tls:
        lines += ["", "Negotiated on each inbound hop: " + "; ".join(tls) + "."]
    return "\n".join(lines) + "\n"


def token_filter_lines(results, args):
    """The token filter's cost: bulwark-txn minus bulwark in the same run, per run."""
    rows = []
    for connections in args.connections:
        for workers in args.workers:
            runs = results.get((workers, connections), {})
            plain, txn = runs.get("bulwark"), runs.get("bulwark-txn")
            if not plain or not txn or "failed" in plain or "failed" in txn:
                continue
            cpu_txn = txn.get("cpu_us_per_request", {}).get("inbound")
            cpu_plain = plain.get("cpu_us_per_request", {}).get("inbound")
            cpu = "–" if cpu_txn is None or cpu_plain is None else f"{cpu_txn - cpu_plain:+.1f}"
            rows.append(f"| {connections} | {workers} | {txn['p50_ms'] - plain['p50_ms']:+.3f} | "
                        f"{txn['p99_ms'] - plain['p99_ms']:+.3f} | "
                        f"{ratio(txn['rps'], plain['rps'])} | {cpu} |")
    if not rows:
        return []
    return ["", "Token filter: bulwark-txn (a valid Txn-Token on every request, verified by "
            "sidecar b, from its cache after the first) minus bulwark (no token), same run:", "",
            "| connections | workers | p50 ms added | p99 ms added | requests/s txn / plain | "
            "inbound CPU µs/request added |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |", *rows]


def csv_ints(text):
    values = [int(v) for v in text.split(",") if v]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas: {text}")
    return values


def csv_topologies(text):
    names = [v for v in text.split(",") if v]
    unknown = [n for n in names if n not in TOPOLOGIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown topology {unknown}; known: {TOPOLOGIES}")
    return [n for n in TOPOLOGIES if n in names]  # direct first: the ratios need it


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Sidecar benchmark: wrk -> outbound proxy -> mTLS -> inbound proxy -> "
        "backend, for direct, bulwark, nginx and HAProxy in one run.")
    parser.add_argument("--bulwark", default=os.path.join(ROOT, "build", "bulwark"),
                        help="the bulwark binary (default build/bulwark)")
    parser.add_argument("--workers", type=csv_ints, default=[1, 2],
                        help="worker counts, the same for every proxy (default 1,2)")
    parser.add_argument("--connections", type=csv_ints, default=[16, 64],
                        help="wrk connection counts (default 16,64)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of unmeasured load before each run (default 2)")
    parser.add_argument("--topologies", type=csv_topologies, default=list(TOPOLOGIES),
                        help="subset of direct,bulwark,bulwark-txn,nginx,haproxy (default all)")
    parser.add_argument("--markdown", help="also write the markdown report to this file")
    parser.add_argument("--json", help="write every run's raw numbers to this file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (configs, logs, certificates)")
    parser.add_argument("--no-install", action="store_true",
                        help="do not apt-get install missing packages")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0:
        parser.error("--duration must be at least 1 and --warmup at least 0")
    if "bulwark-txn" in args.topologies and args.warmup + args.duration + 5 > TXN_TOKEN_TTL:
        parser.error(f"bulwark-txn: --warmup + --duration must stay under {TXN_TOKEN_TTL - 5} s, "
                     "the life of one transaction token (or leave it out with --topologies)")
    return args


def start_variant(name, processes, workdir, certs, args, workers, backend, minter):
    if name == "bulwark":
        return start_bulwark(processes, workdir, certs, args.bulwark, workers, backend)
    if name == "bulwark-txn":
        return start_bulwark(processes, workdir, certs, args.bulwark, workers, backend, minter)
    if name == "nginx":
        return start_nginx_pair(processes, workdir, certs, workers, backend)
    return start_haproxy_pair(processes, workdir, certs, workers, backend)


def run_benchmark(args, processes, workdir):
    certs = Certificates(workdir)
    minter = certs.issue(args.bulwark, processes, "bulwark-txn" in args.topologies)
    log("SVIDs issued for svc/a and svc/b" + (" and the gateway" if minter else ""))
    backend = start_backend(processes, workdir)
    base = len(processes.started)
    results = {}
    tls = {}
    if "direct" in args.topologies:
        for connections in args.connections:
            log(f"direct, {connections} connections")
            runs = results.setdefault((0, connections), {})
            runs["direct"] = wrk_direct(backend, connections, args)
    for workers in args.workers:
        for name in args.topologies:
            if name == "direct":
                continue
            variant = None
            try:
                variant = start_variant(name, processes, workdir, certs, args, workers, backend,
                                        minter)
                check_variant(variant, certs)
                tls[name] = variant.tls
            except (BenchError, OSError, http.client.HTTPException, ssl.SSLError,
                    subprocess.SubprocessError) as e:
                log(f"{name} with {workers} worker(s) FAILED to start: {e}")
                for connections in args.connections:
                    results.setdefault((workers, connections), {})[name] = {
                        "failed": f"start: {first_line(e)}"}
                stop_variant(processes, variant, base)
                continue
            died = None
            for connections in args.connections:
                runs = results.setdefault((workers, connections), {})
                if died:
                    runs[name] = {"failed": f"not run: {died}"}
                    continue
                log(f"{name}, {workers} worker(s), {connections} connections")
                try:
                    runs[name] = measure(variant, connections, args)
                except (BenchError, subprocess.SubprocessError) as e:
                    log(f"{name} FAILED: {e}")
                    runs[name] = {"failed": first_line(e)}
                    if any(not p.alive() for _, p in variant.instances):
                        died = "a proxy died in an earlier run"
            stop_variant(processes, variant, base)
    return arrange(results, args), tls


def wrk_direct(backend, connections, args):
    try:
        warm_up(backend, connections, args)
        result = wrk(backend, connections, args.duration)
        result["errors"] = result["non_2xx"] + result["socket_errors"]
        return result
    except (BenchError, subprocess.SubprocessError) as e:
        return {"failed": first_line(e)}


def arrange(results, args):
    """Direct's runs are measured once per connection count and shown with every worker count."""
    arranged = {}
    for workers in args.workers:
        for connections in args.connections:
            runs = dict(results.get((0, connections), {}))
            runs.update(results.get((workers, connections), {}))
            arranged[(workers, connections)] = runs
    return arranged


def stop_variant(processes, variant, base):
    if variant is None:
        # A partly started variant: stop whatever its starter left running (all but the `base`
        # processes started before it: the backend, and the authority for bulwark-txn).
        while len(processes.started) > base:
            processes.stop(processes.started[-1])
        return
    for _, process in variant.instances:
        if process in processes.started:
            processes.stop(process)


def first_line(error):
    return str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__


VERSION_PROBES = (
    ("nginx", ["nginx", "-v"], r"nginx/(\S+)"),
    ("HAProxy", ["haproxy", "-v"], r"version (\S+)"),
    ("wrk", ["wrk", "-v"], r"wrk (\S+)"),
    ("OpenSSL", ["openssl", "version"], r"OpenSSL (\S+)"),
)


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def environment_info(tls, load_before):
    return {
        "load_before": load_before,
        "load_after": load_average(),
        "date": datetime.date.today().isoformat(),
        "system": f"{platform.system()} {platform.release()}",
        "cpus": os.cpu_count(),
        "versions": ", ".join(f"{name} {version_of(argv, pattern)}"
                              for name, argv, pattern in VERSION_PROBES),
        "tls": tls,
    }


def main(argv):
    args = parse_args(argv)
    if not os.access(args.bulwark, os.X_OK):
        print(f"sidecar-bench: {args.bulwark} is not an executable (run scripts/build first)",
              file=sys.stderr)
        return 2
    try:
        if not args.no_install:
            ensure_packages()
    except BenchError as e:
        print(f"sidecar-bench: {e}", file=sys.stderr)
        return 1
    for tool in PACKAGES:
        if shutil.which(tool) is None:
            print(f"sidecar-bench: {tool} is not installed", file=sys.stderr)
            return 2
    # SIGTERM (as from a timeout) unwinds like Ctrl-C, through the finally that stops everything.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="bulwark-sidecar-bench-")
    processes = Processes(workdir)
    load_before = load_average()
    try:
        results, tls = run_benchmark(args, processes, workdir)
    except BenchError as e:
        print(f"sidecar-bench: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sidecar-bench: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    text = report(results, args, environment_info(tls, load_before))
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"w{w}-c{c}": runs for (w, c), runs in results.items()}, f, indent=2)
    failed = any("failed" in r for runs in results.values() for r in runs.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
