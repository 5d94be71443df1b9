"""End-to-end test of the gateway's API keys (docs/gateway.md#api-keys): a real authority, the
gateway, one sidecar and a recording backend (the setup of test_gateway.GatewayTest). A key made
with `bulwark authority apikey create` admits requests on an `auth: [api_key]` route as Subject
api_key/<client>; the key itself never reaches the backend; a forged secret under the right id
is refused; `apikey revoke` makes the gateway answer 401 within 1 s (measured); the key never
appears in the gateway's or the authority's log. Loopback only; every process is stopped by PID
through cleanups; every loop is bounded in count and time."""

import time
import unittest

import es256
import harness
import test_gateway

GATEWAY_ID = test_gateway.GATEWAY_ID

REVOKE_WITHIN = 1.0  # seconds, the bound


class GatewayApiKeyTest(unittest.TestCase):
    # The same mesh and processes as GatewayTest, without rerunning its tests (so GatewayTest is
    # never bound to a name of this module, where unittest would find it).
    setUpClass = classmethod(test_gateway.GatewayTest.setUpClass.__func__)
    mesh_text = classmethod(test_gateway.GatewayTest.mesh_text.__func__)
    first_requests = classmethod(test_gateway.GatewayTest.first_requests.__func__)
    context = test_gateway.GatewayTest.context
    request = test_gateway.GatewayTest.request

    def create_key(self, client, scopes=None):
        args = ["apikey", "create", "--client", client] + (["--scopes", scopes] if scopes else [])
        rc, out, err = self.auth.admin(*args)
        self.assertEqual(rc, 0, err)
        key = out.strip()
        self.assertRegex(key, r"^bwk_[A-Za-z0-9_-]{11}_[A-Za-z0-9_-]{43}$")
        self.assertNotIn(key, err)
        return key, key[4:15]

    def keyed(self, key, header="X-Api-Key"):
        value = key if header == "X-Api-Key" else f"ApiKey {key}"
        return self.request(target="/keyed/x", headers={header: value})

    def wait_admitted(self, key, within=5.0):
        """Polls until the gateway's feed has the new key (bounded); returns the last answer."""
        deadline = time.monotonic() + within
        while True:
            answer = self.keyed(key)
            if answer[0] == 200 or time.monotonic() > deadline:
                return answer
            time.sleep(0.02)

    def logs(self):
        with open(self.gateway.log_path, "rb") as f:
            gateway = f.read().decode(errors="replace")
        return gateway + self.auth.log_text()

    def test_lifecycle_created_used_forged_revoked(self):
        key, key_id = self.create_key("billing", "orders:read orders:write")
        status, _, body = self.wait_admitted(key)
        self.assertEqual(status, 200, f"{body}\n{self.logs()[-3000:]}")
        seen = body["headers"]
        self.assertNotIn("x-api-key", seen)  # the key never travels past the gateway
        self.assertNotIn(key, str(body))
        _, claims = es256.decode(seen["txn-token"])
        self.assertEqual((claims["req_wl"], claims["sub"], claims["sub_iss"]),
                         (GATEWAY_ID, "billing", "api_key"))
        status, _, body = self.keyed(key, header="Authorization")
        self.assertEqual(status, 200, body)
        self.assertNotIn("authorization", body["headers"])

        forged = key[:-1] + ("A" if key[-1] != "A" else "B")
        before = list(self.backend.seen)
        status, _, body = self.keyed(forged)
        self.assertEqual(status, 401, body)
        self.assertEqual(self.request(target="/keyed/x", headers={
            "X-Api-Key": key, "Authorization": f"ApiKey {key}"})[0], 401)  # exactly one
        self.assertEqual(list(self.backend.seen), before)

        listed = self.auth.admin_json("apikey", "list")["apikeys"]
        self.assertIn(key_id, [k["id"] for k in listed])
        self.assertNotIn(key, str(listed))

        cli_started = time.monotonic()
        rc, out, err = self.auth.admin("apikey", "revoke", key_id)
        revoked_at = time.monotonic()  # the CLI returns once the revocation is committed
        self.assertEqual(rc, 0, out + err)
        statuses = []
        while time.monotonic() - revoked_at < 3 and statuses[-1:] != [401]:
            statuses.append(self.keyed(key)[0])
        elapsed = time.monotonic() - revoked_at
        print(f"\nAPI key revoked -> 401 after {elapsed * 1000:.0f} ms ({len(statuses)} requests;"
              f" {(time.monotonic() - cli_started) * 1000:.0f} ms including the revoke CLI)")
        self.assertEqual(statuses[-1], 401, statuses)
        self.assertLess(elapsed, REVOKE_WITHIN)
        self.assertNotEqual(self.auth.admin("apikey", "revoke", key_id)[0], 0)  # revoked already

        logs = self.logs()
        self.assertIn(key_id, logs)  # refusals and changes name the id...
        self.assertNotIn(key[15:], logs)  # ...never the secret
        self.assertNotIn(forged[15:], logs)

    def test_the_feed_needs_the_gateways_svid(self):
        rc, out, err = harness.run(["curl", "-s", "--cacert", self.auth.bundle, "-o", "/dev/null",
                                    "-w", "%{http_code}", f"{self.auth.url}/v1/apikeys/feed"])
        self.assertEqual((rc, out), (0, "401"), err)

    def test_bad_create_requests_are_refused_clearly(self):
        rc, out, err = self.auth.admin("apikey", "create", "--client", "has space")
        self.assertNotEqual(rc, 0)
        self.assertIn("client", err)
        rc, out, err = self.auth.admin("apikey", "create", "--client", "c", "--scopes", "a  b")
        self.assertNotEqual(rc, 0)
        self.assertIn("scopes", err)


if __name__ == "__main__":
    unittest.main()
