"""End-to-end test of the gateway's delegated transaction-token key: a real `authority serve`,
the gateway role (txn_signer_tool: proxy::TxnSigner with the gateway's SVID from the real CLI)
registering its key over mTLS, and a live `bulwark sidecar` for service `user` whose policy
admits the gateway for user-1's transaction token. The minted token is accepted on inbound; a
token signed with the same key but naming another workload in req_wl is refused (401); a
workload other than the gateway cannot register a key (403); the key is published marked as
delegated and survives an authority restart.
Loopback only; every process is stopped by its PID through class cleanups; waits are bounded."""

import json
import os
import subprocess
import time
import unittest

import es256
import harness
from test_sidecar import (EchoHandler, Sidecar, free_ports, mtls_request,
                          start_backend_server)

TD = harness.TRUST_DOMAIN
TD_ID = f"spiffe://{TD}"
TOOL = os.environ.get("TXN_SIGNER_TOOL", "/work/main/build/tests/e2e/txn_signer_tool")


class RecordingBackend(EchoHandler):
    def _answer(self):
        self.server.seen.append(self.headers.get("Txn-Token"))
        super()._answer()

    do_GET = do_POST = _answer


class TxnSignerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = harness.Authority(cls.addClassCleanup).init()
        cls.work = cls.auth.tmpdir("txn-signer")
        cls.backend = start_backend_server(cls.addClassCleanup, "user", RecordingBackend)
        cls.ports = free_ports(3)
        inbound, outbound, admin = cls.ports
        mesh = "\n".join([
            f"trust_domain: {TD}", "services:",
            "  user:", f"    port: {cls.backend.server_address[1]}",
            "    allow:",
            "      - from: gateway",
            "        when: token.sub == \"user-1\" && token.req_wl == \"" + TD_ID + "/gateway\"",
            f"    sidecar: {{ inbound: \"127.0.0.1:{inbound}\", outbound: \"127.0.0.1:{outbound}\","
            f" admin: \"127.0.0.1:{admin}\" }}", ""])
        cls.config = harness.write(os.path.join(cls.work, "mesh.yaml"), mesh)
        cls.auth.serve_args = ["--config", cls.config]
        cls.auth.start()
        cls.gateway = cls.auth.fetch_identity(TD_ID + "/gateway")
        # The gateway registers its key before the sidecar first fetches the JWKS.
        cls.minted = cls.run_tool("user-1", TD_ID + "/svc/billing")
        cls.sidecar = Sidecar(cls, cls.auth, cls.config, "user", cls.ports).wait_ready()

    @classmethod
    def run_tool(cls, subject, forged_req_wl):
        cert, key = cls.gateway
        done = subprocess.run([TOOL, cls.auth.url, cls.auth.bundle, cert, key, subject,
                               forged_req_wl], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise AssertionError(f"txn_signer_tool failed rc={done.returncode}: {done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])  # after the log lines

    def inbound(self, token):
        """GETs from the sidecar's inbound listener with the gateway's SVID and `token`."""
        status, _, body = mtls_request(self.ports[0], self.auth.bundle, *self.gateway,
                                       target="/users/user-1",
                                       headers={"Host": "user", "Txn-Token": token})
        return status, body

    def test_the_minted_token_is_accepted_and_the_forged_one_refused(self):
        token = self.minted["token"]
        header, claims = es256.decode(token)
        self.assertEqual(header["kid"], self.minted["kid"])
        self.assertEqual(header["typ"], "txntoken+jwt")
        self.assertEqual(claims["iss"], self.auth.url)
        self.assertEqual(claims["aud"], TD_ID)
        self.assertEqual(claims["req_wl"], TD_ID + "/gateway")
        self.assertEqual(claims["exp"] - claims["iat"], 60)
        status, body = self.inbound(token)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["headers"]["txn-token"], token)
        seen = len(self.backend.seen)
        # Attack: the gateway's key signs a token that says another workload asked.
        status, body = self.inbound(self.minted["forged"])
        self.assertEqual(status, 401, body)
        self.assertEqual(body["error"], "invalid_token")
        self.assertEqual(len(self.backend.seen), seen)
        deadline = time.monotonic() + 5
        while "delegated to" not in self.sidecar.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn("delegated to", self.sidecar.log())

    def test_the_jwks_marks_the_key_delegated_for_transaction_tokens(self):
        status, jwks = harness.https_request("GET", self.auth.url + "/oauth2/jwks",
                                             cafile=self.auth.bundle)
        self.assertEqual(status, 200, jwks)
        delegated = [k for k in jwks["keys"] if "bulwark_delegation" in k]
        kids = [k["kid"] for k in delegated]
        self.assertIn(self.minted["kid"], kids)
        marker = delegated[kids.index(self.minted["kid"])]["bulwark_delegation"]
        self.assertEqual(marker["workload"], TD_ID + "/gateway")
        self.assertEqual(marker["typ"], "txntoken+jwt")
        self.assertGreater(marker["exp"], time.time() + 3000)
        self.assertLessEqual(marker["exp"], time.time() + 3600 + 5)
        self.assertTrue(all(k["use"] == "sig" for k in jwks["keys"]))
        self.assertTrue(any(e["action"] == "txn-key.register" and
                            e["subject"] == self.minted["kid"] for e in self.auth.audit()))

    # Attack: a workload other than the gateway registers a key of its own.
    def test_only_the_gateway_may_register_a_key(self):
        cert, key = self.auth.fetch_identity(TD_ID + "/svc/billing")
        jwk = es256.Es256Key(self.auth.tmpdir("billing-key")).jwk()
        jwk.pop("kid", None)
        status, body = self.auth.post("/v1/txn-keys", {"jwk": jwk}, cert=cert, key=key)
        self.assertEqual(status, 403, body)
        self.assertIn("only the gateway", body["error_description"])
        status, body = self.auth.post("/v1/txn-keys", {"jwk": jwk})
        self.assertEqual(status, 401, body)
        status, jwks = harness.https_request("GET", self.auth.url + "/oauth2/jwks",
                                             cafile=self.auth.bundle)
        self.assertNotIn(json.dumps(jwk["x"]), json.dumps(jwks))

    def test_bad_registrations_are_clear_errors(self):
        cert, key = self.gateway
        for body, text in (({"jwk": {"kty": "oct", "k": "AAAA"}}, "private or symmetric"),
                           ({"key": {}}, "only member is \"jwk\""),
                           ("not json", "only member is \"jwk\"")):
            with self.subTest(body=body):
                status, answer = self.auth.post("/v1/txn-keys", body, cert=cert, key=key)
                self.assertEqual(status, 400, answer)
                self.assertIn(text, answer["error_description"])

    def test_zz_the_key_survives_an_authority_restart(self):
        self.auth.stop()
        self.auth.start()
        status, jwks = harness.https_request("GET", self.auth.url + "/oauth2/jwks",
                                             cafile=self.auth.bundle)
        self.assertEqual(status, 200, jwks)
        self.assertIn(self.minted["kid"], [k["kid"] for k in jwks["keys"]])


if __name__ == "__main__":
    unittest.main()
