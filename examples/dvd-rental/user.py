"""user: accounts and charges. Charges whatever it is asked to: its sidecar's policy decides who
may ask (only contract, only for the user of the transaction token)."""

import itertools

import dvdlib

store = dvdlib.Store()
balances = {"alice": 50, "bob": 50, "carol": 50}
charges = []
next_id = itertools.count(1)


def account(user):
    if user not in balances:
        raise dvdlib.HttpError(404, f"no user {user}")
    return user


def get_user(req):
    user = account(req.params["id"])
    with store.lock:
        return 200, {"id": user, "balance": balances[user]}


def charge(req):
    user = account(req.params["id"])
    amount = req.json_field("amount", int)
    if amount <= 0:
        raise dvdlib.HttpError(400, "amount must be positive")
    with store.lock:
        if balances[user] < amount:
            return 402, {"error": "insufficient balance", "balance": balances[user]}
        balances[user] -= amount
        record = {"id": next(next_id), "user": user, "amount": amount,
                  "for": req.body.get("for", "")}
        charges.append(record)
        return 201, dict(record, balance=balances[user])


def list_charges(req):
    user = account(req.params["id"])
    with store.lock:
        return 200, {"charges": [c for c in charges if c["user"] == user]}


if __name__ == "__main__":
    dvdlib.serve("user", [
        ("GET", r"/users/(?P<id>[a-z0-9._-]+)", get_user),
        ("POST", r"/users/(?P<id>[a-z0-9._-]+)/charge", charge),
        ("GET", r"/users/(?P<id>[a-z0-9._-]+)/charges", list_charges),
    ], 9002)
