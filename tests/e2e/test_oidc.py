"""End-to-end tests of the authority's OpenID Connect provider: a real `authority serve`, clients
registered with the real CLI, Node `openid-client` (tests/interop, versions locked) as the
relying party doing authorization code + PKCE, ID-token validation, userinfo and refresh, and
the attacks performed over HTTPS by hand: changed redirect URIs, missing or `plain` PKCE, a code
used twice, a code of another client, a wrong verifier, a reused refresh token, an open redirect
through the post-logout URI. Every attack is checked to fail."""

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import time
import unittest
import urllib.parse

import harness
import sso
from harness import Authority
from test_oauth import EXCHANGE, TD_ID, TXN_TYPE, ACCESS_TYPE, request

INTEROP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop")
LOGIN_COOKIE = sso.LOGIN_COOKIE
REDIRECT = "http://127.0.0.1:18555/callback"  # loopback http: allowed (RFC 8252); never served
BYE = "https://app.example/signed-out"
GRACE = 10  # the refresh grace window (OidcOptions::refresh_grace)


def node(*args):
    """Runs tests/interop/interop.mjs; returns (rc, parsed stdout or None, stderr)."""
    done = subprocess.run(["node", os.path.join(INTEROP, "interop.mjs"), *args],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    out = json.loads(done.stdout) if done.returncode == 0 else None
    return done.returncode, out, done.stderr


def pkce():
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


class OidcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("node") is None or not os.path.isdir(os.path.join(INTEROP, "node_modules")):
            raise AssertionError("the interop clients are not installed: run scripts/install-deps "
                                 "(it runs npm ci in tests/interop)")
        cls.auth = Authority(cls.addClassCleanup).init()
        work = cls.auth.tmpdir("oidc")
        mesh = harness.write(os.path.join(work, "mesh.yaml"), f"""trust_domain: {harness.TRUST_DOMAIN}
authority:
  listen: 127.0.0.1:0
gateway:
  issuers:
    - name: local
      issuer: self
""")
        cls.auth.serve_args = ["--config", mesh]
        cls.auth.start()
        cls.secret = cls.add_client("app", "--redirect-uri", REDIRECT,
                                    "--post-logout-redirect-uri", BYE)
        cls.other_secret = cls.add_client("other", "--redirect-uri", REDIRECT)
        cls.add_client("spa", "--public", "--redirect-uri", "http://localhost:18556/cb")
        cls.cookie = sso.sign_in(cls.auth, "alice", "alice@example.org")
        cls.signed_in_at = time.time()

    @classmethod
    def add_client(cls, name, *args):
        rc, out, err = cls.auth.admin("client", "add", name, *args)
        if rc != 0:
            raise AssertionError(f"client add failed: {out}{err}")
        return out.strip()

    # --- the browser and the relying party, by hand --------------------------------------
    def authorize(self, cookie=None, **params):
        query = {"response_type": "code", "client_id": "app", "redirect_uri": REDIRECT,
                 "scope": "openid email", "state": "st", "nonce": "nn"}
        query.update(params)
        query = {k: v for k, v in query.items() if v is not None}
        url = self.auth.url + "/oauth2/authorize?" + urllib.parse.urlencode(query)
        headers = {"Cookie": f"{LOGIN_COOKIE}={cookie or self.cookie}"}
        status, body, resp_headers = self.raw("GET", url, headers=headers)
        location = resp_headers.get("location", "")
        return status, body, location, dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))

    def raw(self, method, url, headers=None, body=None):
        import http.client
        parsed = urllib.parse.urlsplit(url)
        conn = http.client.HTTPSConnection(parsed.hostname, parsed.port, timeout=10,
                                           context=harness.ssl_context(self.auth.bundle))
        try:
            path = parsed.path + ("?" + parsed.query if parsed.query else "")
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            return response.status, text, {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()

    def code(self, **params):
        verifier, challenge = pkce()
        status, _, location, query = self.authorize(code_challenge=challenge,
                                                    code_challenge_method="S256", **params)
        self.assertEqual(status, 302, location)
        self.assertIn("code", query, location)
        self.assertEqual(query["state"], "st")
        self.assertEqual(query["iss"], self.auth.url)
        return query["code"], verifier

    def token(self, form, client="app", secret=None):
        form = dict(form, client_id=client, client_secret=secret or self.secret)
        status, body, _ = request(self.auth.url + "/oauth2/token", "POST", form, self.auth.bundle)
        return status, body

    def redeem(self, code, verifier, **extra):
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "code_verifier": verifier}
        form.update(extra)
        return self.token(form)

    def userinfo(self, access_token):
        status, body, _ = self.raw("GET", self.auth.url + "/oauth2/userinfo",
                                   headers={"Authorization": f"Bearer {access_token}"})
        return status, body

    # --- openid-client -------------------------------------------------------------------
    def test_openid_client_code_flow_pkce_id_token_userinfo_and_refresh(self):
        rc, out, err = node("oidc-login", self.auth.url, self.auth.bundle, "app", self.secret,
                            REDIRECT, self.cookie)
        self.assertEqual(rc, 0, err + self.auth.log_text())
        meta = out["metadata"]
        self.assertEqual(meta["code_challenge_methods_supported"], ["S256"])
        self.assertEqual(meta["response_types_supported"], ["code"])
        self.assertTrue(meta["authorization_response_iss_parameter_supported"])
        self.assertEqual(meta["end_session_endpoint"], self.auth.url + "/oauth2/logout")
        self.assertEqual(out["claims"]["sub"], "alice")
        self.assertEqual(out["claims"]["aud"], "app")
        self.assertEqual(out["claims"]["amr"], ["pwd", "otp"])
        self.assertIn("nonce", out["claims"])
        self.assertEqual(out["userinfo"], {"sub": "alice", "email": "alice@example.org"})
        self.assertEqual(out["refreshed"]["claims"]["sub"], "alice")
        self.assertNotEqual(out["refreshed"]["refresh_token"], out["tokens"]["refresh_token"])

    def test_two_concurrent_refreshes_inside_the_grace_window_both_succeed(self):
        code, verifier = self.code()
        status, tokens = self.redeem(code, verifier)
        self.assertEqual(status, 200, tokens)
        rc, out, err = node("oidc-refresh", self.auth.url, self.auth.bundle, "app", self.secret,
                            tokens["refresh_token"], "2")
        self.assertEqual(rc, 0, err)
        self.assertEqual([r["ok"] for r in out["results"]], [True, True], out)
        self.assertNotEqual(out["results"][0]["refresh_token"], out["results"][1]["refresh_token"])

    def test_a_reused_refresh_token_revokes_the_family(self):
        code, verifier = self.code()
        status, tokens = self.redeem(code, verifier)
        self.assertEqual(status, 200, tokens)
        rc, first, err = node("oidc-refresh", self.auth.url, self.auth.bundle, "app", self.secret,
                              tokens["refresh_token"])
        self.assertEqual(rc, 0, err)
        successor = first["results"][0]["refresh_token"]
        time.sleep(GRACE + 1.5)
        rc, reuse, err = node("oidc-refresh", self.auth.url, self.auth.bundle, "app", self.secret,
                              tokens["refresh_token"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(reuse["results"][0], {"ok": False, "error": "invalid_grant"})
        # The whole family: the successor no longer refreshes, the access token is revoked.
        status, body = self.token({"grant_type": "refresh_token", "refresh_token": successor})
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        self.assertEqual(self.userinfo(tokens["access_token"])[0], 401)
        self.assertIn("oidc.family-revoke", [e["action"] for e in self.auth.audit(200)])

    # --- the access token at a gateway's `issuer: self` -----------------------------------
    def test_access_token_is_a_self_issued_user_token(self):
        code, verifier = self.code()
        _, tokens = self.redeem(code, verifier)
        # The token exchange verifies subject tokens with the gateway's verifier
        # (tokens::VerifyUserToken against gateway.issuers, here `local: self`).
        cert, key = self.auth.fetch_identity(TD_ID + "/gateway")
        status, body, _ = request(self.auth.url + "/oauth2/token", "POST",
                                  {"grant_type": EXCHANGE, "requested_token_type": TXN_TYPE,
                                   "subject_token": tokens["access_token"],
                                   "subject_token_type": ACCESS_TYPE},
                                  self.auth.bundle, cert, key)
        self.assertEqual(status, 200, body)
        claims = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "=="))
        self.assertEqual((claims["sub"], claims["sub_iss"]), ("alice", "local"))

    # --- attacks ---------------------------------------------------------------------------
    def test_changed_redirect_uri_is_an_error_page_never_a_redirect(self):
        _, challenge = pkce()
        for uri in (REDIRECT + "/extra", REDIRECT[:-1], "http://127.0.0.1:18556/callback",
                    "https://127.0.0.1:18555/callback", "http://127.0.0.1:18555@evil.example/callback",
                    "http://evil.example/callback", REDIRECT + "?x=1"):
            status, body, location, _ = self.authorize(redirect_uri=uri, code_challenge=challenge,
                                                       code_challenge_method="S256")
            self.assertEqual(status, 400, uri)
            self.assertEqual(location, "", uri)
            self.assertIn("not registered", body)
        # And at the token endpoint: the code is bound to the redirect URI it was issued for.
        code, verifier = self.code()
        status, body = self.redeem(code, verifier, redirect_uri=REDIRECT + "/extra")
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))

    def test_missing_or_plain_pkce_is_refused(self):
        for params in ({}, {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
                       {"code_challenge": pkce()[1]}):
            status, _, location, query = self.authorize(**params)
            self.assertEqual(status, 302, params)
            self.assertTrue(location.startswith(REDIRECT), location)
            self.assertEqual(query.get("error"), "invalid_request", location)
            self.assertNotIn("code", query)
            self.assertEqual(query["iss"], self.auth.url)

    def test_wrong_verifier_is_refused(self):
        code, _ = self.code()
        status, body = self.redeem(code, pkce()[0])
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))

    def test_a_code_used_twice_is_refused_and_revokes_the_first_use(self):
        code, verifier = self.code()
        status, tokens = self.redeem(code, verifier)
        self.assertEqual(status, 200, tokens)
        self.assertEqual(self.userinfo(tokens["access_token"])[0], 200)
        status, body = self.redeem(code, verifier)
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        self.assertEqual(self.userinfo(tokens["access_token"])[0], 401)
        status, body = self.token({"grant_type": "refresh_token",
                                   "refresh_token": tokens["refresh_token"]})
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))

    def test_a_code_of_another_client_is_refused(self):
        code, verifier = self.code()
        status, body = self.token({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT, "code_verifier": verifier},
                                  client="other", secret=self.other_secret)
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))

    def test_wrong_client_secret_is_invalid_client(self):
        code, verifier = self.code()
        status, body = self.token({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT, "code_verifier": verifier},
                                  secret="not-the-secret")
        self.assertEqual((status, body["error"]), (401, "invalid_client"))

    def test_not_signed_in_goes_to_the_login_page_and_prompt_none_fails(self):
        _, challenge = pkce()
        status, _, location, query = self.authorize(cookie="unknown", code_challenge=challenge,
                                                    code_challenge_method="S256")
        self.assertEqual(status, 302)
        self.assertTrue(location.startswith("/login?return_to=%2Foauth2%2Fauthorize%3F"), location)
        status, _, location, query = self.authorize(cookie="unknown", code_challenge=challenge,
                                                    code_challenge_method="S256", prompt="none")
        self.assertEqual(query.get("error"), "login_required", location)

    def test_a_browser_goes_through_the_login_pages_and_back_to_the_client(self):
        # The whole loop a person takes: the client sends the browser to /oauth2/authorize, which
        # sends it to the login page; password and TOTP there; back to the authorize request,
        # which now redirects to the client with a code.
        secret = sso.enrol(self.auth, "carol", "carol@example.org")
        browser = sso.Browser(self.auth, "127.0.0.1")
        _, challenge = pkce()
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": "app", "redirect_uri": REDIRECT,
            "scope": "openid email", "state": "st-carol", "nonce": "nn", "code_challenge": challenge,
            "code_challenge_method": "S256"})
        status, headers, _ = browser.request("GET", "/oauth2/authorize?" + query)
        self.assertEqual(status, 302)
        login = headers["Location"]
        return_to = urllib.parse.parse_qs(urllib.parse.urlsplit(login).query)["return_to"][0]
        self.assertEqual(return_to, "/oauth2/authorize?" + query)
        back = sso.log_in(browser, "carol", secret, return_to=return_to)
        self.assertEqual(back, return_to)
        status, headers, _ = browser.request("GET", back)
        self.assertEqual(status, 302)
        location = urllib.parse.urlsplit(headers["Location"])
        self.assertEqual(f"{location.scheme}://{location.netloc}{location.path}", REDIRECT)
        answer = dict(urllib.parse.parse_qsl(location.query))
        self.assertEqual(answer["state"], "st-carol")
        self.assertEqual(answer["iss"], self.auth.url)
        self.assertRegex(answer["code"], r"^[A-Za-z0-9_-]{43}$")

    def new_user_tokens(self, name):
        """Signs a new user `name` in and redeems a code for client app; returns (login cookie,
        the token response)."""
        cookie = sso.sign_in(self.auth, name, f"{name}@example.org")
        verifier, challenge = pkce()
        _, _, _, query = self.authorize(cookie=cookie, code_challenge=challenge,
                                        code_challenge_method="S256")
        status, tokens = self.redeem(query["code"], verifier)
        self.assertEqual(status, 200, tokens)
        return cookie, tokens

    def id_claims(self, id_token):
        return json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=="))

    # --- prompt and max_age (OIDC Core §3.1.2.1) -------------------------------------------
    def test_discovery_advertises_the_prompt_values_and_sid(self):
        status, meta, _ = request(self.auth.url + "/.well-known/openid-configuration", "GET",
                                  None, self.auth.bundle)
        self.assertEqual(status, 200)
        self.assertEqual(meta["prompt_values_supported"], ["none", "login"])
        self.assertIn("sid", meta["claims_supported"])

    def test_prompt_login_asks_for_a_fresh_sign_in_despite_an_open_session(self):
        # The browser holds alice's open session; prompt=login sends it to the sign-in form
        # anyway, and the fresh sign-in (here by dave, on the same browser) comes back to the
        # request, which then issues a code for the new session.
        secret = sso.enrol(self.auth, "dave", "dave@example.org")
        browser = sso.Browser(self.auth, "127.0.0.1")
        browser.cookies[LOGIN_COOKIE] = self.cookie
        verifier, challenge = pkce()
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": "app", "redirect_uri": REDIRECT,
            "scope": "openid", "state": "st-dave", "nonce": "nd", "code_challenge": challenge,
            "code_challenge_method": "S256", "prompt": "login"})
        status, headers, _ = browser.request("GET", "/oauth2/authorize?" + query)
        self.assertEqual(status, 302)
        login = urllib.parse.urlsplit(headers["Location"])
        self.assertEqual(login.path, "/login")
        login_query = dict(urllib.parse.parse_qsl(login.query))
        self.assertEqual(login_query["prompt"], "login")
        return_to = login_query["return_to"]
        self.assertNotIn("prompt", dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(return_to).query)))
        status, _, page = browser.request("GET", headers["Location"])
        self.assertEqual(status, 200)
        self.assertIn('name="password"', page, "the form, not 'Signed in as alice'")
        before = int(time.time())
        back = sso.log_in(browser, "dave", secret, return_to=return_to)
        self.assertEqual(back, return_to)
        status, headers, _ = browser.request("GET", back)
        self.assertEqual(status, 302)
        answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query))
        self.assertEqual(answer["state"], "st-dave")
        status, tokens = self.redeem(answer["code"], verifier)
        self.assertEqual(status, 200, tokens)
        claims = self.id_claims(tokens["id_token"])
        self.assertEqual(claims["sub"], "dave")
        self.assertGreaterEqual(claims["auth_time"], before)

    def test_max_age_beyond_the_sessions_age_asks_again_and_prompt_none_fails(self):
        time.sleep(max(0.0, 2.1 - (time.time() - self.signed_in_at)))
        _, challenge = pkce()
        pk = {"code_challenge": challenge, "code_challenge_method": "S256"}
        status, _, location, _ = self.authorize(max_age="1", **pk)
        self.assertEqual(status, 302)
        self.assertTrue(location.startswith("/login?"), location)
        self.assertIn("prompt=login", location)
        status, _, location, query = self.authorize(max_age="1", prompt="none", **pk)
        self.assertEqual(query.get("error"), "login_required", location)
        self.assertNotIn("code", query)
        # Within max_age the code is issued, and the ID token carries auth_time.
        code, verifier = self.code(max_age="3600")
        status, tokens = self.redeem(code, verifier)
        self.assertEqual(status, 200, tokens)
        self.assertLessEqual(self.id_claims(tokens["id_token"])["auth_time"], int(self.signed_in_at))

    def test_unknown_prompt_values_and_bad_max_age_are_invalid_request(self):
        _, challenge = pkce()
        for params in ({"prompt": "consent"}, {"prompt": "select_account"},
                       {"prompt": "none login"}, {"max_age": "-1"}, {"max_age": "soon"}):
            status, _, location, query = self.authorize(code_challenge=challenge,
                                                        code_challenge_method="S256", **params)
            self.assertEqual(status, 302, params)
            self.assertTrue(location.startswith(REDIRECT), location)
            self.assertEqual(query.get("error"), "invalid_request", (params, location))
            self.assertNotIn("code", query)

    # --- the login session and what was issued under it ------------------------------------
    def test_revoking_a_login_session_revokes_the_refresh_tokens_issued_under_it(self):
        cookie, tokens = self.new_user_tokens("erin")
        status, refreshed = self.token({"grant_type": "refresh_token",
                                        "refresh_token": tokens["refresh_token"]})
        self.assertEqual(status, 200, refreshed)
        # The ID token's sid is the session's id in `session list`, which names the client.
        sid = self.id_claims(tokens["id_token"])["sid"]
        self.assertEqual(self.id_claims(refreshed["id_token"])["sid"], sid)
        self.assertNotEqual(sid, cookie)
        sessions = {s["id"]: s for s in self.auth.admin_json("session", "list")["sessions"]}
        self.assertIn(sid, sessions)
        self.assertEqual(sessions[sid]["user"], "erin")
        clients = sessions[sid]["clients"]
        self.assertEqual([c["client_id"] for c in clients], ["app"], clients)
        self.assertIsNotNone(clients[0]["refreshed_at"])
        rc, out, err = self.auth.admin("session", "revoke", sid)
        self.assertEqual(rc, 0, out + err)
        # The relying party's next refresh fails, and the access token is revoked.
        status, body = self.token({"grant_type": "refresh_token",
                                   "refresh_token": refreshed["refresh_token"]})
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        self.assertEqual(self.userinfo(refreshed["access_token"])[0], 401)
        self.assertNotIn(sid, [s["id"] for s in self.auth.admin_json("session", "list")["sessions"]])

    def test_logout_ends_the_session_and_redirects_only_where_registered(self):
        cookie, tokens = self.new_user_tokens("bob")
        _, challenge = pkce()
        hint = tokens["id_token"]
        logout = self.auth.url + "/oauth2/logout?"
        headers = {"Cookie": f"{LOGIN_COOKIE}={cookie}"}
        status, body, h = self.raw("GET", logout + urllib.parse.urlencode(
            {"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example/"}), headers)
        self.assertEqual((status, h.get("location")), (400, None))
        status, _, h = self.raw("GET", logout + urllib.parse.urlencode(
            {"id_token_hint": hint, "post_logout_redirect_uri": BYE, "state": "s1"}), headers)
        self.assertEqual((status, h["location"]), (302, BYE + "?state=s1"))
        self.assertIn(f"{LOGIN_COOKIE}=;", h["set-cookie"])
        # The session has ended: the same cookie now goes to the login page.
        status, _, location, _ = self.authorize(cookie=cookie, code_challenge=challenge,
                                                code_challenge_method="S256")
        self.assertTrue(location.startswith("/login?"), location)


if __name__ == "__main__":
    unittest.main()
