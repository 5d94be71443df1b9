#!/usr/bin/env python3
"""The gateway benchmark of issue 6: wrk -> TLS -> edge proxy -> backend, for bulwark's gateway,
nginx and HAProxy in one run, keep-alive, the same certificate and the same backend.

    bench/run gateway [--workers 1,2] [--connections 16,64] [--duration 10] [--markdown FILE]

- bulwark: `bulwark gateway` with TLS, one route `prefix: /api` with `auth: [bearer]` (the
  bench's identity provider in gateway.issuers, `jwks: file:`), a rate limit per principal and
  per address far above the load (every request still takes a token from both buckets), a
  transaction token minted for every request, then mTLS to sidecar b (its policy `from:
  gateway`, the Txn-Token verified against the authority's keys), then the backend. The gateway
  cannot reach a service but through its sidecar: bulwark is measured as gateway + sidecar, and
  its RSS and CPU are both processes summed.
- nginx (1.22, Debian): TLS termination and proxy_pass to the backend (keep-alive upstream). It
  checks no token: JWT validation (auth_jwt) is nginx Plus only.
- HAProxy (2.6, Debian): TLS termination and the token checked with `jwt_verify` (ES256, the
  identity provider's public key) plus its alg, iss, aud and exp (`jwt_header_query`,
  `jwt_payload_query`), then the backend.
- wrk sends the same valid bearer token (ES256, signed by the bench's key, lives an hour) on every
  request to each of them. Each proxy is checked first: the token passes, a tampered one and none
  are refused (401 or 403) and TLS 1.3 is negotiated.
- The backend is the sidecar bench's nginx (`return 200`, one worker). Certificates: a bulwark
  authority (trust domain bench.test, kept running for the gateway's delegated key and the
  sidecar's token keys) issues the SVIDs; the public certificate is a P-256 one for 127.0.0.1
  from a throwaway CA made with the openssl CLI.
- RSS is sampled every 100 ms during the load; every process started is stopped by its PID at
  the end, also on failure or Ctrl-C; a variant that fails is reported as failed, never as zero.

Python 3 stdlib only; the processes, wrk parsing and RSS sampling are bench/sidecar/run.py's.
Results and how to read them: docs/benchmarks.md ("Gateway").
"""

import argparse
import http.client
import importlib.util
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _load_sidecar_bench():
    spec = importlib.util.spec_from_file_location(
        "sidecar_bench", os.path.join(ROOT, "bench", "sidecar", "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sb = _load_sidecar_bench()  # processes, certificates, backend, wrk parsing, RSS sampling
harness = sb.harness
BenchError = sb.BenchError

TOPOLOGIES = ("bulwark", "nginx", "haproxy")
PEERS = ("nginx", "haproxy")
PATH = "/api/bench"
TOKEN_LIFETIME = 3600  # seconds: the bench's bearer token outlives any run


def log(message):
    print(f"[gateway-bench] {message}", file=sys.stderr, flush=True)


# --- certificates and the token -------------------------------------------------------------


def make_public_cert(directory):
    """A P-256 certificate for 127.0.0.1 from a throwaway CA; returns (ca, cert, key,
    cert+key in one 0600 file for HAProxy)."""
    ca_key, ca = os.path.join(directory, "public-ca.key"), os.path.join(directory, "public-ca.pem")
    key, csr = os.path.join(directory, "public.key"), os.path.join(directory, "public.csr")
    cert, ext = os.path.join(directory, "public.pem"), os.path.join(directory, "public.cnf")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                "keyUsage=digitalSignature\n")
    for argv in (["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
                  "-subj", "/CN=bench public CA"],
                 ["openssl", "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj",
                  "/CN=127.0.0.1"],
                 ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                  "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext]):
        sb.run_cli(argv)
    os.chmod(key, 0o600)
    combined = os.path.join(directory, "public-haproxy.pem")
    fd = os.open(combined, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        for part in (cert, key):
            with open(part) as f:
                out.write(f.read())
    return ca, cert, key, combined


def bearer_token(idp):
    """The one valid user token every request carries (ES256, the bench identity provider)."""
    now = int(time.time())
    return idp.sign({"iss": sb.IDP, "aud": sb.API, "sub": "bench-user", "iat": now,
                     "exp": now + TOKEN_LIFETIME, "scope": "bench:read"})


def tampered(token):
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


# --- topologies -----------------------------------------------------------------------------


class Variant:
    """A running edge: its public port and the processes to sample ([(label, Process)])."""

    def __init__(self, name, port, instances, note=""):
        self.name = name
        self.port = port
        self.instances = instances
        self.note = note
        self.tls = ""


def gateway_mesh(public_port, cert, key, jwks, backend, sidecar_ports, certs, workers):
    """mesh.yaml of the bulwark variant: the gateway's one bearer route to service b."""
    inbound, outbound, admin = sidecar_ports
    return f"""trust_domain: {sb.TRUST_DOMAIN}
gateway:
  listen: 127.0.0.1:{public_port}
  tls: {{ cert: {cert}, key: {key} }}
  issuers:
    - {{ name: bench, issuer: "{sb.IDP}", jwks: "file:{jwks}", audiences: ["{sb.API}"], algorithms: [ES256] }}
  routes:
    - {{ prefix: /api, service: b, auth: [bearer], methods: [GET],
        rate_limit: {{ per_principal: 1000000/s, per_address: 1000000/s }} }}
services:
  b:
    port: {backend}
    allow: [{{ from: gateway, methods: [GET], paths: ["/api/**"] }}]
    sidecar: {{ inbound: 127.0.0.1:{inbound}, outbound: 127.0.0.1:{outbound}, admin: 127.0.0.1:{admin}, workers: {workers} }}
    identity: {{ svid: {certs.svid("b")}, key: {certs.key("b")}, bundle: {certs.bundle} }}
"""


def start_bulwark(processes, workdir, setup, workers, backend):
    public, gw_admin, *sidecar_ports = harness.free_ports(5)
    mesh = os.path.join(workdir, f"bulwark-w{workers}", "mesh.yaml")
    os.makedirs(os.path.dirname(mesh), exist_ok=True)
    with open(mesh, "w") as f:
        f.write(gateway_mesh(public, setup.cert, setup.key, setup.jwks, backend, sidecar_ports,
                             setup.certs, workers))
    sidecar = processes.start(f"bulwark-sidecar-w{workers}",
                              [setup.binary, "sidecar", "--config", mesh, "--service", "b",
                               "--authority", setup.minter.url], "bulwark")
    sb.wait_until("sidecar b's /readyz",
                  lambda: sb.http_get(sidecar_ports[2], "/readyz")[0] == 200, [sidecar])
    certs = setup.certs
    gateway = processes.start(f"bulwark-gateway-w{workers}", [
        setup.binary, "gateway", "--config", mesh, "--admin", f"127.0.0.1:{gw_admin}",
        "--authority", setup.minter.url, "--bundle", setup.minter.bundle,
        "--svid", certs.svid("gateway"), "--key", certs.key("gateway"),
        "--identity-bundle", certs.bundle, "--workers", str(workers)], "bulwark")
    sb.wait_until("the gateway's /readyz", lambda: sb.http_get(gw_admin, "/readyz")[0] == 200,
                  [gateway, sidecar])
    # The sidecar learns the gateway's fresh delegated key from the first token naming it.
    sb.wait_until("a request through the gateway",
                  lambda: public_get(public, setup.ca, setup.token)[0] == 200,
                  [gateway, sidecar])
    return Variant("bulwark", public, [("gateway", gateway), ("sidecar", sidecar)],
                   note="gateway + sidecar")


def nginx_block(port, cert, key, backend):
    return f"""
  upstream backend {{
    server 127.0.0.1:{backend};
    keepalive {sb.UPSTREAM_KEEPALIVE};
    keepalive_requests 1000000;
  }}
  server {{
    listen 127.0.0.1:{port} ssl backlog=4096;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    location /api/ {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}"""


def start_nginx(processes, workdir, setup, workers, backend):
    (port,) = harness.free_ports(1)
    process = sb.start_nginx(processes, workdir, f"nginx-w{workers}", workers,
                             nginx_block(port, setup.cert, setup.key, backend))
    sb.wait_nginx_workers(process, workers)
    sb.wait_until("nginx", lambda: public_get(port, setup.ca, setup.token)[0] == 200, [process])
    return Variant("nginx", port, [("proxy", process)], note="TLS only (no JWT check)")


def haproxy_frontend(port, combined, public_key, backend):
    """HAProxy 2.6: TLS termination, then the bearer token's alg, iss, aud, exp and ES256
    signature (jwt_verify against the identity provider's public key) before the backend."""
    token = "var(txn.bearer)"
    return f"""frontend public
  bind 127.0.0.1:{port} ssl crt {combined} ssl-min-ver TLSv1.2
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.now) date
  http-request deny deny_status 401 unless {{ {token},jwt_header_query('$.alg') -m str ES256 }}
  http-request deny deny_status 401 unless {{ {token},jwt_payload_query('$.iss') -m str {sb.IDP} }}
  http-request deny deny_status 401 unless {{ {token},jwt_payload_query('$.aud') -m str {sb.API} }}
  http-request deny deny_status 401 if {{ {token},jwt_payload_query('$.exp','int'),sub(txn.now) -m int lt 0 }}
  http-request deny deny_status 401 unless {{ {token},jwt_verify('ES256',"{public_key}") -m int 1 }}
  default_backend app
backend app
  server app 127.0.0.1:{backend}"""


def start_haproxy(processes, workdir, setup, workers, backend):
    (port,) = harness.free_ports(1)
    cfg = sb.haproxy_conf(workdir, f"haproxy-w{workers}", workers,
                          haproxy_frontend(port, setup.combined, setup.public_key, backend))
    check_haproxy_config(cfg)
    process = processes.start(f"haproxy-w{workers}", ["haproxy", "-db", "-f", cfg], "haproxy")
    sb.wait_until("haproxy", lambda: public_get(port, setup.ca, setup.token)[0] == 200, [process])
    return Variant("haproxy", port, [("proxy", process)], note="TLS + jwt_verify")


def check_haproxy_config(cfg):
    done = subprocess.run(["haproxy", "-c", "-q", "-f", cfg], capture_output=True, text=True,
                          timeout=sb.CLI_TIMEOUT)
    if done.returncode != 0:
        raise BenchError(f"haproxy -c {cfg}: {(done.stdout + done.stderr).strip()}")


STARTERS = {"bulwark": start_bulwark, "nginx": start_nginx, "haproxy": start_haproxy}


# --- probes and load ------------------------------------------------------------------------


def public_get(port, ca, token=None, timeout=5):
    """GET PATH over TLS (the certificate verified against the bench's public CA); returns
    (status, body, TLS version)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", PATH, headers={"Authorization": f"Bearer {token}"} if token else {})
        version = conn.sock.version()
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace"), version
    finally:
        conn.close()


def check_variant(variant, setup):
    """The token passes (the backend's body), a tampered token and none are refused, TLS 1.3."""
    status, body, version = public_get(variant.port, setup.ca, setup.token)
    if status != 200 or body != sb.BODY:
        raise BenchError(f"a request through {variant.name} answered {status} {body[:200]!r}")
    if version != "TLSv1.3":
        raise BenchError(f"{variant.name} negotiated {version}")
    variant.tls = version
    if variant.name == "nginx":
        return  # nginx checks no token
    for token in (tampered(setup.token), None):
        status, _, _ = public_get(variant.port, setup.ca, token)
        if status not in (401, 403):
            raise BenchError(f"{variant.name} answered {status} to "
                             f"{'a tampered token' if token else 'no token'}")


def wrk(port, connections, duration, token):
    argv = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{duration}s",
            "--latency", "-H", f"Authorization: Bearer {token}", f"https://127.0.0.1:{port}{PATH}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchError(f"wrk exited {done.returncode}: {(done.stdout + done.stderr).strip()}")
    return sb.parse_wrk(done.stdout)


def measure(variant, connections, args, token):
    """Warm-up, then the measured run with RSS sampling; the processes must survive it."""
    if args.warmup > 0:
        wrk(variant.port, connections, args.warmup, token)
    sampler = sb.RssSampler(variant.instances)
    cpu_before = sb.instances_cpu(variant.instances)
    sampler.start()
    try:
        result = wrk(variant.port, connections, args.duration, token)
    finally:
        peak = sampler.finish()
    cpu_after = sb.instances_cpu(variant.instances)
    for _, process in variant.instances:
        if not process.alive():
            raise BenchError(f"{process.label} died under load ({process.proc.returncode}):\n"
                             f"{process.log_tail()}")
    requests = max(result["requests"], 1)
    result["rss_kib"] = peak
    result["cpu_us_per_request"] = {label: (cpu_after[label] - cpu_before[label]) * 1e6 / requests
                                    for label in cpu_after}
    result["errors"] = result["non_2xx"] + result["socket_errors"]
    return result


# --- report ---------------------------------------------------------------------------------


NOTES = {"bulwark": "gateway + sidecar, bearer JWT, rate limit, Txn-Token, mTLS",
         "nginx": "TLS termination only", "haproxy": "TLS + jwt_verify"}


def parts(values, fmt):
    """The sum of a per-process dict, and with several processes each of them: "46.0 (gateway
    30.0 + sidecar 16.0)"."""
    text = fmt(sb.total(values))
    if len(values) > 1:
        text += " (" + " + ".join(f"{label} {fmt(v)}" for label, v in values.items()) + ")"
    return text


def report(results, args, environment):
    """Markdown: every run, then bulwark's ratios to each peer in the same run."""
    lines = [f"Run of {environment['date']} ({environment['system']}; {environment['versions']}); "
             f"wrk {args.duration} s per run after a {args.warmup} s warm-up, HTTPS keep-alive; "
             f"{environment['cpus']} CPUs shared by wrk, the backend and the proxies; load "
             f"average {environment['load_before']} before, {environment['load_after']} after.",
             "",
             "| connections | workers | topology | requests/s | p50 ms | p99 ms | peak RSS MiB | "
             "CPU µs/request | errors |",
             "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for connections in args.connections:
        for workers in args.workers:
            runs = results.get((workers, connections), {})
            for name in args.topologies:
                r = runs.get(name)
                if r is None:
                    continue
                label = f"{name} ({NOTES[name]})"
                if "failed" in r:
                    lines.append(f"| {connections} | {workers} | {label} | FAILED: {r['failed']} "
                                 "| | | | | |")
                    continue
                errors = str(r["errors"]) if r["errors"] == 0 else f"**{r['errors']}**"
                lines.append(f"| {connections} | {workers} | {label} | {r['rps']:.0f} | "
                             f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                             f"{parts(r['rss_kib'], lambda v: sb.mib(v))} | "
                             f"{parts(r['cpu_us_per_request'], lambda v: f'{v:.0f}')} | "
                             f"{errors} |")
    lines += ["", "bulwark / peer in the same run (requests/s: higher is better; the others: "
              "lower is better; bulwark's RSS and CPU are the gateway's and the sidecar's "
              "summed):", "",
              "| connections | workers | peer | requests/s | p50 | p99 | peak RSS | CPU/request |",
              "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for connections in args.connections:
        for workers in args.workers:
            runs = results.get((workers, connections), {})
            ours = runs.get("bulwark")
            for peer in PEERS:
                theirs = runs.get(peer)
                if not ours or not theirs or "failed" in ours or "failed" in theirs:
                    continue
                cells = [sb.ratio(ours[k], theirs[k]) for k in ("rps", "p50_ms", "p99_ms")]
                cells += [sb.ratio(sb.total(ours[k]), sb.total(theirs[k]))
                          for k in ("rss_kib", "cpu_us_per_request")]
                lines.append(f"| {connections} | {workers} | {peer} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def csv_topologies(text):
    names = [v for v in text.split(",") if v]
    unknown = [n for n in names if n not in TOPOLOGIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown topology {unknown}; known: {TOPOLOGIES}")
    return [n for n in TOPOLOGIES if n in names]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Gateway benchmark: wrk -> TLS -> bulwark gateway (+ sidecar) / nginx / "
        "HAProxy -> backend, one run.")
    parser.add_argument("--bulwark", default=os.path.join(ROOT, "build", "bulwark"),
                        help="the bulwark binary (default build/bulwark)")
    parser.add_argument("--workers", type=sb.csv_ints, default=[1, 2],
                        help="worker counts, the same for every proxy (default 1,2)")
    parser.add_argument("--connections", type=sb.csv_ints, default=[16, 64],
                        help="wrk connection counts (default 16,64)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of unmeasured load before each run (default 2)")
    parser.add_argument("--topologies", type=csv_topologies, default=list(TOPOLOGIES),
                        help="subset of bulwark,nginx,haproxy (default all)")
    parser.add_argument("--markdown", help="also write the markdown report to this file")
    parser.add_argument("--json", help="write every run's raw numbers to this file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (configs, logs, certificates)")
    parser.add_argument("--no-install", action="store_true",
                        help="do not apt-get install missing packages")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be 1..600 and --warmup 0..60 seconds")
    return args


class Setup:
    """What every variant shares: certificates, the token, the authority."""

    def __init__(self, binary, processes, workdir):
        self.binary = binary
        self.certs = sb.Certificates(workdir)
        self.minter = self.certs.issue(binary, processes, keep_authority=True)
        self.jwks = os.path.join(workdir, "idp-jwks.json")  # written by Certificates.issue
        self.ca, self.cert, self.key, self.combined = make_public_cert(workdir)
        self.public_key = os.path.join(workdir, "idp-public.pem")
        sb.run_cli(["openssl", "pkey", "-in", self.minter.idp.path, "-pubout", "-out",
                    self.public_key])
        self.token = bearer_token(self.minter.idp)


def run_benchmark(args, processes, workdir):
    setup = Setup(args.bulwark, processes, workdir)
    log("authority up, SVIDs issued, bearer token signed")
    backend = sb.start_backend(processes, workdir)
    base = len(processes.started)
    results, tls = {}, {}
    for workers in args.workers:
        for name in args.topologies:
            variant = None
            try:
                variant = STARTERS[name](processes, workdir, setup, workers, backend)
                check_variant(variant, setup)
                tls[name] = variant.tls
            except (BenchError, OSError, http.client.HTTPException, ssl.SSLError,
                    subprocess.SubprocessError) as e:
                log(f"{name} with {workers} worker(s) FAILED to start: {e}")
                for connections in args.connections:
                    results.setdefault((workers, connections), {})[name] = {
                        "failed": f"start: {sb.first_line(e)}"}
                sb.stop_variant(processes, None, base)
                continue
            for connections in args.connections:
                log(f"{name}, {workers} worker(s), {connections} connections")
                runs = results.setdefault((workers, connections), {})
                try:
                    runs[name] = measure(variant, connections, args, setup.token)
                except (BenchError, subprocess.SubprocessError) as e:
                    log(f"{name} FAILED: {e}")
                    runs[name] = {"failed": sb.first_line(e)}
                    if any(not p.alive() for _, p in variant.instances):
                        break
            sb.stop_variant(processes, None, base)
    return results, tls


def main(argv):
    args = parse_args(argv)
    if not os.access(args.bulwark, os.X_OK):
        print(f"gateway-bench: {args.bulwark} is not an executable (run scripts/build first)",
              file=sys.stderr)
        return 2
    try:
        if not args.no_install:
            sb.ensure_packages()
    except BenchError as e:
        print(f"gateway-bench: {e}", file=sys.stderr)
        return 1
    for tool in sb.PACKAGES:
        if shutil.which(tool) is None:
            print(f"gateway-bench: {tool} is not installed", file=sys.stderr)
            return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="bulwark-gateway-bench-")
    processes = sb.Processes(workdir)
    load_before = sb.load_average()
    try:
        results, tls = run_benchmark(args, processes, workdir)
    except BenchError as e:
        print(f"gateway-bench: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gateway-bench: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    environment = sb.environment_info(tls, load_before)
    text = report(results, args, environment)
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
