"""End-to-end tests of the gateway's route rewrite and request validation, and of its TLS
certificate reload, against a real authority, gateway, sidecar and a recording backend:
`strip_prefix` reaches the backend with the stripped path, and spellings that normalize around
the prefix (`..`, `%2e%2e`, `//`) reach nothing the route does not cover; 415 for a body with no,
a wrong or a non-UTF-8 JSON Content-Type; 400 with the JSON pointer of the first schema failure;
413 past max_body; on SIGHUP new handshakes get the new certificate while a connection opened
before keeps working, and a bad file keeps the current certificate. Loopback only; every process
is stopped by PID through cleanups; every loop is bounded."""

import http.client
import json
import os
import signal
import socket
import ssl
import time
import unittest

import harness
from harness import Authority, free_ports
import test_gateway
from test_gateway import Gateway, make_public_cert
from test_sidecar import Sidecar, _read, service_yaml, start_backend_server
from test_sidecar_attacks import RecordingHandler

RENTAL_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["film_id", "customer"],
    "additionalProperties": False,
    "properties": {
        "film_id": {"type": "integer", "minimum": 1},
        "customer": {"type": "string", "minLength": 1, "maxLength": 40},
        "extras": {"type": "array", "maxItems": 3, "items": {"enum": ["popcorn", "soda"]}},
    },
}
GOOD = json.dumps({"film_id": 7, "customer": "ann", "extras": ["soda"]})


class GatewayValidationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup).init().start()
        cls.root = cls.auth.tmpdir("mesh")
        cls.ca, cls.cert, cls.key = make_public_cert(cls.root)
        cls.backend = start_backend_server(cls.addClassCleanup, "contract", RecordingHandler)
        ports = free_ports(5)
        cls.public, gateway_admin, sidecar_ports = ports[0], ports[1], tuple(ports[2:5])
        os.makedirs(os.path.join(cls.root, "schemas"))
        harness.write(os.path.join(cls.root, "schemas", "rental.json"), json.dumps(RENTAL_SCHEMA))
        # ARCHITECTURE §11: the gateway serves /api/rentals, the contract service's rules allow
        # /rentals. The sidecar's policy is the second check that nothing else gets through.
        mesh = "\n".join([
            f"trust_domain: {harness.TRUST_DOMAIN}",
            "gateway:",
            f"  listen: \"127.0.0.1:{cls.public}\"",
            f"  tls: {{ cert: {cls.cert}, key: {cls.key} }}",
            "  routes:",
            "    - { prefix: /api/rentals, service: contract, auth: [none], strip_prefix: /api,",
            "        methods: [GET, POST], max_body: 1KiB, schema: schemas/rental.json }",
            "    - { prefix: /api/notes, service: contract, auth: [none], strip_prefix: /api,",
            "        content_types: [text/plain, application/json] }",
            "services:",
            service_yaml("contract", cls.backend.server_address[1], sidecar_ports,
                         allow=("{ from: gateway, paths: [/rentals, /rentals/**, /notes/**] }",)),
            ""])
        cls.mesh = harness.write(os.path.join(cls.root, "mesh.yaml"), mesh)
        Sidecar(cls, cls.auth, cls.mesh, "contract", sidecar_ports).wait_ready()
        cls.gateway = Gateway(cls, cls.auth, cls.mesh, gateway_admin).wait_ready()
        cls.warm_up()

    @classmethod
    def warm_up(cls, within=15):
        """Requests until one passes: a sidecar may refuse the first tokens of a fresh gateway's
        key for a moment (docs/gateway.md#transaction-tokens)."""
        probe = object.__new__(cls)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if probe.request("GET", "/api/rentals")[0] == 200:
                return
            time.sleep(0.1)
        raise AssertionError("the gateway never forwarded a request")

    # The helpers of test_gateway read only class attributes: ca, public.
    context = test_gateway.GatewayTest.context
    request = test_gateway.GatewayTest.request

    def post(self, body, content_type="application/json", target="/api/rentals"):
        headers = {} if content_type is None else {"Content-Type": content_type}
        return self.request("POST", target, body=body.encode(), headers=headers)

    def raw(self, data, timeout=5):
        """Sends raw bytes over TLS; returns the status code of the answer."""
        with socket.create_connection(("127.0.0.1", self.public), timeout=timeout) as sock:
            with self.context().wrap_socket(sock, server_hostname="localhost") as tls:
                tls.sendall(data)
                return int(tls.recv(65536).decode(errors="replace").split(" ", 2)[1])

    def seen_since(self, mark):
        return [path for _, path in list(self.backend.seen)[mark:]]

    # --- strip_prefix ---------------------------------------------------------------------
    def test_strip_prefix_forwards_the_path_without_the_prefix(self):
        for target, forwarded in [("/api/rentals", "/rentals"), ("/api/rentals/7", "/rentals/7"),
                                  ("/api/rentals/7?full=1", "/rentals/7?full=1"),
                                  ("//api//rentals//7", "/rentals/7"),
                                  ("/api/rentals/./8/../7", "/rentals/7")]:
            with self.subTest(target=target):
                status, _, body = self.request("GET", target)
                self.assertEqual((status, body["path"]), (200, forwarded), body)

    def test_spellings_around_the_prefix_reach_nothing_the_route_does_not_cover(self):
        mark = len(self.backend.seen)
        attempts = {
            "/api/rentals/../admin": 404, "/api/rentals/%2e%2e/%2e%2e/admin": 404,
            "/api/rentals/%2E%2E": 404, "/api/../rentals/7": 404, "/api/rentalsx": 404,
            "/api/rentals/..%2Fadmin": 400, "/api/rentals/..%5Cadmin": 400,
            "/api/rentals/..\\admin": 400, "/api//..//admin": 404, "/api/rentals/%2e%2e%2fadmin": 400,
        }
        for target, expected in attempts.items():
            with self.subTest(target=target):
                self.assertEqual(self.raw(f"GET {target} HTTP/1.1\r\nHost: localhost\r\n"
                                          "Connection: close\r\n\r\n".encode()), expected)
        self.assertEqual(self.seen_since(mark), [])

    # --- content types, schema, size ------------------------------------------------------
    def test_bodies_without_an_accepted_content_type_get_415_with_a_reason(self):
        mark = len(self.backend.seen)
        cases = [
            (None, "a body needs a Content-Type here: application/json"),
            ("text/plain", "Content-Type text/plain is not accepted here; use application/json"),
            ("application/json; charset=iso-8859-1", "JSON must be UTF-8, not charset=iso-8859-1"),
            ("application/json; charset", "malformed Content-Type"),
            ("application/json, text/plain", "malformed Content-Type"),
        ]
        for content_type, reason in cases:
            with self.subTest(content_type=content_type):
                status, _, body = self.post(GOOD, content_type)
                self.assertEqual((status, body["error"]), (415, "unsupported_media_type"), body)
                self.assertIn(reason, body["error_description"])
        self.assertEqual(
            self.raw(f"POST /api/rentals HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                     f"application/json\r\nContent-Type: text/plain\r\nContent-Length: "
                     f"{len(GOOD)}\r\nConnection: close\r\n\r\n{GOOD}".encode()),
            415)
        status, _, body = self.post("a note", "text/html", target="/api/notes/1")
        self.assertEqual(status, 415, body)
        self.assertEqual(self.seen_since(mark), [])

    def test_accepted_content_types_pass_whatever_their_case_and_utf8_parameter(self):
        for content_type in ("application/json", "Application/JSON", 'application/json; '
                             'charset="UTF-8"', "application/json;charset=utf-8"):
            with self.subTest(content_type=content_type):
                status, _, body = self.post(GOOD, content_type)
                self.assertEqual((status, body["path"], body["body"]), (200, "/rentals", GOOD))
        status, _, body = self.post("a note", "text/plain; charset=latin1", target="/api/notes/1")
        self.assertEqual((status, body["path"]), (200, "/notes/1"), body)

    def test_bodies_that_break_the_schema_get_400_with_the_pointer(self):
        mark = len(self.backend.seen)
        cases = [
            ('{"film_id": 0, "customer": "ann"}', "/film_id", "must be at least 1"),
            ('{"film_id": "7", "customer": "ann"}', "/film_id", "must be of type integer"),
            ('{"film_id": 7}', "", 'the member "customer" is required'),
            ('{"film_id": 7, "customer": "ann", "extras": ["soda", "beer"]}', "/extras/1",
             "must be one of the schema's enum values"),
            ('{"film_id": 7, "customer": "ann", "price": 0}', "/price", "is not allowed"),
            ('{"film_id": 7, "customer": "ann", "film_id": 8}', "", "not valid JSON"),
            ('{"film_id": 7, ', "", "not valid JSON"),
            ("[" * 100 + "]" * 100, "", "not valid JSON"),
        ]
        for text, pointer, reason in cases:
            with self.subTest(body=text[:40]):
                status, _, body = self.post(text)
                self.assertEqual((status, body["error"], body["pointer"]),
                                 (400, "invalid_body", pointer), body)
                self.assertIn(reason, body["error_description"])
        self.assertEqual(self.seen_since(mark), [])

    def test_a_body_over_max_body_gets_413(self):
        mark = len(self.backend.seen)
        big = json.dumps({"film_id": 7, "customer": "x" * 2000})
        status, _, body = self.post(big)
        self.assertEqual((status, body["error"]), (413, "payload_too_large"), body)
        self.assertEqual(self.seen_since(mark), [])

    # --- TLS reload -----------------------------------------------------------------------
    def served_certificate(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # only reads which certificate is served
        with socket.create_connection(("127.0.0.1", self.public), timeout=5) as sock:
            with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
                return tls.getpeercert(binary_form=True)

    def whole_log(self):
        return harness.read(self.gateway.log_path, "rb").decode(errors="replace")

    def hangup_and_wait(self, log_text):
        before = self.whole_log().count(log_text)
        os.kill(self.gateway.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.whole_log().count(log_text) > before:
                return
            time.sleep(0.05)
        self.fail(f"no '{log_text}' in the log after SIGHUP:\n{self.gateway.log()}")

    def install(self, cert_text, key_text=None):
        """Replaces the configured certificate (and key) files, each in one rename."""
        if key_text is not None:
            os.replace(harness.write(self.key + ".tmp", key_text, 0o600), self.key)
        os.replace(harness.write(self.cert + ".tmp", cert_text), self.cert)

    def test_sighup_reloads_the_certificate_for_new_handshakes_only(self):
        def der(path):
            return ssl.PEM_cert_to_DER_cert(harness.read(path))

        first_cert, first_key = harness.read(self.cert), harness.read(self.key)
        first_der = ssl.PEM_cert_to_DER_cert(first_cert)

        def restore():  # the other tests trust the first CA
            self.install(first_cert, first_key)
            self.hangup_and_wait("TLS certificate reloaded")

        self.assertEqual(self.served_certificate(), first_der)
        # A keep-alive connection opened before the reload.
        old = http.client.HTTPSConnection("localhost", self.public, context=self.context(),
                                          timeout=15)
        self.addCleanup(old.close)
        old.request("GET", "/api/rentals/1")
        self.assertEqual(_read(old.getresponse())[0], 200)

        new_ca, new_cert, new_key = make_public_cert(self.auth.tmpdir("second-cert"))
        new_der = ssl.PEM_cert_to_DER_cert(harness.read(new_cert))
        self.addCleanup(restore)
        self.install(harness.read(new_cert), harness.read(new_key))
        self.hangup_and_wait("TLS certificate reloaded")
        self.assertEqual(self.served_certificate(), new_der)
        # The old connection keeps its session and its certificate.
        old.request("GET", "/api/rentals/2")
        self.assertEqual(_read(old.getresponse())[0], 200)
        self.assertEqual(old.sock.getpeercert(binary_form=True), first_der)
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=new_ca)
        conn = http.client.HTTPSConnection("localhost", self.public, context=ctx, timeout=15)
        self.addCleanup(conn.close)
        conn.request("GET", "/api/rentals/3")
        self.assertEqual(_read(conn.getresponse())[0], 200)

        # A broken certificate, then a certificate that does not match the key: both refused,
        # the current certificate stays.
        for bad in ("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
                    first_cert):
            self.install(bad)
            self.hangup_and_wait("TLS certificate reload failed")
            self.assertEqual(self.served_certificate(), new_der)
        self.assertIn("TLS certificate reload failed, keeping the current certificate: "
                      f"gateway.tls.cert {self.cert}", self.whole_log())


if __name__ == "__main__":
    unittest.main()
