"""queue: a small work queue. contract posts shipping jobs; dvd claims them and marks them done."""

import itertools

import dvdlib

store = dvdlib.Store()
jobs = {}  # id -> job, in insertion order
next_id = itertools.count(1)


def post_job(req):
    kind = req.json_field("kind", str)
    with store.lock:
        job = {"id": next(next_id), "kind": kind, "data": req.body.get("data", {}),
               "claimed": False}
        jobs[job["id"]] = job
        return 201, job


def claim_next(req):
    with store.lock:
        for job in jobs.values():
            if not job["claimed"]:
                job["claimed"] = True
                return 200, {"job": job}
        return 200, {"job": None}


def done(req):
    with store.lock:
        job = jobs.pop(int(req.params["id"]), None)
    if job is None:
        raise dvdlib.HttpError(404, "no such job")
    return 200, {"done": job["id"]}


def list_jobs(req):
    with store.lock:
        return 200, {"jobs": list(jobs.values())}


if __name__ == "__main__":
    dvdlib.serve("queue", [
        ("POST", r"/jobs", post_job),
        ("GET", r"/jobs", list_jobs),
        ("POST", r"/jobs/next", claim_next),
        ("POST", r"/jobs/(?P<id>[0-9]+)/done", done),
    ], 9004)
