"""End-to-end tests of the gateway's browser sessions (docs/gateway.md#browser-sessions): a real
authority with the gateway registered as its OpenID Connect client by the real CLI, the gateway
with gateway.session (recheck: 2s), one sidecar and a backend that records what reaches it. A
browser (sso.Browser: one cookie jar for 127.0.0.1, where both the authority and the gateway
listen, as a browser keeps cookies per host whatever the port) is sent to the login, signs in
with password and TOTP and comes back through /_bulwark/callback. Checked: the service gets a
transaction token naming the user and never a bulwark cookie; refresh after recheck; two
concurrent requests with the old cookie during a refresh; logout ends the gateway session and
the provider's; a disabled user loses the session at the next recheck. Attacks performed, each
refused: a tampered cookie, a cookie sealed under another key, a login cookie presented as a
session, a state of another login, a return_to off the gateway, a replayed callback. Loopback
only; every process is stopped by PID through cleanups; every loop is bounded."""

import base64
import json
import os
import threading
import time
import unittest
import urllib.parse

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import es256
import harness
import sso
from harness import Authority, free_ports
from test_gateway import Gateway, make_public_cert
from test_sidecar import Sidecar, service_yaml, start_backend_server
from test_sidecar_attacks import RecordingHandler

TD = harness.TRUST_DOMAIN
SESSION = "__Host-bulwark-session"
LOGIN_STATE = "__Host-bulwark-rp-login"
RECHECK = 2
HTML = {"Accept": "text/html"}
API = {"Accept": "application/json"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seal(key, name, payload):
    """A cookie value as the gateway seals it (docs/gateway.md#browser-sessions), independently:
    "1." + base64url(nonce || AES-256-GCM(JSON) || tag), the cookie's name and version as AAD."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(payload).encode(), f"{name}\n1".encode())
    return "1." + b64url(nonce + sealed)


def unseal(key, name, value):
    raw = base64.urlsafe_b64decode(value[2:] + "=" * (-len(value[2:]) % 4))
    return json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], f"{name}\n1".encode()))


class GatewaySessionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup).init().start()
        root = cls.auth.tmpdir("mesh")
        cls.ca, cert, key = make_public_cert(root)
        cls.backend = start_backend_server(cls.addClassCleanup, "api", RecordingHandler)
        ports = free_ports(5)
        cls.public, gateway_admin, sidecar_ports = ports[0], ports[1], tuple(ports[2:5])
        cls.url = f"https://127.0.0.1:{cls.public}"
        rc, out, err = cls.auth.admin("client", "add", "gateway",
                                      "--redirect-uri", cls.url + "/_bulwark/callback",
                                      "--post-logout-redirect-uri", cls.url + "/")
        if rc != 0:
            raise AssertionError(f"client add gateway failed: {out}{err}")
        secret_file = harness.write(os.path.join(root, "gateway.secret"), out.strip() + "\n",
                                    mode=0o600)
        cls.key = os.urandom(32)
        key_file = harness.write(os.path.join(root, "cookie.key"), b64url(cls.key) + "\n",
                                 mode=0o600)
        mesh = "\n".join([
            f"trust_domain: {TD}",
            "gateway:",
            f"  listen: \"127.0.0.1:{cls.public}\"",
            f"  public_url: \"{cls.url}\"",
            f"  tls: {{ cert: {cert}, key: {key} }}",
            "  issuers:",
            "    - { name: local, issuer: self }",
            f"  session: {{ client_secret_file: {secret_file}, key_file: {key_file},"
            f" recheck: {RECHECK}s }}",
            "  routes:",
            "    - { prefix: /app, service: api, auth: [session] }",
            "    - { prefix: /public, service: api, auth: [none] }",
            "services:",
            service_yaml("api", cls.backend.server_address[1], sidecar_ports,
                         allow=("{ from: gateway }",)),
            ""])
        cls.mesh = harness.write(os.path.join(root, "mesh.yaml"), mesh)
        cls.sidecar = Sidecar(cls, cls.auth, cls.mesh, "api", sidecar_ports).wait_ready()
        cls.gateway = Gateway(cls, cls.auth, cls.mesh, gateway_admin).wait_ready()
        cls.users = 0
        # The sidecar learns the gateway's delegated key from the first transaction token naming
        # it (test_gateway.py's first_requests): until then, forwarded requests are refused.
        probe = sso.Browser(cls.auth, "127.0.0.1", extra_cas=[cls.ca])
        deadline = time.monotonic() + 15
        while probe.request("GET", cls.url + "/public/first")[0] != 200:
            if time.monotonic() > deadline:
                raise AssertionError("the public route never answered 200:\n" + cls.gateway.log())
            time.sleep(0.1)

    # --- helpers -------------------------------------------------------------------------
    def browser(self):
        return sso.Browser(self.auth, "127.0.0.1", extra_cas=[self.ca])

    def new_user(self):
        """Enrols a new user (each signs in once: a TOTP step is spent by one login)."""
        type(self).users += 1
        name = f"user{self.users}"
        return name, sso.enrol(self.auth, name, f"{name}@example.org")

    def sign_in(self, browser, name, secret, target="/app/page?x=1", follow_callback=True):
        """Follows the whole flow from a visit of `target`; returns the callback URL and where
        it sent the browser (None when `follow_callback` is false: the callback is not sent)."""
        status, headers, body = browser.request("GET", self.url + target, headers=HTML)
        self.assertEqual(status, 302, body)
        authorize = headers["Location"]
        self.assertTrue(authorize.startswith(self.auth.url + "/oauth2/authorize?"), authorize)
        status, headers, _ = browser.request("GET", authorize)
        self.assertEqual(status, 302)
        login = urllib.parse.urlsplit(headers["Location"])
        self.assertEqual(login.path, "/login")  # the password page
        return_to = urllib.parse.parse_qs(login.query)["return_to"][0]
        after = sso.log_in(browser, name, secret, return_to=return_to)
        status, headers, _ = browser.request("GET", after)
        self.assertEqual(status, 302)
        callback = headers["Location"]
        self.assertTrue(callback.startswith(self.url + "/_bulwark/callback?"), callback)
        if not follow_callback:
            return callback, None
        status, headers, body = browser.request("GET", callback)
        self.assertEqual(status, 303, body + self.gateway.log())
        return callback, headers["Location"]

    def signed_in(self):
        name, secret = self.new_user()
        browser = self.browser()
        self.sign_in(browser, name, secret)
        self.assertIn(SESSION, browser.cookies)
        return name, browser

    def get(self, browser, target="/app/page", headers=API):
        return browser.request("GET", self.url + target, headers=headers)

    def with_cookie(self, value, target="/app/page", headers=API):
        """A request with only `value` as the session cookie (a fresh browser)."""
        browser = self.browser()
        browser.cookies[SESSION] = value
        return self.get(browser, target, headers)

    # --- the flow ------------------------------------------------------------------------
    def test_sign_in_reaches_the_service_as_the_user_without_any_bulwark_cookie(self):
        name, secret = self.new_user()
        browser = self.browser()
        _, landed = self.sign_in(browser, name, secret)
        self.assertEqual(landed, "/app/page?x=1")
        session = unseal(self.key, SESSION, browser.cookies[SESSION])  # the documented format
        self.assertEqual(session["sub"], name)
        self.assertEqual(session["e"] - session["c"], 8 * 3600)  # the default lifetime
        set_cookie = [c for c in browser.set_cookies if c.startswith(SESSION + "=1.")][-1]
        for attribute in ("Path=/", "Secure", "HttpOnly", "SameSite=Lax"):
            self.assertIn(attribute, set_cookie)
        self.assertLess(len(set_cookie), 4096)
        browser.cookies["theme"] = "dark"
        before = len(self.backend.seen)
        status, _, body = browser.request("GET", self.url + "/app/page?x=1", headers=HTML)
        self.assertEqual(status, 200, body)
        seen = json.loads(body)
        self.assertEqual(seen["path"], "/app/page?x=1")
        _, claims = es256.decode(seen["headers"]["txn-token"])
        self.assertEqual((claims["sub"], claims["sub_iss"]), (name, "local"))
        # The authority's own login cookie is in this jar too (one host): neither reaches it.
        self.assertIn(sso.LOGIN_COOKIE, browser.cookies)
        self.assertEqual(seen["headers"].get("cookie"), "theme=dark")
        self.assertEqual(len(self.backend.seen), before + 1)
        status, _, body = self.get(browser, "/_bulwark/session")
        self.assertEqual(status, 200)
        info = json.loads(body)
        self.assertEqual((info["sub"], info["email"]), (name, f"{name}@example.org"))
        self.assertEqual(info["expires_at"], session["e"])

    def test_without_a_session_a_navigation_is_redirected_and_an_api_call_gets_401(self):
        browser = self.browser()
        status, headers, _ = self.get(browser, headers=HTML)
        self.assertEqual(status, 302)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query))
        self.assertEqual(query["response_type"], "code")
        self.assertEqual(query["client_id"], "gateway")
        self.assertEqual(query["redirect_uri"], self.url + "/_bulwark/callback")
        self.assertEqual(query["code_challenge_method"], "S256")
        self.assertEqual(set(query["scope"].split()), {"openid", "profile", "email"})
        self.assertIn(LOGIN_STATE, browser.cookies)
        login = unseal(self.key, LOGIN_STATE, browser.cookies[LOGIN_STATE])
        self.assertEqual((login["s"], login["n"]), (query["state"], query["nonce"]))
        for headers in (API, {"Accept": "text/html", "Sec-Fetch-Mode": "cors"}):
            status, _, _ = self.get(self.browser(), headers=headers)
            self.assertEqual(status, 401, headers)
        self.assertEqual(self.get(self.browser(), "/_bulwark/session")[0], 401)

    def test_refresh_after_recheck_keeps_the_session(self):
        _, browser = self.signed_in()
        first = browser.cookies[SESSION]
        self.assertEqual(self.get(browser)[0], 200)
        time.sleep(RECHECK + 0.5)
        status, headers, body = self.get(browser)
        self.assertEqual(status, 200, body)
        self.assertNotEqual(browser.cookies[SESSION], first)  # a new cookie was set
        refreshed = unseal(self.key, SESSION, browser.cookies[SESSION])
        self.assertEqual(refreshed["c"], unseal(self.key, SESSION, first)["c"])
        self.assertNotEqual(refreshed["rt"], unseal(self.key, SESSION, first)["rt"])
        self.assertEqual(self.get(browser)[0], 200)

    def test_concurrent_requests_with_the_old_cookie_during_a_refresh_both_succeed(self):
        _, browser = self.signed_in()
        old = browser.cookies[SESSION]
        time.sleep(RECHECK + 0.5)
        results = []

        def visit():
            status, headers, _ = self.with_cookie(old)
            results.append((status, [c for c in headers.get_all("Set-Cookie") or []
                                     if c.startswith(SESSION + "=1.")]))

        threads = [threading.Thread(target=visit) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        self.assertEqual(sorted(r[0] for r in results), [200, 200], self.gateway.log())
        self.assertTrue(all(len(r[1]) == 1 for r in results), results)  # each refreshed

    def test_logout_ends_the_gateway_session_and_the_providers(self):
        _, browser = self.signed_in()
        old = browser.cookies[SESSION]
        status, headers, _ = browser.request("POST", self.url + "/_bulwark/logout", form={})
        self.assertEqual(status, 303)
        logout = headers["Location"]
        self.assertTrue(logout.startswith(self.auth.url + "/oauth2/logout?"), logout)
        self.assertNotIn(SESSION, browser.cookies)
        status, headers, body = browser.request("GET", logout)
        self.assertEqual((status, headers.get("Location")), (302, self.url + "/"), body)
        self.assertNotIn(sso.LOGIN_COOKIE, browser.cookies)  # the provider's session ended
        # A new visit asks for the password again.
        status, headers, _ = self.get(browser, headers=HTML)
        self.assertEqual(status, 302)
        status, headers, _ = browser.request("GET", headers["Location"])
        self.assertEqual(urllib.parse.urlsplit(headers["Location"]).path, "/login")
        # The refresh token was revoked: the old cookie dies at its next recheck at the latest.
        time.sleep(RECHECK + 0.5)
        self.assertEqual(self.with_cookie(old)[0], 401)
        self.assertIn("oidc.family-revoke", [e["action"] for e in self.auth.audit(200)])

    def test_a_disabled_user_loses_the_session_at_the_next_recheck(self):
        name, browser = self.signed_in()
        self.assertEqual(self.get(browser)[0], 200)
        rc, out, err = self.auth.admin("user", "disable", name)
        self.assertEqual(rc, 0, out + err)
        time.sleep(RECHECK + 0.5)
        status, headers, _ = self.get(browser, headers=HTML)
        self.assertEqual(status, 302)  # a browser is sent to sign in again
        self.assertTrue(headers["Location"].startswith(self.auth.url + "/oauth2/authorize?"))
        self.assertNotIn(SESSION, browser.cookies)  # the ended session's cookie was deleted

    # --- attacks ---------------------------------------------------------------------------
    def test_a_tampered_cookie_is_refused(self):
        _, browser = self.signed_in()
        value = browser.cookies[SESSION]
        before = len(self.backend.seen)
        for i in (2, len(value) // 2, len(value) - 1):
            tampered = value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:]
            self.assertEqual(self.with_cookie(tampered)[0], 401, i)
        self.assertEqual(len(self.backend.seen), before)
        self.assertEqual(self.with_cookie(value)[0], 200)  # the untouched cookie still works

    def test_a_cookie_sealed_under_another_key_or_name_is_refused(self):
        name, browser = self.signed_in()
        payload = unseal(self.key, SESSION, browser.cookies[SESSION])
        payload["sub"] = "admin"
        payload["r"] = int(time.time())  # no refresh due: the control below is not refreshed
        self.assertEqual(self.with_cookie(seal(os.urandom(32), SESSION, payload))[0], 401)
        # The gateway's key under the login cookie's name: the name is bound in.
        self.assertEqual(self.with_cookie(seal(self.key, LOGIN_STATE, payload))[0], 401)
        # Control: the same forgery with the gateway's key and name is what the key protects.
        status, _, body = self.with_cookie(seal(self.key, SESSION, payload))
        self.assertEqual(status, 200, body + self.gateway.log()[-3000:])
        self.assertEqual(es256.decode(json.loads(body)["headers"]["txn-token"])[1]["sub"], "admin")

    def test_a_callback_with_another_logins_state_is_refused(self):
        name, secret = self.new_user()
        attacker = self.browser()
        callback, _ = self.sign_in(attacker, name, secret, follow_callback=False)
        # The attacker's callback URL (their unused code and their state) in the victim's
        # browser, which started a login of its own: login CSRF.
        victim = self.browser()
        self.get(victim, headers=HTML)
        self.assertIn(LOGIN_STATE, victim.cookies)
        status, _, body = victim.request("GET", callback)
        self.assertEqual(status, 400, body)
        self.assertNotIn(SESSION, victim.cookies)
        # And in a browser that started no login at all.
        status, _, _ = self.browser().request("GET", callback)
        self.assertEqual(status, 400)
        # The code itself was good: in the browser that started the login, it signs in.
        status, _, body = attacker.request("GET", callback)
        self.assertEqual(status, 303, body)
        self.assertIn(SESSION, attacker.cookies)

    def test_a_replayed_callback_is_refused(self):
        name, secret = self.new_user()
        browser = self.browser()
        callback, _ = self.sign_in(browser, name, secret)
        login_cookie = [c for c in browser.set_cookies if c.startswith(LOGIN_STATE + "=1.")][-1]
        replay = self.browser()
        status, _, _ = replay.request("GET", callback)  # no login cookie: spent by the first
        self.assertEqual(status, 400)
        # With the login cookie copied too: the code was used once and is refused.
        replay.cookies[LOGIN_STATE] = login_cookie.split("=", 1)[1].split(";", 1)[0]
        status, _, body = replay.request("GET", callback)
        self.assertEqual(status, 400, body)
        self.assertNotIn(SESSION, replay.cookies)

    def test_return_to_off_the_gateway_is_refused(self):
        for evil in ("https://evil.test", "//evil.test", "/\\evil.test", "https:/evil.test"):
            browser = self.browser()
            target = "/_bulwark/login?return_to=" + urllib.parse.quote(evil, safe="")
            status, _, _ = browser.request("GET", self.url + target, headers=HTML)
            self.assertEqual(status, 302, evil)
            login = unseal(self.key, LOGIN_STATE, browser.cookies[LOGIN_STATE])
            self.assertEqual(login["rt"], "/", evil)
        # The whole way: a login started for //evil.test lands on the gateway's root.
        name, secret = self.new_user()
        browser = self.browser()
        _, landed = self.sign_in(browser, name, secret,
                                 target="/_bulwark/login?return_to=%2F%2Fevil.test")
        self.assertEqual(landed, "/")

    def test_a_service_cannot_set_the_gateways_cookies_and_reserved_paths_are_not_routed(self):
        status, _, _ = self.get(self.browser(), "/_bulwark/unknown")
        self.assertEqual(status, 404)
        status, _, _ = self.browser().request("GET", self.url + "/_bulwark/logout")
        self.assertEqual(status, 405)  # logout is a POST: a link cannot sign anyone out


if __name__ == "__main__":
    unittest.main()
