"""End-to-end test of a service on a Unix socket (`services.<name>.socket` in mesh.yaml): a real
authority, sidecars for a and b, and b's backend a Python HTTP server on a Unix socket. A call
from a through a's outbound listener crosses mTLS to b's sidecar, which relays it over the
socket with the verified caller in X-Bulwark-Peer-Id, on a pooled keep-alive connection.
Loopback and a private temporary directory only; every process is stopped by its PID through
class cleanups; every wait is bounded."""

import os
import socketserver
import unittest

import harness
import test_sidecar
from harness import Authority, free_ports
from test_sidecar import EchoHandler, Sidecar, http_request, serve_in_thread, service_yaml, sid


class UnixEchoHandler(EchoHandler):
    disable_nagle_algorithm = False  # TCP_NODELAY does not apply to a Unix socket


def start_unix_backend(add_cleanup, name, path):
    """An echoing backend (EchoHandler's answers) for `name` listening on the Unix socket
    `path`."""
    server = socketserver.ThreadingUnixStreamServer(path, UnixEchoHandler)
    return serve_in_thread(add_cleanup, server, name)


def on_socket(service_block, path):
    """services.<name> of service_yaml with its `port:` line replaced by `socket: path`."""
    lines = service_block.split("\n")
    return "\n".join(f"    socket: {path}" if line.startswith("    port: ") else line
                     for line in lines)


class SidecarUnixSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup).init().start()
        cls.root = cls.auth.tmpdir("mesh")
        ports = free_ports(8)
        cls.ports = {"a": tuple(ports[0:3]), "b": tuple(ports[3:6])}
        a_backend, b_listen = ports[6], ports[7]  # nothing listens on a's port: unused here
        cls.b_listen = b_listen
        cls.socket_path = os.path.join(cls.auth.tmpdir("sockets"), "b.sock")
        start_unix_backend(cls.addClassCleanup, "b", cls.socket_path)
        mesh = "\n".join([
            f"trust_domain: {harness.TRUST_DOMAIN}", "services:",
            service_yaml("a", a_backend, cls.ports["a"],
                         calls=[f"{{ service: b, listen: \"127.0.0.1:{b_listen}\" }}"]),
            on_socket(service_yaml("b", 1, cls.ports["b"]), cls.socket_path), ""])
        cls.mesh = harness.write(os.path.join(cls.root, "mesh.yaml"), mesh)
        cls.sidecars = {n: Sidecar(cls, cls.auth, cls.mesh, n, cls.ports[n]) for n in "ab"}
        for sidecar in cls.sidecars.values():
            sidecar.wait_ready()

    scrape = test_sidecar.SidecarTest.scrape  # reads /metrics of self.sidecars[name]

    def test_call_reaches_the_socket_backend_with_the_verified_peer_id(self):
        status, _, body = http_request(self.ports["a"][1], "POST", "/hello?q=1",
                                       headers={"Host": "b", "X-Bulwark-Peer-Id": sid("b")},
                                       body=b"ping")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["service"], "b")
        self.assertEqual((body["method"], body["path"], body["body"]), ("POST", "/hello?q=1", "ping"))
        # The forged copy is gone: only the ID verified by mTLS reaches the service.
        self.assertEqual(body["headers"]["x-bulwark-peer-id"], sid("a"))
        self.assertEqual(body["headers"]["host"], "localhost")

    def test_socket_connections_are_pooled(self):
        opened = 'bulwark_sidecar_upstream_connections_opened_total{direction="inbound"}'
        reused = 'bulwark_sidecar_upstream_connections_reused_total{direction="inbound"}'
        before = self.scrape("b")
        for i in range(20):
            status, _, body = http_request(self.b_listen, target=f"/pooled/{i}")
            self.assertEqual(status, 200, body)
            self.assertEqual(body["path"], f"/pooled/{i}")
        after = self.scrape("b")
        self.assertLessEqual(after.get(opened, 0) - before.get(opened, 0), 1)
        self.assertGreaterEqual(after.get(reused, 0) - before.get(reused, 0), 19)


if __name__ == "__main__":
    unittest.main()
