"""The second half of scripts/demo: a two-service mesh on loopback. The authority (already
initialised in STATE/authority) serves mesh.yaml; `contract` calls `user` through two sidecars
over mutual TLS; user's policy lets contract charge a user only with that user's transaction
token; the gateway's identity exchanges an identity provider's user token for one. Every step
says what happened; every process started here is stopped by its PID at the end.

Usage: python3 scripts/demo_mesh.py BULWARK STATE_DIR"""

import http.client
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import es256  # noqa: E402  (the tests' openssl-backed ES256 signer: one way to mint tokens)

TD = "demo.example"


def step(text):
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class UserService(http.server.BaseHTTPRequestHandler):
    """The `user` service: answers with what it was told, including who called it."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"charged": self.path.split("/")[2],
                           "caller": self.headers.get("X-Bulwark-Peer-Id")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def call(port, path, headers=None):
    """POSTs through contract's outbound listener, as the contract service would."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body=b"{}", headers={"Host": "user", **(headers or {})})
    response = conn.getresponse()
    return response.status, response.read().decode()


def main(bulwark, state):
    os.chdir(state)
    procs = []

    def start(name, argv):
        log = open(f"{name}.log", "wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        procs.append((name, proc))
        return proc

    try:
        run(bulwark, start)
    finally:
        for name, proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run(bulwark, start):
    step("10. A mesh: contract calls user; user lets contract charge a user only for that user")
    os.makedirs("idp", exist_ok=True)
    idp = es256.Es256Key("idp")
    with open("idp/jwks.json", "w") as f:
        json.dump({"keys": [idp.jwk()]}, f)
    (authority, c_in, c_out, c_admin, u_in, u_out, u_admin) = free_ports(7)
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), UserService)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    mesh = f"""trust_domain: {TD}
authority:
  listen: 127.0.0.1:{authority}
  data_dir: authority
gateway:
  issuers:
    - {{ name: idp, issuer: https://idp.demo, jwks: file:idp/jwks.json, audiences: [api://demo] }}
services:
  contract:
    port: 1
    calls: [user]
    sidecar: {{ inbound: 127.0.0.1:{c_in}, outbound: 127.0.0.1:{c_out}, admin: 127.0.0.1:{c_admin} }}
  user:
    port: {backend.server_address[1]}
    allow:
      - from: contract
        methods: [POST]
        paths: ["/users/{{id}}/charge"]
        when: token.sub == path.id && "rentals:charge" in token.scope
    sidecar: {{ inbound: 127.0.0.1:{u_in}, outbound: 127.0.0.1:{u_out}, admin: 127.0.0.1:{u_admin} }}
"""
    with open("mesh.yaml", "w") as f:
        f.write(mesh)
    print(mesh)
    subprocess.run([bulwark, "policy", "check", "mesh.yaml"], check=True)

    step("11. The authority serves the mesh; each sidecar joins with a one-time token")
    if os.path.exists("authority/endpoint"):
        os.remove("authority/endpoint")  # the first half's authority wrote it; it has stopped
    start("authority", [bulwark, "authority", "serve", "--config", "mesh.yaml"])
    url = f"https://127.0.0.1:{authority}"
    deadline = time.monotonic() + 30
    while not os.path.exists("authority/endpoint") and time.monotonic() < deadline:
        time.sleep(0.1)
    for name in ("contract", "user"):
        subprocess.run([bulwark, "authority", "token", "create", "--data-dir", "authority",
                        "--spiffe-id", f"spiffe://{TD}/svc/{name}", "--out", f"{name}.token"],
                       check=True, stdout=subprocess.DEVNULL)
        start(f"sidecar-{name}", [bulwark, "sidecar", "--config", "mesh.yaml", "--service", name,
                                  "--authority", url, "--bundle", "authority/bundle.pem",
                                  "--token-file", f"{name}.token",
                                  "--decision-log", f"decisions-{name}.jsonl"])
    for port in (c_admin, u_admin):
        wait_until_ready(port)
    print(f"contract's sidecar: outbound 127.0.0.1:{c_out}; user's sidecar: inbound "
          f"127.0.0.1:{u_in} (mTLS)")

    step("12. contract charges alice without a transaction token: the policy says no")
    status, body = call(c_out, "/users/alice/charge")
    print(f"  POST http://user/users/alice/charge -> {status} {body}")
    expect(status == 403, "a call without a token must be refused")

    step("13. The gateway exchanges alice's login token for a 60-second transaction token")
    subprocess.run([bulwark, "authority", "token", "create", "--data-dir", "authority",
                    "--spiffe-id", f"spiffe://{TD}/gateway", "--out", "gateway.token"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([bulwark, "identity", "fetch", "--authority", url, "--bundle",
                    "authority/bundle.pem", "--token-file", "gateway.token", "--out", "gateway"],
                   check=True, stdout=subprocess.DEVNULL)
    now = int(time.time())
    login = idp.sign({"iss": "https://idp.demo", "aud": "api://demo", "sub": "alice",
                      "scope": "rentals:charge rentals:read", "iat": now, "exp": now + 300})
    txn = exchange(url, login)
    _, claims = es256.decode(txn)
    print("  transaction token claims:", json.dumps(claims))

    step("14. With alice's transaction token, contract may charge alice (idp:alice: her sub is "
         "qualified by the issuer that vouched for her, sub_iss idp)")
    status, body = call(c_out, "/users/idp:alice/charge", {"Txn-Token": txn})
    print(f"  POST http://user/users/idp:alice/charge -> {status} {body}")
    expect(status == 200, "the allowed call must pass")
    status, body = call(c_out, "/users/alice/charge", {"Txn-Token": txn})
    print(f"  POST http://user/users/alice/charge -> {status} {body}  (idp's alice is not a "
          "local alice)")
    expect(status == 403, "a partner's user must not pass for a local one")

    step("15. The confused deputy: the same token cannot make user charge bob")
    status, body = call(c_out, "/users/idp:bob/charge", {"Txn-Token": txn})
    print(f"  POST http://user/users/idp:bob/charge -> {status} {body}")
    expect(status == 403, "charging another user must be refused")
    status, body = call(c_out, "/users/idp:alice/../idp:bob/charge", {"Txn-Token": txn})
    print(f"  POST http://user/users/idp:alice/../idp:bob/charge -> {status} {body}  "
          "(normalized first)")
    expect(status == 403, "a dot-segment detour must be refused")
    tampered = txn[:-4] + ("AAAA" if not txn.endswith("AAAA") else "BBBB")
    status, body = call(c_out, "/users/idp:alice/charge", {"Txn-Token": tampered})
    print(f"  with a tampered token -> {status} {body}")
    expect(status == 401, "a tampered token must be refused")

    step("16. Nobody reaches user without a certificate from the trust domain")
    context = ssl.create_default_context(cafile="authority/bundle.pem")
    context.check_hostname = False
    try:
        with socket.create_connection(("127.0.0.1", u_in), timeout=5) as raw:
            with context.wrap_socket(raw) as tls:
                tls.sendall(b"POST /users/alice/charge HTTP/1.1\r\nHost: user\r\n"
                            b"Content-Length: 0\r\n\r\n")
                answer = tls.recv(100)
        expect(not answer, "a client without a certificate must be refused")
        print("  the connection was closed without an answer")
    except (ssl.SSLError, ConnectionError) as error:
        print(f"  refused in the TLS handshake: {error.__class__.__name__}")

    step("17. user's decision log says why (the callers were only told 'not allowed')")
    time.sleep(0.3)
    with open("decisions-user.jsonl") as f:
        for line in f:
            d = json.loads(line)
            why = d.get("reason") or f"rule {d.get('rule')}: {d.get('description', '')}"
            print(f"  {d['decision']:5} {d['method']} {d['path']:22} {why}")


def wait_until_ready(port):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"demo: the sidecar with admin port {port} did not become ready")


def exchange(url, subject_token):
    context = ssl.create_default_context(cafile="authority/bundle.pem")
    context.check_hostname = False
    context.load_cert_chain("gateway/svid.pem", "gateway/key.pem")
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPSConnection(parsed.hostname, parsed.port, context=context, timeout=10)
    form = urllib.parse.urlencode({
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "requested_token_type": "urn:ietf:params:oauth:token-type:txn_token",
        "subject_token": subject_token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "scope": "rentals:charge"})
    conn.request("POST", "/oauth2/token", body=form,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    body = json.loads(response.read())
    expect(response.status == 200, f"token exchange failed: {body}")
    return body["access_token"]


def expect(condition, message):
    if not condition:
        raise SystemExit(f"demo: unexpected: {message}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
