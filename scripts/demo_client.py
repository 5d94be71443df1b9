"""The scripted client of scripts/demo: rents a DVD through the gateway of the running DVD mesh
as alice, then shows what the mesh refuses. Every step prints what happened; any surprise exits
1. Python 3 stdlib only.

Usage: python3 scripts/demo_client.py GATEWAY_URL CA_BUNDLE ALICE_KEY BOB_KEY"""

import http.client
import json
import ssl
import sys
import time
import urllib.parse


def main(gateway, bundle, alice, bob):
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

    def expect(what, status, wanted, body):
        mark = "ok " if status == wanted else "UNEXPECTED"
        print(f"  [{mark}] {what}: {status}")
        if status != wanted:
            print(f"         wanted {wanted}; body: {str(body)[:300]}")
            sys.exit(1)
        return body

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
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
