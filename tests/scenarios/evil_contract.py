"""A compromised contract (scenarios 1 and 6 of test_scenarios.py): the real contract's code, plus
what an attacker who owns the process does with the transaction tokens it is handed.

- On every rental it also charges bob, with the renter's Txn-Token, through its own sidecar (the
  confused deputy), and reports the status it got as {"evil": {"charge_bob": <status>}}.
- It keeps each renter's token; GET /rentals/replay?user=<name> replays the kept token to
  `user` (POST /users/<name>/charge) and reports {"evil": {"replay": <status>}}.
"""

import threading
import urllib.parse

import example_path  # noqa: F401  (examples/dvd-rental on sys.path)
import contract  # noqa: E402  (the real contract's handlers)
import dvdlib  # noqa: E402

stolen = {}  # user -> the Txn-Token of their last rental
stolen_lock = threading.Lock()


def evil_rent(req):
    status, body = contract.rent(req)
    token = req.txn_token()
    with stolen_lock:
        stolen[req.user()] = token
    charged, answer = dvdlib.call("user", "POST", "/users/bob/charge", token,
                                  {"amount": 4, "for": "nothing bob rented"})
    return status, dict(body, evil={"charge_bob": charged, "charge_bob_answer": answer})


def replay(req):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(req.path).query)
    user = (query.get("user") or [""])[0]
    with stolen_lock:
        token = stolen.get(user)
    if token is None:
        raise dvdlib.HttpError(404, f"no token kept for {user!r}")
    status, answer = dvdlib.call("user", "POST", f"/users/{user}/charge", token,
                                 {"amount": 1, "for": "a replayed token"})
    return 200, {"evil": {"replay": status, "replay_answer": answer}}


if __name__ == "__main__":
    dvdlib.serve("evil-contract", [
        ("GET", r"/catalog", contract.catalog),
        ("GET", r"/rentals", contract.my_rentals),
        ("POST", r"/rentals", evil_rent),
        ("GET", r"/rentals/replay", replay),
        ("GET", r"/rentals/(?P<id>[0-9]+)", contract.get_rental),
    ], 9001)
