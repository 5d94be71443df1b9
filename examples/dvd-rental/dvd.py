"""dvd: the inventory, and shipping: a worker claims shipping jobs from the queue, ships the DVD
and only then marks the job done."""

import threading
import time

import dvdlib

store = dvdlib.Store()
dvds = {
    "1": {"id": "1", "title": "Metropolis", "price": 4, "stock": 3},
    "2": {"id": "2", "title": "Brazil", "price": 5, "stock": 2},
    "3": {"id": "3", "title": "Gattaca", "price": 5, "stock": 1},
}
shipments = []


def list_dvds(req):
    with store.lock:
        return 200, {"dvds": list(dvds.values())}


def get_dvd(req):
    with store.lock:
        dvd = dvds.get(req.params["id"])
        if dvd is None:
            raise dvdlib.HttpError(404, "no such DVD")
        return 200, dvd


def reserve(req):
    with store.lock:
        dvd = dvds.get(req.params["id"])
        if dvd is None:
            raise dvdlib.HttpError(404, "no such DVD")
        if dvd["stock"] == 0:
            return 409, {"error": "out of stock"}
        dvd["stock"] -= 1
        return 200, dvd


def list_shipments(req):
    with store.lock:
        return 200, {"shipments": list(shipments)}


def ship_forever(interval=0.2):
    while True:
        try:
            status, body = dvdlib.call("queue", "POST", "/jobs/next")
            job = body.get("job") if status == 200 and body else None
            if job and job["kind"] == "ship":
                with store.lock:
                    shipments.append(dict(job["data"], job=job["id"], shipped_at=time.time()))
                dvdlib.call("queue", "POST", f"/jobs/{job['id']}/done")
                continue
        except (OSError, ValueError):
            pass
        time.sleep(interval)


if __name__ == "__main__":
    threading.Thread(target=ship_forever, daemon=True).start()
    dvdlib.serve("dvd", [
        ("GET", r"/dvds", list_dvds),
        ("GET", r"/dvds/(?P<id>[0-9]+)", get_dvd),
        ("POST", r"/dvds/(?P<id>[0-9]+)/reserve", reserve),
        ("GET", r"/shipments", list_shipments),
    ], 9003)
