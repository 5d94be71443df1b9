"""A browser for the authority's login pages, shared by the SSO end-to-end suites: a cookie jar
and HTTPS client (test_sso_login.py performs the attacks on the pages with it), TOTP computed
independently of bulwark (as an authenticator app would), and `sign_in`, which takes a new user
the whole way a person does: `bulwark authority user add`, the enrolment link, password and
TOTP, and returns the login cookie (test_oidc.py signs its users in with it)."""

import base64
import hashlib
import hmac
import http.client
import re
import struct
import time
import urllib.parse

import harness

PASSWORD = "correct horse battery staple"
LOGIN_COOKIE = "__Host-bulwark-login"


def totp(secret_b32, step):
    """RFC 6238 TOTP (HMAC-SHA-1, 6 digits) of `step`, computed independently of bulwark."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1000000:06d}"


def now_step():
    return int(time.time()) // 30


class Browser:
    """A cookie jar and HTTPS client for the login pages, sending from `source` (127.0.0.x).
    `target` is a path on the authority, or an absolute https:// URL of another server on the
    same host (a gateway: one jar, as browsers keep cookies per host whatever the port) whose
    certificate chains to one of `extra_cas`."""

    def __init__(self, auth, source, extra_cas=()):
        self.auth = auth
        self.source = source
        self.extra_cas = list(extra_cas)
        self.cookies = {}
        self.set_cookies = []  # every Set-Cookie header seen, verbatim

    def request(self, method, target, form=None, headers=None):
        host, port = self.auth.host_port
        if target.startswith("https://"):
            parsed = urllib.parse.urlsplit(target)
            host, port = parsed.hostname, parsed.port
            target = parsed.path + ("?" + parsed.query if parsed.query else "")
        ctx = harness.ssl_context(self.auth.bundle)
        for ca in self.extra_cas:
            ctx.load_verify_locations(ca)
        conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=15,
                                           source_address=(self.source, 0))
        hdrs = dict(headers or {})
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, target, body=body, headers=hdrs)
            response = conn.getresponse()
            text = response.read().decode()
            for value in response.headers.get_all("Set-Cookie") or []:
                self.set_cookies.append(value)
                name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if cookie_value:
                    self.cookies[name] = cookie_value
                else:
                    self.cookies.pop(name, None)
            return response.status, response.headers, text
        finally:
            conn.close()

    def csrf(self, target="/login"):
        status, _, body = self.request("GET", target)
        match = re.search(r'name="csrf" value="([^"]+)"', body)
        if not match:
            raise AssertionError(f"no CSRF token on {target} ({status}): {body[:500]}")
        return match.group(1)

    def password(self, user, password=PASSWORD, return_to=None):
        form = {"csrf": self.csrf(), "username": user, "password": password}
        if return_to is not None:
            form["return_to"] = return_to
        return self.request("POST", "/login", form)

    def mfa(self, code):
        return self.request("POST", "/login/mfa", {"csrf": self.csrf("/login"), "code": code})

    def signed_in_as(self):
        _, _, body = self.request("GET", "/login")
        match = re.search(r'Signed in as <strong id="user">([^<]*)</strong>', body)
        return match.group(1) if match else None


def enrol(auth, name, email, source="127.0.0.1"):
    """Adds the user `name` and enrols them through the printed link (password and TOTP, the
    code of the current step). Returns their TOTP secret (base32)."""
    rc, out, err = auth.admin("user", "add", name, "--email", email)
    if rc != 0:
        raise AssertionError(f"user add {name} failed: {out}{err}")
    return enrol_with_link(auth, out.strip(), source)


def enrol_with_link(auth, link, source="127.0.0.1"):
    """Enrols the user of the enrolment link `link` (as `user add` printed it) the way a person
    does: the page shows the TOTP secret, the form takes the password twice and the current
    step's code. Returns their TOTP secret (base32)."""
    target = link[link.index("/enrol"):]
    b = Browser(auth, source)
    status, _, page = b.request("GET", target)
    if status != 200:
        raise AssertionError(f"enrolment page: {status} {page[:300]}")
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1),
            "token": target.split("token=")[1], "password": PASSWORD, "password2": PASSWORD,
            "code": totp(secret, now_step())}
    status, _, done = b.request("POST", "/enrol", form)
    if status != 200:
        raise AssertionError(f"enrolment: {status} {done[:300]}")
    return secret


def log_in(browser, name, secret, return_to=None):
    """Signs `name` in on `browser` with password and a TOTP code of the next step (their
    enrolment spent the current one; call once per user and step). Returns where the second
    factor's 303 leads."""
    status, headers, body = browser.password(name, return_to=return_to)
    if status != 303 or headers["Location"] != "/login/mfa":
        raise AssertionError(f"password step: {status} {body[:300]}")
    status, headers, body = browser.mfa(totp(secret, now_step() + 1))
    if status != 303 or LOGIN_COOKIE not in browser.cookies:
        raise AssertionError(f"second factor: {status} {body[:300]}")
    return headers["Location"]


def sign_in(auth, name, email, source="127.0.0.1"):
    """Adds, enrols and signs in the user `name`; returns the value of their login cookie."""
    secret = enrol(auth, name, email, source)
    browser = Browser(auth, source)
    log_in(browser, name, secret)
    return browser.cookies[LOGIN_COOKIE]
