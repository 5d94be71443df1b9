"""End-to-end test of the SSO users and login pages (docs/sso.md): a real authority; a user
added with `bulwark authority user add` enrols through the printed link (this test computes the
TOTP codes itself with hmac, as an authenticator app would), signs in with password and TOTP, and
gets the `__Host-` login cookie. Attacks performed: TOTP replay, user enumeration by message and
by time, brute force (lockout), CSRF, open redirect through return_to, and a session used after
`user disable` / `session revoke` / logout. Each test sends from its own loopback source address
(127.0.0.x), so the per-address throttle of one test never slows another. Loopback only; the
authority is stopped by PID through cleanups; every loop is bounded in count and time."""

import http.client
import re
import threading
import time
import unittest
import urllib.parse

import harness
from sso import LOGIN_COOKIE, PASSWORD, Browser, now_step, totp


def alert(body):
    match = re.search(r'<p role="alert">([^<]*)</p>', body)
    return match.group(1) if match else None


class SsoLoginTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = harness.Authority(cls.addClassCleanup).init().start()
        cls.secrets = {}
        cls.recovery = {}
        cls.enrol("alice", "127.0.0.2")

    @classmethod
    def add_user(cls, name):
        rc, out, err = cls.auth.admin("user", "add", name, "--email", f"{name}@example.org")
        if rc != 0:
            raise AssertionError(f"user add {name} failed: {out}{err}")
        return out

    @classmethod
    def enrol(cls, name, source):
        out = cls.add_user(name)
        link = out.strip()
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+/enrol\?token=bwen_[A-Za-z0-9_-]{43}", link), out
        target = link[link.index("/enrol"):]
        b = Browser(cls.auth, source)
        status, _, page = b.request("GET", target)
        assert status == 200, page
        secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
        assert "<svg" in page and "otpauth://totp/bulwark:" + name in page
        form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1),
                "token": target.split("token=")[1], "password": PASSWORD, "password2": PASSWORD,
                "code": totp(secret, now_step())}
        status, _, done = b.request("POST", "/enrol", form)
        assert status == 200, done
        codes = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", done)
        assert len(codes) == 10, done
        cls.secrets[name] = secret
        cls.recovery[name] = codes
        cls.links = getattr(cls, "links", {})
        cls.links[name] = (target, out)
        return b

    def sign_in(self, b, name, return_to=None):
        status, headers, body = b.password(name, return_to=return_to)
        self.assertEqual(status, 303, body)
        self.assertEqual(headers["Location"], "/login/mfa")
        # The enrolment spent the step it was made in: the next step's code (within the
        # one-step window) is new.
        step = now_step() + 1
        status, headers, body = b.mfa(totp(self.secrets[name], step))
        if status == 401:  # a code of this step was used by an earlier sign-in: wait it out
            time.sleep(31 - time.time() % 30)
            status, headers, body = b.mfa(totp(self.secrets[name], now_step() + 1))
        self.assertEqual(status, 303, body)
        return headers["Location"]

    def test_enrolment_link_is_printed_once_and_works_once(self):
        target, out = self.links["alice"]
        self.assertEqual(len(out.strip().splitlines()), 1, out)
        self.assertNotIn(target.split("token=")[1], self.auth.log_text())
        status, _, body = Browser(self.auth, "127.0.0.3").request("GET", target)
        self.assertEqual(status, 404)
        self.assertIn("invalid, expired or used", alert(body))
        listed = {u["name"]: u for u in self.auth.admin_json("user", "list")["users"]}
        self.assertTrue(listed["alice"]["enrolled"])
        self.assertEqual(listed["alice"]["email"], "alice@example.org")

    def test_sign_in_with_password_and_totp_sets_the_host_cookie(self):
        b = Browser(self.auth, "127.0.0.4")
        location = self.sign_in(b, "alice", return_to="/oauth2/authorize?client_id=app&state=s")
        self.assertEqual(location, "/oauth2/authorize?client_id=app&state=s")
        login = [c for c in b.set_cookies if c.startswith("__Host-bulwark-login=")]
        self.assertEqual(len(login), 1, b.set_cookies)
        attributes = [a.strip() for a in login[0].split(";")[1:]]
        for required in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
            self.assertIn(required, attributes)
        self.assertFalse(any(a.lower().startswith("domain") for a in attributes))
        self.assertEqual(b.signed_in_as(), "alice")
        status, headers, body = b.request("GET", "/login")
        self.assertIn("default-src 'none'", headers["Content-Security-Policy"])
        self.assertIn('<html lang="en">', body)

    def test_a_replayed_totp_code_is_refused(self):
        one, two = Browser(self.auth, "127.0.0.5"), Browser(self.auth, "127.0.0.5")
        self.enrol("rita", "127.0.0.5")
        code = totp(self.secrets["rita"], now_step() + 1)
        self.assertEqual(one.password("rita")[0], 303)
        status, _, body = one.mfa(code)
        self.assertEqual(status, 303, body)
        self.assertEqual(two.password("rita")[0], 303)
        status, _, body = two.mfa(code)
        self.assertEqual(status, 401)
        self.assertEqual(alert(body), "The code is incorrect or was used already.")
        self.assertIsNone(two.signed_in_as())
        status, _, body = two.mfa(self.recovery["rita"][0])
        self.assertEqual(status, 303, "a recovery code works instead")
        three = Browser(self.auth, "127.0.0.5")
        self.assertEqual(three.password("rita")[0], 303)
        self.assertEqual(three.mfa(self.recovery["rita"][0])[0], 401, "but only once")

    def test_a_cheap_request_is_answered_while_passwords_are_being_verified(self):
        # Four sign-ins (one argon2id verification each) are sent first, then GET /healthz. The
        # authority has two request threads: had they verified the passwords themselves, both
        # would be busy and /healthz would wait for a sign-in to finish. With the verification on
        # the password workers, /healthz is answered while the sign-ins are still in flight.
        logins = 4
        host, port = self.auth.host_port
        ctx = harness.ssl_context(self.auth.bundle)

        def connect():
            conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=30,
                                               source_address=("127.0.0.12", 0))
            conn.connect()  # the TLS handshake is done before the race starts
            return conn

        forms = []
        for _ in range(logins):
            b = Browser(self.auth, "127.0.0.12")
            forms.append((b, urllib.parse.urlencode(
                {"csrf": b.csrf(), "username": "alice", "password": PASSWORD})))
        conns = [connect() for _ in range(logins)]
        health = connect()
        order, lock, sent = [], threading.Lock(), threading.Barrier(logins + 1, timeout=30)

        def login(conn, browser, body):
            try:
                cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
                conn.request("POST", "/login", body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
                sent.wait()
                status = conn.getresponse().status
                with lock:
                    order.append(("login", status))
            finally:
                conn.close()

        threads = [threading.Thread(target=login, args=(c, b, body), daemon=True)
                   for c, (b, body) in zip(conns, forms)]
        try:
            for t in threads:
                t.start()
            sent.wait()  # every sign-in is written to its connection
            health.request("GET", "/healthz")
            status = health.getresponse().status
            with lock:
                order.append(("healthz", status))
        finally:
            health.close()
            for t in threads:
                t.join(timeout=30)
        self.assertEqual(len(order), logins + 1, order)
        self.assertEqual(order[0], ("healthz", 200), order)
        self.assertEqual(sorted(order[1:]), [("login", 303)] * logins, order)

    def test_unknown_user_and_wrong_password_are_indistinguishable(self):
        self.enrol("tim", "127.0.0.6")
        b = Browser(self.auth, "127.0.0.6")
        timings = {"known": [], "unknown": []}
        bodies = {}
        for i in range(2):  # two of each: below the per-account delays
            for kind, name in (("known", "tim"), ("unknown", f"nobody{i}")):
                form = {"csrf": b.csrf(), "username": name, "password": "wrong password!"}
                start = time.monotonic()
                status, _, body = b.request("POST", "/login", form)
                timings[kind].append(time.monotonic() - start)
                self.assertEqual(status, 401, body)
                bodies.setdefault(kind, body)
        self.assertEqual(bodies["known"], bodies["unknown"], "byte-identical pages")
        self.assertEqual(alert(bodies["known"]), "The user name or password is incorrect.")
        known, unknown = min(timings["known"]), min(timings["unknown"])
        print(f"\nPOST /login, fastest of 2: wrong password {known * 1000:.0f} ms, "
              f"unknown user {unknown * 1000:.0f} ms")
        # Both verify one argon2id hash; the bound is loose for a shared, loaded machine.
        self.assertLess(abs(known - unknown), max(0.05, 0.5 * max(known, unknown)))

    def test_repeated_failures_lock_the_account_with_a_clear_message(self):
        self.enrol("bob", "127.0.0.7")
        b = Browser(self.auth, "127.0.0.7")
        for i in range(5):
            status, headers, body = b.password("bob", "wrong password!")
            if status == 429:  # a growing delay: wait what it says, once
                time.sleep(int(headers["Retry-After"]))
                status, headers, body = b.password("bob", "wrong password!")
            self.assertEqual(status, 401, f"attempt {i}: {body}")
        status, headers, body = b.password("bob")  # the right password, too late
        self.assertEqual(status, 429, body)
        self.assertRegex(alert(body), r"Too many failed sign-ins .* Try again in \d+ seconds "
                                      r"\(after \d\d:\d\d:\d\d UTC\)\.")
        self.assertGreater(int(headers["Retry-After"]), 800)
        status, _, _ = Browser(self.auth, "127.0.0.8").password("bob")
        self.assertEqual(status, 429, "locked from every address")

    def test_posts_without_csrf_token_are_forbidden(self):
        b = Browser(self.auth, "127.0.0.9")
        token = b.csrf()
        form = {"username": "alice", "password": PASSWORD}
        self.assertEqual(b.request("POST", "/login", form)[0], 403)
        self.assertEqual(b.request("POST", "/login", {**form, "csrf": token},
                                   headers={"Origin": "https://evil.example"})[0], 403)
        stranger = Browser(self.auth, "127.0.0.9")  # no CSRF cookie of its own
        self.assertEqual(stranger.request("POST", "/login", {**form, "csrf": token})[0], 403)
        self.assertEqual(b.request("POST", "/logout", {})[0], 403)
        self.assertEqual(b.request("POST", "/login", {**form, "csrf": token},
                                   headers={"Origin": self.auth.url})[0], 303)

    def test_open_redirect_attempts_land_on_the_default_page(self):
        for i, attack in enumerate(("//evil.example/x", "/\\evil.example", "https://evil.example",
                                    "///evil.example")):
            b = Browser(self.auth, f"127.0.1.{i + 1}")
            self.enrol(f"olga{i}", f"127.0.1.{i + 1}")
            self.assertEqual(self.sign_in(b, f"olga{i}", return_to=attack), "/login", attack)
            self.assertEqual(b.signed_in_as(), f"olga{i}")

    def test_disable_revoke_and_logout_end_the_session(self):
        b = Browser(self.auth, "127.0.0.10")
        self.enrol("dora", "127.0.0.10")
        self.sign_in(b, "dora")
        self.assertEqual(b.signed_in_as(), "dora")
        self.assertEqual(self.auth.admin("user", "disable", "dora")[0], 0)
        self.assertIsNone(b.signed_in_as())
        status, _, body = b.password("dora")
        self.assertEqual(status, 401, "a disabled user cannot sign in")
        self.assertEqual(self.auth.admin("user", "enable", "dora")[0], 0)

        c = Browser(self.auth, "127.0.0.10")
        self.assertEqual(c.password("dora")[0], 303)
        self.assertEqual(c.mfa(self.recovery["dora"][1])[0], 303)
        self.assertEqual(c.signed_in_as(), "dora")
        sessions = [s for s in self.auth.admin_json("session", "list")["sessions"]
                    if s["user"] == "dora"]
        self.assertEqual(len(sessions), 1, sessions)
        self.assertEqual(sessions[0]["amr"], ["pwd", "otp"])
        revoked = self.auth.admin_json("session", "revoke", sessions[0]["id"])
        self.assertEqual(revoked["revoked"], 1)
        self.assertIsNone(c.signed_in_as())

        d = Browser(self.auth, "127.0.0.10")
        status, _, _ = d.password("dora")
        self.assertEqual(status, 303)
        status, _, _ = d.mfa(self.recovery["dora"][0])
        self.assertEqual(status, 303)
        self.assertEqual(d.signed_in_as(), "dora")
        status, _, _ = d.request("POST", "/logout", {"csrf": d.csrf()})
        self.assertEqual(status, 303)
        self.assertNotIn("__Host-bulwark-login", d.cookies)
        self.assertIsNone(d.signed_in_as())

        self.assertEqual(self.auth.admin("user", "delete", "dora")[0], 0)
        rc, out, err = self.auth.admin("user", "add", "dora")
        self.assertNotEqual(rc, 0, "a deleted name is never reused")
        self.assertIn("taken", err)
        audit = [e["action"] for e in self.auth.audit()]
        for action in ("user.add", "user.enrolled", "user.disable", "session.revoke", "logout",
                       "user.delete"):
            self.assertIn(action, audit)


if __name__ == "__main__":
    unittest.main()
