"""contract: rentals. Renting a DVD reserves it (dvd), charges the renter (user) and queues its
shipping (queue), all for the user of the transaction token the request carried."""

import itertools

import dvdlib

store = dvdlib.Store()
rentals = []
next_id = itertools.count(1)


def catalog(req):
    status, body = dvdlib.call("dvd", "GET", "/dvds", req.txn_token())
    if status != 200:
        raise dvdlib.HttpError(502, f"dvd answered {status}")
    return 200, body


def my_rentals(req):
    user = req.user()
    with store.lock:
        return 200, {"user": user, "rentals": [r for r in rentals if r["user"] == user]}


def rent(req):
    user = req.user()
    dvd_id = req.json_field("dvd", str)
    token = req.txn_token()
    status, dvd = dvdlib.call("dvd", "POST", f"/dvds/{dvd_id}/reserve", token)
    if status != 200:
        return status, {"error": (dvd or {}).get("error", f"dvd answered {status}")}
    status, charged = dvdlib.call("user", "POST", f"/users/{user}/charge", token,
                                  {"amount": dvd["price"], "for": f"rental of {dvd['title']}"})
    if status != 201:
        return status, {"error": (charged or {}).get("error", f"user answered {status}")}
    with store.lock:
        rental = {"id": next(next_id), "user": user, "dvd": dvd_id, "title": dvd["title"],
                  "price": dvd["price"]}
        rentals.append(rental)
    status, _ = dvdlib.call("queue", "POST", "/jobs", token,
                            {"kind": "ship", "data": {"rental": rental["id"], "dvd": dvd_id,
                                                      "user": user}})
    rental["shipping"] = "queued" if status == 201 else f"not queued ({status})"
    return 201, rental


def get_rental(req):
    user = req.user()
    with store.lock:
        for rental in rentals:
            if str(rental["id"]) == req.params["id"] and rental["user"] == user:
                return 200, rental
    raise dvdlib.HttpError(404, "no such rental")


if __name__ == "__main__":
    dvdlib.serve("contract", [
        ("GET", r"/catalog", catalog),
        ("GET", r"/rentals", my_rentals),
        ("POST", r"/rentals", rent),
        ("GET", r"/rentals/(?P<id>[0-9]+)", get_rental),
    ], 9001)
