"""Crash consistency: SIGKILL the authority in the middle of an issuance burst and check that
every SVID a client was handed survives in the store, and that no token was lost half-way."""

import concurrent.futures
import hashlib
import http.client
import sys
import ssl
import threading
import time
import unittest

import harness
from harness import Authority, make_csr

TD = harness.TRUST_DOMAIN
TOKENS = 40
THREADS = 8
KILL_AFTER = 15
BURST_DEADLINE = 30  # seconds


def token_handle(token):
    """The non-secret handle the authority writes to the audit trail for a join token."""
    return "join-token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


class KillDuringBurstTest(unittest.TestCase):
    def test_sigkill_during_issuance_loses_no_acknowledged_svid(self):
        auth = Authority(self.addCleanup).init().start()
        work = auth.tmpdir("burst")
        jobs = []
        for i in range(TOKENS):
            spiffe_id = f"spiffe://{TD}/svc/burst-{i}"
            csr = make_csr(work, name=f"c{i}")[0]
            jobs.append({"i": i, "spiffe_id": spiffe_id, "token": auth.token(spiffe_id),
                         "csr": csr})

        lock = threading.Lock()
        next_job = [0]
        successes = []  # (job, response body)
        failures = []  # (job, status or exception text)
        enough = threading.Event()
        deadline = time.monotonic() + BURST_DEADLINE

        def take():
            with lock:
                if next_job[0] >= len(jobs):
                    return None
                job = jobs[next_job[0]]
                next_job[0] += 1
                return job

        def worker():
            while time.monotonic() < deadline:
                job = take()
                if job is None:
                    return
                try:
                    status, body = auth.issue(job["token"], job["csr"], timeout=10)
                except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                    with lock:
                        failures.append((job, repr(e)))
                    continue
                with lock:
                    if status == 200:
                        successes.append((job, body))
                        if len(successes) >= KILL_AFTER:
                            enough.set()
                    else:
                        failures.append((job, f"{status} {body}"))

        with concurrent.futures.ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(worker) for _ in range(THREADS)]
            self.assertTrue(enough.wait(timeout=BURST_DEADLINE),
                            f"only {len(successes)} issuances before the deadline")
            auth.kill9()
            for f in futures:
                f.result(timeout=BURST_DEADLINE + 15)

        self.assertGreaterEqual(len(successes), KILL_AFTER)
        self.assertLess(len(successes), TOKENS, "the kill came after the burst was over")
        # Connection errors are what the kill causes; an HTTP refusal would be a real problem.
        self.assertEqual([(j["spiffe_id"], r) for j, r in failures if r[:3].isdigit()], [])

        auth.start()  # same data dir: the store must open after the crash
        listed = auth.svids()
        listed_serials = {s["serial"] for s in listed}
        audit = auth.audit(1000)
        issue_details = [e["detail"] for e in audit if e["action"] == "svid.issue"]
        for job, body in successes:
            with self.subTest(acknowledged=job["spiffe_id"]):
                self.assertIn(body["serial"], listed_serials)
                record = next(s for s in listed if s["serial"] == body["serial"])
                self.assertEqual(record["spiffe_id"], job["spiffe_id"])
                self.assertTrue(any(body["serial"] in d for d in issue_details),
                                f"no svid.issue audit entry for {body['serial']}")

        # Every other token is either consumed with its SVID recorded, or still redeemable:
        # a crash must never burn a token without recording what it paid for.
        acknowledged = {job["i"] for job, _ in successes}
        issued_by = {e["actor"]: e for e in audit if e["action"] == "svid.issue"}
        unacknowledged_but_issued = sum(
            1 for job in jobs
            if job["i"] not in acknowledged and token_handle(job["token"]) in issued_by)
        sys.stderr.write(f"[burst: {len(successes)} acknowledged, {len(failures)} cut off, "
                         f"{unacknowledged_but_issued} issued without an answer] ")
        for job in jobs:
            if job["i"] in acknowledged:
                continue
            with self.subTest(unacknowledged=job["spiffe_id"]):
                entry = issued_by.get(token_handle(job["token"]))
                recorded = [s for s in listed if s["spiffe_id"] == job["spiffe_id"]
                            and s["kind"] == "join"]
                if entry is not None:
                    self.assertEqual(len(recorded), 1, entry)
                    self.assertIn(recorded[0]["serial"], entry["detail"])
                    continue
                self.assertEqual(recorded, [])
                status, body = auth.issue(job["token"], job["csr"])
                self.assertEqual(status, 200, f"token lost in the crash: {body}")


if __name__ == "__main__":
    unittest.main()
