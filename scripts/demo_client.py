"""The scripted client of scripts/demo. First as a browser would: alice enrols through her
enrolment link (password and TOTP), opens the gateway, is sent to the authority's login, signs in
with her password and a TOTP code (single sign-on), rents a DVD with her gateway session and logs
out. Then as a script with an API key: rents as alice and shows what the mesh refuses. Every step
prints what happened; any surprise exits 1. Python 3 stdlib only; the login pages are driven by
tests/e2e/sso.py, the same code the end-to-end tests use (TOTP computed independently of
bulwark, as an authenticator app does).

Usage: python3 scripts/demo_client.py GATEWAY_URL CA_BUNDLE ALICE_KEY BOB_KEY \
           [AUTHORITY_DATA_DIR ALICE_ENROLMENT_LINK]
Without the last two, the single sign-on part is left out."""

import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import sso  # noqa: E402


class DemoAuthority:
    """The running mesh's authority, as sso.py's browser uses one."""

    def __init__(self, link, bundle, data_dir):
        url = urllib.parse.urlsplit(link)
        self.host_port = (url.hostname, url.port)
        self.bundle = bundle
        self.data_dir = data_dir


def follow(browser, url, hops=10):
    """GETs `url` and follows redirects (relative ones against the current URL) while they
    stay on the mesh's servers; returns (final URL, status, body)."""
    for _ in range(hops):
        status, headers, body = browser.request("GET", url, headers={
            "Accept": "text/html", "Sec-Fetch-Mode": "navigate"})
        if status not in (301, 302, 303, 307) or not headers.get("Location"):
            return url, status, body
        url = urllib.parse.urljoin(url, headers["Location"])
    raise AssertionError(f"more than {hops} redirects, the last to {url}")


def expect(what, status, wanted, body):
    mark = "ok " if status == wanted else "UNEXPECTED"
    print(f"  [{mark}] {what}: {status}")
    if status != wanted:
        print(f"         wanted {wanted}; body: {str(body)[:300]}")
        sys.exit(1)
    return body


def single_sign_on(gateway, call, auth, link):
    """Alice the way a browser goes: enrol, log in through the gateway, rent, log out."""
    status, body = call("GET", "/_bulwark/session")
    if status == 404:
        print("  [skip] this gateway does not serve browser sessions (/_bulwark/session is 404)")
        return
    expect("the gateway's session endpoint without a session", status, 401, body)
    secret = sso.enrol_with_link(auth, link)
    print(f"  [ok ] alice enrolled through her link: password, TOTP secret {secret[:4]}... "
          "(an authenticator app reads it from the page's QR code)")
    browser = sso.Browser(auth, "127.0.0.1")
    navigate = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
    status, headers, body = browser.request("GET", gateway + "/", headers=navigate)
    expect("alice opens the page: sent to the authority to log in", status, 302, body)
    where, status, body = follow(browser, urllib.parse.urljoin(gateway, headers["Location"]))
    expect(f"the login page ({urllib.parse.urlsplit(where).path})", status, 200, body)
    return_to = urllib.parse.parse_qs(urllib.parse.urlsplit(where).query).get("return_to", [""])
    back = sso.log_in(browser, "alice", secret, return_to=return_to[0] or None)
    print("  [ok ] password, then the TOTP code of her authenticator: signed in")
    where, status, body = follow(browser, urllib.parse.urljoin(where, back))
    expect(f"back at the gateway's page {where}", status, 200, body)
    if where != gateway + "/":
        print(f"         the login ended at {where}, not the page")
        sys.exit(1)
    cookies = {"Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items()),
               "Origin": gateway}
    status, me = call("GET", "/_bulwark/session", headers=cookies)
    me = expect("the page asks who is signed in", status, 200, me)
    print(f"         {me}")
    status, rental = call("POST", "/rentals", body={"dvd": "2"}, headers=cookies)
    rental = expect("alice rents DVD 2 with her session (the page's fetch)", status, 201, rental)
    print(f"         rental {rental.get('id')} of {rental.get('title')} for {rental.get('user')}")
    status, body = call("GET", "/users/bob/charges", headers=cookies)
    expect("alice's session reading bob's charges", status, 403, body)
    status, headers, body = browser.request("POST", gateway + "/_bulwark/logout", form={})
    expect("alice logs out (the gateway's and the authority's sessions end)", status, 303, body)
    follow(browser, urllib.parse.urljoin(gateway, headers["Location"]))
    if "__Host-bulwark-session" in browser.cookies:
        print("  [UNEXPECTED] the browser still holds its session cookie after logout")
        sys.exit(1)
    status, body = call("GET", "/rentals", headers=cookies)
    expect("a copy of alice's session cookie kept from before the logout", status, 401, body)
    status, _, body = browser.request("GET", gateway + "/", headers=navigate)
    expect("opening the page again: sent to the login again", status, 302, body)


def main(gateway, bundle, alice, bob, data_dir=None, link=None):
    url = urllib.parse.urlsplit(gateway)
    context = ssl.create_default_context(cafile=bundle)

    def call(method, path, key=None, body=None, headers=None):
        conn = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=10)
        try:
            sent = dict(headers or {})
            if key:
                sent["X-Api-Key"] = key
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                sent["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text
        finally:
            conn.close()

    if link:
        print("  Single sign-on, as a browser does it:")
        single_sign_on(gateway, call, DemoAuthority(link, bundle, data_dir), link)
        print("\n  A script with an API key:")
    # The gateway learns new API keys from the authority's feed within a moment: retry briefly.
    deadline = time.monotonic() + 15
    while True:
        status, catalog = call("GET", "/catalog", alice)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    catalog = expect("alice reads the catalog", status, 200, catalog)
    titles = ", ".join(f"{d['id']}: {d['title']}" for d in catalog.get("dvds", [])[:3])
    print(f"         {titles} ...")
    status, rental = call("POST", "/rentals", alice, {"dvd": "1"})
    rental = expect("alice rents DVD 1 (contract -> dvd, user, queue, each through sidecars)",
                    status, 201, rental)
    print(f"         rental {rental.get('id')} for {rental.get('user')}: "
          f"shipping {rental.get('shipping')}")
    status, charges = call("GET", "/users/alice/charges", alice)
    charges = expect("alice reads her charges", status, 200, charges)
    print(f"         amounts: {[c['amount'] for c in charges.get('charges', [])]}")

    print("\n  What the mesh refuses:")
    status, body = call("GET", "/users/alice/charges", bob)
    expect("bob reads alice's charges (user's rule: token.sub == path.id)", status, 403, body)
    status, body = call("GET", "/users/bob/../alice/charges", bob)
    expect("the same through a dot-segment detour (normalised first)", status, 403, body)
    status, body = call("GET", "/rentals", "bwk_AAAAAAAAAAA_" + "B" * 43)
    expect("a made-up API key", status, 401, body)
    status, body = call("POST", "/rentals", None, {"dvd": "1"})
    expect("renting without any credential", status, 401, body)
    status, body = call("GET", "/users/alice/charges", bob,
                        headers={"Txn-Token": "forged", "X-Bulwark-Peer-Id": "spiffe://x/admin"})
    expect("bob forging the identity headers (the gateway strips them)", status, 403, body)
    status, body = call("DELETE", "/rentals", alice)
    expect("a method the route does not allow", status, 405, body)


if __name__ == "__main__":
    if len(sys.argv) not in (5, 7):
        sys.exit(__doc__)
    main(*sys.argv[1:])
