#!/usr/bin/env python3
"""The authority's sign-in and token endpoint throughput (issue 7), next to Keycloak's published
sizing (15 password logins/s and 120 client-credentials grants/s per vCPU, "Concepts for sizing
CPU and memory resources", Keycloak 24+):

    bench/run sso [--duration 5] [--clients 4] [--markdown FILE]

- logins: `POST /login` with the right password for an enrolled user (the password step, one
  argon2id verification at t=2, m=19 MiB on the authority's password workers; the TOTP step is
  not repeatable, a code works once);
- client_credentials: `POST /oauth2/token` with `grant_type=client_credentials` by a workload
  authenticated with its SVID (mTLS), an ES256 access token per grant;
- refresh: `POST /oauth2/token` with `grant_type=refresh_token` by a confidential OpenID Connect
  client, each client thread following its own rotating chain (a SQLite commit per grant).

Each variant runs `--clients` threads, each on one keep-alive HTTPS connection, for `--duration`
seconds against a fresh `bulwark authority serve` (2 request threads, the default). The clients
run on the same machine and take CPU from the authority: the figures are a lower bound.
Every answer is checked (303, 200); a failed request ends the run with an error, never counts.
The authority is stopped by its PID at the end, also on failure or Ctrl-C. Python 3 stdlib only;
the authority, enrolment and login helpers are tests/e2e's harness.py and sso.py.
Results and how to read them: docs/benchmarks.md ("Sign-ins and the token endpoint")."""

import argparse
import base64
import hashlib
import http.client
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
os.environ.setdefault("BULWARK_BINARY", os.path.join(HERE, "..", "..", "build", "bulwark"))

import harness  # noqa: E402
import sso  # noqa: E402

KEYCLOAK_PER_VCPU = {"logins": 15, "client_credentials": 120}
REDIRECT = "http://127.0.0.1:18999/cb"


class Connection:
    """One keep-alive HTTPS connection to the authority (optionally with a client certificate)."""

    def __init__(self, auth, cert=None, key=None):
        host, port = auth.host_port
        self.conn = http.client.HTTPSConnection(
            host, port, timeout=30, context=harness.ssl_context(auth.bundle, cert, key))

    def post(self, path, form, headers=None):
        hdrs = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        self.conn.request("POST", path, body=urllib.parse.urlencode(form), headers=hdrs)
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self):
        self.conn.close()


def run_threads(clients, duration, make_worker):
    """Runs `clients` workers (make_worker(i) -> step function returning True on success) for
    `duration` seconds; returns the successful operations per second."""
    counts = [0] * clients
    errors = []
    stop = time.monotonic() + duration

    def loop(i, step):
        try:
            while time.monotonic() < stop:
                step()
                counts[i] += 1
        except Exception as e:  # noqa: BLE001 (reported, and the run fails)
            errors.append(f"client {i}: {e}")

    steps = [make_worker(i) for i in range(clients)]
    start = time.monotonic()
    threads = [threading.Thread(target=loop, args=(i, s), daemon=True) for i, s in enumerate(steps)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 60)
    elapsed = time.monotonic() - start
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    return sum(counts) / elapsed


def healthz_latencies(auth, stop):
    """GETs /healthz on one keep-alive connection until `stop` is set; returns the latencies."""
    conn, out = Connection(auth), []
    try:
        while not stop.is_set() and len(out) < 100000:
            start = time.monotonic()
            conn.conn.request("GET", "/healthz")
            response = conn.conn.getresponse()
            response.read()
            if response.status != 200:
                raise AssertionError(f"/healthz: {response.status}")
            out.append(time.monotonic() - start)
            time.sleep(0.01)
    finally:
        conn.close()
    return out


def bench_logins(auth, clients, duration, latencies):
    """Password logins per second; `latencies` gets /healthz's latencies meanwhile."""
    sso.enrol(auth, "bench", "bench@example.org")
    stop = threading.Event()
    probe = threading.Thread(target=lambda: latencies.extend(healthz_latencies(auth, stop)),
                             daemon=True)
    probe.start()
    try:
        return bench_password_steps(auth, clients, duration)
    finally:
        stop.set()
        probe.join(timeout=60)


def bench_password_steps(auth, clients, duration):

    def worker(_):
        browser = sso.Browser(auth, "127.0.0.1")
        form = {"csrf": browser.csrf(), "username": "bench", "password": sso.PASSWORD}
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        conn = Connection(auth)

        def step():
            status, body = conn.post("/login", form, {"Cookie": cookie})
            if status != 303:
                raise AssertionError(f"POST /login: {status} {body[:200]!r}")
        return step
    return run_threads(clients, duration, worker)


def bench_client_credentials(auth, clients, duration):
    cert, key = auth.fetch_identity(f"spiffe://{harness.TRUST_DOMAIN}/svc/orders")

    def worker(_):
        conn = Connection(auth, cert, key)

        def step():
            status, body = conn.post("/oauth2/token", {"grant_type": "client_credentials",
                                                       "scope": "orders:read"})
            if status != 200:
                raise AssertionError(f"client_credentials: {status} {body[:200]!r}")
        return step
    return run_threads(clients, duration, worker)


def first_refresh_token(auth, cookie, secret):
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    browser = sso.Browser(auth, "127.0.0.1")
    browser.cookies[sso.LOGIN_COOKIE] = cookie
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": "bench", "redirect_uri": REDIRECT,
        "scope": "openid", "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    status, headers, body = browser.request("GET", "/oauth2/authorize?" + query)
    if status != 302:
        raise AssertionError(f"authorize: {status} {body[:200]}")
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query))["code"]
    conn = Connection(auth)
    try:
        status, answer = conn.post("/oauth2/token", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier, "client_id": "bench", "client_secret": secret})
    finally:
        conn.close()
    if status != 200:
        raise AssertionError(f"authorization_code: {status} {answer[:200]!r}")
    return json.loads(answer)["refresh_token"]


def bench_refresh(auth, clients, duration):
    rc, out, err = auth.admin("client", "add", "bench", "--redirect-uri", REDIRECT)
    if rc != 0:
        raise AssertionError(f"client add: {out}{err}")
    secret = out.strip()
    cookie = sso.sign_in(auth, "refresher", "refresher@example.org")

    def worker(_):
        token = [first_refresh_token(auth, cookie, secret)]
        conn = Connection(auth)

        def step():
            status, body = conn.post("/oauth2/token", {
                "grant_type": "refresh_token", "refresh_token": token[0], "client_id": "bench",
                "client_secret": secret})
            if status != 200:
                raise AssertionError(f"refresh_token: {status} {body[:200]!r}")
            token[0] = json.loads(body)["refresh_token"]
        return step
    return run_threads(clients, duration, worker)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()
    if not 1 <= args.clients <= 64 or not 0 < args.duration <= 120:
        parser.error("--clients is 1..64 and --duration 0..120 seconds")
    cleanups = []
    try:
        auth = harness.Authority(lambda fn, *a: cleanups.append((fn, a))).init()
        mesh = harness.write(os.path.join(auth.tmpdir("bench"), "mesh.yaml"), f"""trust_domain: {harness.TRUST_DOMAIN}
authority:
  listen: 127.0.0.1:0
services:
  orders:
    port: 19001
    scopes: [orders:read]
""")
        auth.serve_args = ["--config", mesh]
        auth.start()
        vcpus = os.cpu_count() or 1
        rows = [("logins", "password logins (`POST /login`)", None),
                ("client_credentials", "client-credentials grants", bench_client_credentials),
                ("refresh", "refresh-token grants (rotating)", bench_refresh)]
        lines = ["| operation | bulwark /s | per vCPU | Keycloak's sizing per vCPU | ratio |",
                 "| --- | ---: | ---: | ---: | ---: |"]
        latencies = []
        rows[0] = ("logins", rows[0][1],
                   lambda a, c, d: bench_logins(a, c, d, latencies))
        for key, label, bench in rows:
            rate = bench(auth, args.clients, args.duration)
            peer = KEYCLOAK_PER_VCPU.get(key)
            lines.append(f"| {label} | {rate:.0f} | {rate / vcpus:.1f} | "
                         f"{peer if peer else '-'} | "
                         f"{f'{rate / vcpus / peer:.2f}' if peer else '-'} |")
        latencies.sort()
        if latencies:
            p50 = latencies[len(latencies) // 2] * 1000
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
            lines.append(f"\n`GET /healthz` during the logins: {len(latencies)} requests, "
                         f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
        text = "\n".join(lines)
        print(f"{vcpus} vCPU, {args.clients} client threads, {args.duration:g} s each\n{text}")
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(text + "\n")
        return 0
    finally:
        for fn, fn_args in reversed(cleanups):
            try:
                fn(*fn_args)
            except Exception as e:  # noqa: BLE001 (keep cleaning up)
                print(f"cleanup: {e}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
