"""What the DVD rental services share: a small JSON-over-HTTP server and calls to other services.

The services know nothing of bulwark beyond two things:
- they call other services as http://<name>/... through the address in BULWARK_OUTBOUND (their
  sidecar's outbound listener, used by Host header), and forward the Txn-Token header of the
  request they are serving, so the callee's sidecar sees the user the call is made for;
- they read the user from the claims of that Txn-Token. Its signature was verified by their own
  sidecar before the request reached them, so decoding the payload is enough here.
Standard library only.
"""

import base64
import http.client
import http.server
import json
import os
import re
import sys
import threading

TXN_TOKEN = "Txn-Token"


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Request:
    def __init__(self, handler, params, body):
        self.method = handler.command
        self.path = handler.path
        self.params = params
        self.body = body
        self.headers = handler.headers

    def txn_token(self):
        return self.headers.get(TXN_TOKEN)

    def claims(self):
        """The claims of the verified transaction token; 401 when there is none."""
        token = self.txn_token()
        if not token or token.count(".") != 2:
            raise HttpError(401, "no transaction token")
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload))

    def user(self):
        return self.claims()["sub"]

    def json_field(self, name, kind):
        if not isinstance(self.body, dict) or not isinstance(self.body.get(name), kind):
            raise HttpError(400, f"body needs {name!r} ({kind.__name__})")
        return self.body[name]


def call(service, method, path, txn_token=None, body=None, timeout=5):
    """Calls http://<service><path> through the sidecar; returns (status, decoded JSON or None)."""
    host, _, port = os.environ.get("BULWARK_OUTBOUND", "127.0.0.1:15002").rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {"Host": service}
    if txn_token:
        headers[TXN_TOKEN] = txn_token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError:
        decoded = None
    return response.status, decoded


def serve(name, routes, default_port):
    """Serves `routes` ([(method, path regex, handler(Request) -> (status, body))]) on loopback."""
    compiled = [(method, re.compile(f"^{pattern}$"), fn) for method, pattern, fn in routes]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = name

        def _handle(self):
            status, body = 404, {"error": "not found"}
            try:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parsed = json.loads(raw) if raw else None
                path = self.path.split("?", 1)[0]
                allowed = False
                for method, pattern, fn in compiled:
                    match = pattern.match(path)
                    if match:
                        allowed = True
                        if method == self.command:
                            status, body = fn(Request(self, match.groupdict(), parsed))
                            break
                else:
                    if allowed:
                        status, body = 405, {"error": "method not allowed"}
            except HttpError as error:
                status, body = error.status, {"error": error.message}
            except ValueError:
                status, body = 400, {"error": "body is not JSON"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, fmt, *args):
            sys.stderr.write(f"{name}: {fmt % args}\n")

    port = int(os.environ.get("PORT", default_port))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"{name}: listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


class Store:
    """State in memory behind one lock; each service is one process."""

    def __init__(self):
        self.lock = threading.Lock()
