"""End-to-end tests of `bulwark authority`: a real serve process on loopback, real clients
(the bulwark CLI, Python's ssl, curl) and independent checks with the openssl CLI."""

import base64
import concurrent.futures
import hashlib
import json
import os
import ssl
import stat
import threading
import time
import unittest

import harness
from harness import Authority, make_csr

TD = harness.TRUST_DOMAIN
SVID_TTL = 120  # --svid-ttl 2m
TTL_SLACK = 15


def sid(name):
    return f"spiffe://{TD}/svc/{name}"


class AuthorityTestCase(unittest.TestCase):
    """One authority (serve --svid-ttl 2m) shared by the tests of a class."""

    serve_args = ("--svid-ttl", "2m")

    @classmethod
    def setUpClass(cls):
        cls.auth = Authority(cls.addClassCleanup, serve_args=cls.serve_args).init().start()

    def work(self, name):
        return self.auth.tmpdir(name)

    def fetch_http(self, spiffe_id):
        """Redeems a fresh token over the HTTP API; returns a dict describing the SVID, with
        svid.pem (leaf + signing CA) and key.pem written to a fresh directory."""
        d = self.work("svid")
        token = self.auth.token(spiffe_id)
        csr, key_path, _ = make_csr(d)
        status, body = self.auth.issue(token, csr)
        self.assertEqual(status, 200, body)
        svid_path = harness.write(os.path.join(d, "svid.pem"), body["svid_pem"])
        return {"dir": d, "svid": svid_path, "key": key_path, "serial": body["serial"],
                "body": body}

    def assert_valid_svid(self, svid_path, spiffe_id, issued_at, key_path=None):
        """The independent check of an issued SVID: openssl accepts the chain against the
        bundle, the only URI SAN is the SPIFFE ID, and the lifetime is the configured TTL."""
        rc, out, err = harness.openssl_verify(self.auth.bundle, svid_path)
        self.assertEqual(rc, 0, f"openssl verify refused {svid_path}: {out}{err}")
        self.assertIn(": OK", out)
        self.assertEqual(harness.uri_sans(svid_path), [spiffe_id])
        remaining = harness.not_after(svid_path) - issued_at
        self.assertLessEqual(abs(remaining - SVID_TTL), TTL_SLACK,
                             f"notAfter is {remaining}s away, expected ~{SVID_TTL}s")
        # The leaf is not a CA.
        self.assertIn("CA:FALSE", harness.x509(svid_path, "-ext", "basicConstraints"))
        if key_path is not None:
            self.assertEqual(harness.public_key_pem(svid_path),
                             harness.public_key_pem(key_path, is_private_key=True),
                             "the SVID does not certify the key next to it")


class IssuedSvidTest(AuthorityTestCase):
    def test_fetch_and_renew_issue_svids_that_openssl_accepts(self):
        spiffe_id = sid("fetch-renew")
        token_file = self.auth.token_file(spiffe_id)
        self.assertEqual(stat.S_IMODE(os.stat(token_file).st_mode), 0o600)
        out_dir = os.path.join(self.work("w"), "identity")

        issued_at = time.time()
        rc, out, err = harness.cli("identity", "fetch", "--authority", self.auth.url,
                                   "--bundle", self.auth.bundle, "--token-file", token_file,
                                   "--out", out_dir)
        self.assertEqual(rc, 0, out + err)
        svid, key = os.path.join(out_dir, "svid.pem"), os.path.join(out_dir, "key.pem")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertEqual(len(harness.split_pem(harness.read(svid))), 2, "leaf + signing CA")
        self.assert_valid_svid(svid, spiffe_id, issued_at, key)
        with open(os.path.join(out_dir, "bundle.pem")) as a, open(self.auth.bundle) as b:
            self.assertEqual(a.read(), b.read())
        first_serial = harness.serial_int(svid)
        first_pub = harness.public_key_pem(svid)
        listed = self.auth.workload_svids(spiffe_id)
        self.assertEqual([int(s["serial"], 16) for s in listed], [first_serial])

        issued_at = time.time()
        rc, out, err = harness.cli("identity", "renew", "--authority", self.auth.url,
                                   "--dir", out_dir)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assert_valid_svid(svid, spiffe_id, issued_at, key)
        self.assertNotEqual(harness.serial_int(svid), first_serial)
        self.assertNotEqual(harness.public_key_pem(svid), first_pub, "renewal kept the key")
        kinds = sorted(s["kind"] for s in self.auth.workload_svids(spiffe_id))
        self.assertEqual(kinds, ["join", "renew"])

    def test_api_issuance_matches_response_fields(self):
        spiffe_id = sid("api-fields")
        issued_at = time.time()
        got = self.fetch_http(spiffe_id)
        body = got["body"]
        self.assertEqual(body["spiffe_id"], spiffe_id)
        self.assertEqual(int(body["serial"], 16), harness.serial_int(got["svid"]))
        self.assertAlmostEqual(body["expires_at"], harness.not_after(got["svid"]), delta=1)
        with open(self.auth.bundle) as f:
            self.assertEqual(body["bundle_pem"], f.read())
        self.assert_valid_svid(got["svid"], spiffe_id, issued_at, got["key"])


class JoinTokenTest(AuthorityTestCase):
    def workload_count(self):
        return len(self.auth.workload_svids())

    def test_token_works_only_once(self):
        spiffe_id = sid("once")
        token = self.auth.token(spiffe_id)
        d = self.work("once")
        csr1, _, _ = make_csr(d, name="a")
        csr2, _, _ = make_csr(d, name="b")
        status, body = self.auth.issue(token, csr1)
        self.assertEqual(status, 200, body)
        before = self.workload_count()
        status, body = self.auth.issue(token, csr2)
        self.assertEqual(status, 401, body)
        self.assertIn("already been used", body["error_description"])
        self.assertEqual(self.workload_count(), before)
        self.assertEqual(len(self.auth.workload_svids(spiffe_id)), 1)

    def test_expired_token_is_refused(self):
        spiffe_id = sid("expired")
        token = self.auth.token(spiffe_id, ttl="1s")
        csr, _, _ = make_csr(self.work("expired"))
        time.sleep(2)
        before = self.workload_count()
        status, body = self.auth.issue(token, csr)
        self.assertEqual(status, 401, body)
        self.assertIn("expired", body["error_description"])
        self.assertEqual(self.workload_count(), before)
        self.assertEqual(self.auth.workload_svids(spiffe_id), [])

    def test_unknown_token_is_refused(self):
        csr, _, _ = make_csr(self.work("unknown"))
        before = self.workload_count()
        real = self.auth.token(sid("unknown"))
        forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
        status, body = self.auth.issue(forged, csr)
        self.assertEqual(status, 401, body)
        self.assertEqual(self.workload_count(), before)

    def test_no_tokens_for_admin_or_foreign_ids(self):
        """A join token must never be a way to an admin identity or another trust domain."""
        last_id = max(e["id"] for e in self.auth.audit())
        for spiffe_id, text in ((f"spiffe://{TD}/admin/root", "admin"),
                                ("spiffe://other.example/svc/x", "trust domain"),
                                ("https://example.org/svc/x", "")):
            with self.subTest(spiffe_id=spiffe_id):
                rc, out, err = self.auth.admin("token", "create", "--spiffe-id", spiffe_id)
                self.assertNotEqual(rc, 0, out)
                self.assertEqual(out.strip(), "", "a token was printed")
                self.assertTrue(err.strip())
                self.assertIn(text, err)
        new = [e["action"] for e in self.auth.audit() if e["id"] > last_id]
        self.assertNotIn("token.create", new)

    def refuse_then_redeem(self, spiffe_id, attempt, expected_status, expected_text):
        """Performs a refused redemption with a fresh token, checks that nothing was issued,
        then checks that the token was not consumed: it still works exactly once."""
        token = self.auth.token(spiffe_id)
        before = self.workload_count()
        status, body = attempt(token)
        self.assertEqual(status, expected_status, body)
        self.assertIsInstance(body, dict, "error responses are JSON")
        self.assertIn(expected_text, body.get("error_description", ""), body)
        self.assertEqual(self.workload_count(), before, "a refused request issued an SVID")
        self.assertEqual(self.auth.workload_svids(spiffe_id), [])
        d = self.work("redeem")
        good, _, _ = make_csr(d, name="good")
        status, body = self.auth.issue(token, good)
        self.assertEqual(status, 200, f"token unusable after a refusal: {body}")
        again, _, _ = make_csr(d, name="again")
        status, body = self.auth.issue(token, again)
        self.assertEqual(status, 401, body)
        self.assertEqual(len(self.auth.workload_svids(spiffe_id)), 1)
        self.assertEqual(self.workload_count(), before + 1)

    def test_token_for_another_spiffe_id_is_refused(self):
        spiffe_id = sid("bound")
        csr, _, _ = make_csr(self.work("bound"))
        other = sid("somebody-else")
        self.refuse_then_redeem(spiffe_id, lambda t: self.auth.issue(t, csr, spiffe_id=other),
                                403, "another SPIFFE ID")
        self.assertEqual(self.auth.workload_svids(other), [])

    def test_bad_csrs_are_refused_before_the_token_is_consumed(self):
        d = self.work("csrs")
        good, _, _ = make_csr(d, name="good")
        body_start = good.index("\n") + 1
        corrupt = good[:body_start] + "AAAA" + good[body_start + 4:]  # breaks the DER
        # A well-formed CSR whose self-signature does not match: the last byte of the DER is
        # the end of the ECDSA signature's s value.
        der = bytearray(base64.b64decode("".join(good.strip().splitlines()[1:-1])))
        der[-1] ^= 0x01
        bad_sig = ("-----BEGIN CERTIFICATE REQUEST-----\n"
                   + base64.encodebytes(bytes(der)).decode()
                   + "-----END CERTIFICATE REQUEST-----\n")
        rsa, _, _ = make_csr(d, key_type="rsa1024", name="rsa")
        ca, _, _ = make_csr(d, addext=["basicConstraints=critical,CA:TRUE"], name="ca")
        cases = {
            "garbage": ("this is not a CSR", 400, "malformed CSR"),
            "corrupt-der": (corrupt, 400, "CSR"),
            "certificate-not-csr": (harness.read(self.auth.bundle), 400, "CSR"),
            "bad-signature": (bad_sig, 400, "signature"),
            "rsa-1024": (rsa, 400, "RSA"),
            "ca-true": (ca, 400, "CA"),
        }
        for n, (csr, status, text) in cases.items():
            with self.subTest(csr=n):
                spiffe_id = sid(f"csr-{n}")
                self.refuse_then_redeem(spiffe_id, lambda t, c=csr: self.auth.issue(t, c),
                                        status, text)

    def test_csr_extensions_are_not_copied_into_the_svid(self):
        """The authority decides what an SVID says: a CSR asking for a DNS SAN, an IP SAN and
        certificate-signing key usage gets a plain leaf with just the SPIFFE ID."""
        spiffe_id = sid("ext-ignored")
        d = self.work("ext")
        csr, key, _ = make_csr(d, addext=["subjectAltName=DNS:evil.example,IP:10.0.0.1",
                                          "keyUsage=critical,keyCertSign,cRLSign",
                                          "extendedKeyUsage=codeSigning"])
        token = self.auth.token(spiffe_id)
        issued_at = time.time()
        status, body = self.auth.issue(token, csr)
        if status != 200:
            # Refusing such a CSR outright is also acceptable; it must then issue nothing.
            self.assertEqual(status, 400, body)
            self.assertEqual(self.auth.workload_svids(spiffe_id), [])
            return
        svid = harness.write(os.path.join(d, "svid.pem"), body["svid_pem"])
        self.assert_valid_svid(svid, spiffe_id, issued_at, key)
        san = harness.x509(svid, "-ext", "subjectAltName")
        self.assertNotIn("evil.example", san)
        self.assertNotIn("10.0.0.1", san)
        usage = harness.x509(svid, "-ext", "keyUsage,extendedKeyUsage")
        self.assertNotIn("Certificate Sign", usage)
        self.assertNotIn("Code Signing", usage)

    def test_csr_with_uri_san_for_another_id_is_refused(self):
        spiffe_id = sid("san-victim")
        evil = sid("payments")
        csr, _, _ = make_csr(self.work("san"), addext=[f"subjectAltName=URI:{evil}"])
        self.refuse_then_redeem(spiffe_id, lambda t: self.auth.issue(t, csr), 400, evil)
        self.assertEqual(self.auth.workload_svids(evil), [])

    def test_csr_with_a_second_uri_san_is_refused(self):
        spiffe_id = sid("san-two")
        evil = sid("admin-ish")
        csr, _, _ = make_csr(self.work("san2"),
                             addext=[f"subjectAltName=URI:{spiffe_id},URI:{evil}"])
        self.refuse_then_redeem(spiffe_id, lambda t: self.auth.issue(t, csr), 400, evil)

    def test_concurrent_redemptions_of_one_token(self):
        spiffe_id = sid("race")
        token = self.auth.token(spiffe_id)
        d = self.work("race")
        csrs = [make_csr(d, name=f"r{i}")[0] for i in range(50)]
        before = self.workload_count()
        barrier = threading.Barrier(50, timeout=20)

        def attempt(csr):
            barrier.wait()
            return self.auth.issue(token, csr, timeout=30)

        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(attempt, csrs, timeout=60))
        statuses = [s for s, _ in results]
        self.assertEqual(statuses.count(200), 1, statuses)
        self.assertEqual(statuses.count(401), 49, statuses)
        for status, body in results:
            if status == 401:
                self.assertIn("already been used", body["error_description"])
        winner = next(b for s, b in results if s == 200)
        listed = self.auth.workload_svids(spiffe_id)
        self.assertEqual([s["serial"] for s in listed], [winner["serial"]])
        self.assertEqual(self.workload_count(), before + 1)


class RenewalAndRevocationTest(AuthorityTestCase):
    def curl_renew(self, svid, key, csr):
        d = self.work("curl")
        body_path = harness.write(os.path.join(d, "body.json"), json.dumps({"csr": csr}))
        out_path = os.path.join(d, "out.json")
        rc, code, err = harness.run([
            "curl", "-sS", "--max-time", "15", "--cacert", self.auth.bundle, "--cert", svid,
            "--key", key, "-H", "Content-Type: application/json", "--data-binary",
            "@" + body_path, "-o", out_path, "-w", "%{http_code}",
            self.auth.url + "/v1/svids/renew"])
        self.assertEqual(rc, 0, err)
        with open(out_path) as f:
            return int(code), json.load(f)

    def test_renew_with_curl(self):
        spiffe_id = sid("curl-renew")
        old = self.fetch_http(spiffe_id)
        d = self.work("curl-new")
        csr, new_key, _ = make_csr(d)
        issued_at = time.time()
        status, body = self.curl_renew(old["svid"], old["key"], csr)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["spiffe_id"], spiffe_id)
        self.assertNotEqual(body["serial"], old["serial"])
        new_svid = harness.write(os.path.join(d, "svid.pem"), body["svid_pem"])
        self.assert_valid_svid(new_svid, spiffe_id, issued_at, new_key)
        self.assertNotEqual(harness.public_key_pem(new_svid), harness.public_key_pem(old["svid"]))
        listed = {s["serial"]: s["kind"] for s in self.auth.workload_svids(spiffe_id)}
        self.assertEqual(listed, {old["serial"]: "join", body["serial"]: "renew"})

    def test_renew_reusing_the_current_key_is_refused(self):
        old = self.fetch_http(sid("same-key"))
        rc, csr, err = harness.run(["openssl", "req", "-new", "-key", old["key"], "-subj", "/CN=x"])
        self.assertEqual(rc, 0, err)
        status, body = self.auth.post("/v1/svids/renew", {"csr": csr}, cert=old["svid"],
                                      key=old["key"])
        self.assertEqual(status, 400, body)
        self.assertIn("new key", body["error_description"])

    def test_renew_without_client_certificate_is_refused(self):
        csr, _, _ = make_csr(self.work("nocert"))
        before = len(self.auth.workload_svids())
        status, body = self.auth.post("/v1/svids/renew", {"csr": csr})
        self.assertEqual(status, 401, body)
        self.assertIn("client certificate", body["error_description"])
        self.assertEqual(len(self.auth.workload_svids()), before)

    def test_certificates_from_a_foreign_ca_are_refused(self):
        """A self-made CA issues certificates with our SPIFFE ID and with an admin ID; neither
        renewal nor the admin API may accept them (sent alone or with the forged CA)."""
        d = self.work("foreign")
        spiffe_id = sid("foreign-victim")
        ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
        rc, _, err = harness.run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", ca_key, "-out", ca_crt, "-subj", "/CN=bulwark root CA " + TD,
            "-days", "1", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", f"subjectAltName=URI:spiffe://{TD}"])
        self.assertEqual(rc, 0, err)

        def forge(name, uri):
            _, key, csr_path = make_csr(d, name=name)
            ext = harness.write(os.path.join(d, name + ".cnf"), f"subjectAltName=URI:{uri}\n")
            leaf = os.path.join(d, name + ".pem")
            rc, _, err = harness.run(["openssl", "x509", "-req", "-in", csr_path, "-CA", ca_crt,
                                      "-CAkey", ca_key, "-CAcreateserial", "-days", "1",
                                      "-extfile", ext, "-out", leaf])
            self.assertEqual(rc, 0, err)
            chain = harness.write(os.path.join(d, name + "-chain.pem"),
                                  harness.read(leaf) + harness.read(ca_crt))
            return (leaf, key), (chain, key)

        csr, _, _ = make_csr(d, name="new")
        def not_admin():
            return [s for s in self.auth.svids() if s["kind"] != "admin"]

        before = not_admin()
        attempts = [("POST", "/v1/svids/renew", {"csr": csr}, c)
                    for c in forge("workload", spiffe_id)]
        attempts += [("GET", "/v1/admin/svids", None, c)
                     for c in forge("admin", f"spiffe://{TD}/admin/root")]
        attempts += [("POST", "/v1/admin/join-tokens", {"spiffe_id": spiffe_id}, c)
                     for c in forge("admin2", f"spiffe://{TD}/admin/root")]
        for method, path, body, (cert, key) in attempts:
            with self.subTest(path=path, cert=os.path.basename(cert)):
                try:
                    status, answer = harness.https_request(method, self.auth.url + path, body,
                                                           cafile=self.auth.bundle, cert=cert,
                                                           key=key)
                except (ssl.SSLError, ConnectionError) as e:
                    status, answer = None, repr(e)  # refused in the handshake: fine
                self.assertNotEqual(status, 200, answer)
                if status is not None:
                    self.assertIn(status, (401, 403), answer)
        self.assertEqual(self.auth.workload_svids(spiffe_id), [])
        self.assertEqual(not_admin(), before)

    def test_revoked_serial_cannot_renew(self):
        spiffe_id = sid("revoke-serial")
        victim = self.fetch_http(spiffe_id)
        bystander = self.fetch_http(spiffe_id)
        answer = self.auth.revoke(serial=victim["serial"])
        self.assertEqual([r["serial"] for r in answer["revoked"]], [victim["serial"]])
        self.assertGreaterEqual(answer["version"], 1)
        csr, _, _ = make_csr(self.work("rv"))
        status, body = self.auth.post("/v1/svids/renew", {"csr": csr}, cert=victim["svid"],
                                      key=victim["key"])
        self.assertEqual(status, 401, body)
        self.assertIn("revoked", body["error_description"])
        # Only the revoked serial is affected.
        status, body = self.auth.post("/v1/svids/renew", {"csr": csr}, cert=bystander["svid"],
                                      key=bystander["key"])
        self.assertEqual(status, 200, body)
        revoked = {s["serial"]: s["revoked"] for s in self.auth.workload_svids(spiffe_id)}
        self.assertTrue(revoked[victim["serial"]])
        self.assertFalse(revoked[bystander["serial"]])

    def test_revoke_accepts_the_serial_as_openssl_prints_it(self):
        """An operator reads the serial off the certificate with `openssl x509 -serial`
        (upper case, possibly with a leading zero); revoking with it must work."""
        victim = self.fetch_http(sid("revoke-openssl-serial"))
        printed = harness.x509(victim["svid"], "-serial").strip().split("=", 1)[1]
        self.assertEqual(int(printed, 16), int(victim["serial"], 16))
        rc, out, err = self.auth.admin("revoke", "--serial", printed)
        self.assertEqual(rc, 0, f"revoke --serial {printed} failed: {out}{err}")
        self.assertEqual([r["serial"] for r in json.loads(out)["revoked"]], [victim["serial"]])
        csr, _, _ = make_csr(self.work("ros"))
        status, body = self.auth.post("/v1/svids/renew", {"csr": csr}, cert=victim["svid"],
                                      key=victim["key"])
        self.assertEqual(status, 401, body)

    def test_revoke_by_spiffe_id_revokes_all_of_them(self):
        spiffe_id = sid("revoke-all")
        a = self.fetch_http(spiffe_id)
        b = self.fetch_http(spiffe_id)
        other = self.fetch_http(sid("revoke-all-other"))
        answer = self.auth.revoke(spiffe_id=spiffe_id)
        self.assertEqual(sorted(r["serial"] for r in answer["revoked"]),
                         sorted([a["serial"], b["serial"]]))
        for r in answer["revoked"]:
            self.assertEqual(r["spiffe_id"], spiffe_id)
        csr, _, _ = make_csr(self.work("ra"))
        for svid in (a, b):
            status, body = self.auth.post("/v1/svids/renew", {"csr": csr}, cert=svid["svid"],
                                          key=svid["key"])
            self.assertEqual(status, 401, body)
            self.assertIn("revoked", body["error_description"])
        self.assertTrue(all(s["revoked"] for s in self.auth.workload_svids(spiffe_id)))
        status, body = self.auth.post("/v1/svids/renew", {"csr": csr}, cert=other["svid"],
                                      key=other["key"])
        self.assertEqual(status, 200, body)

    def test_long_poll_returns_within_a_second_of_a_revocation(self):
        watcher = self.fetch_http(sid("watcher"))
        victim = self.fetch_http(sid("long-poll-victim"))
        status, body = self.auth.get("/v1/revocations?since=0", cert=watcher["svid"],
                                     key=watcher["key"])
        self.assertEqual(status, 200, body)
        version = body["version"]

        def poll():
            result = self.auth.get(f"/v1/revocations?since={version}&wait=20s",
                                   cert=watcher["svid"], key=watcher["key"], timeout=30)
            return time.monotonic(), result

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(poll)
            time.sleep(1.0)  # let the poll reach the server and start waiting
            self.assertFalse(future.done(), "the long-poll returned before any revocation")
            revoke_started = time.monotonic()
            answer = self.auth.revoke(serial=victim["serial"])
            revoke_done = time.monotonic()
            answered_at, (status, body) = future.result(timeout=25)
        self.assertEqual(status, 200, body)
        self.assertGreaterEqual(answered_at, revoke_started)
        self.assertLess(answered_at - revoke_done, 1.0,
                        f"long-poll answered {answered_at - revoke_done:.2f}s after the revoke")
        self.assertIn(victim["serial"], [r["serial"] for r in body["revocations"]])
        self.assertGreater(body["version"], version)
        self.assertEqual(body["version"], answer["version"])

    def test_revocation_feed_needs_a_valid_client_certificate(self):
        status, body = self.auth.get("/v1/revocations?since=0")
        self.assertEqual(status, 401, body)
        revoked = self.fetch_http(sid("feed-revoked"))
        self.auth.revoke(serial=revoked["serial"])
        status, body = self.auth.get("/v1/revocations?since=0", cert=revoked["svid"],
                                     key=revoked["key"])
        self.assertEqual(status, 401, body)


class ExpiredSvidTest(AuthorityTestCase):
    serve_args = ("--svid-ttl", "2s")

    def test_expired_svid_cannot_renew_or_read_revocations(self):
        spiffe_id = sid("short-lived")
        old = self.fetch_http(spiffe_id)
        self.assertLessEqual(harness.not_after(old["svid"]) - time.time(), 3)
        csr, _, _ = make_csr(self.work("late"))
        time.sleep(3)
        for method, path, body in (("POST", "/v1/svids/renew", {"csr": csr}),
                                   ("GET", "/v1/revocations?since=0", None)):
            with self.subTest(path=path):
                try:
                    status, answer = harness.https_request(
                        method, self.auth.url + path, body, cafile=self.auth.bundle,
                        cert=old["svid"], key=old["key"])
                except (ssl.SSLError, ConnectionError) as e:
                    status, answer = None, repr(e)  # refused in the handshake: fine
                self.assertNotEqual(status, 200, answer)
                if status is not None:
                    self.assertEqual(status, 401, answer)
        self.assertEqual([s["serial"] for s in self.auth.workload_svids(spiffe_id)],
                         [old["serial"]])


class ApiHardeningTest(AuthorityTestCase):
    ADMIN_CALLS = [
        ("POST", "/v1/admin/join-tokens", {"spiffe_id": sid("minted-by-workload")}),
        ("POST", "/v1/admin/revocations", {"spiffe_id": sid("admin-victim")}),
        ("GET", "/v1/admin/svids", None),
        ("GET", "/v1/admin/audit", None),
        ("POST", "/v1/admin/ca/rotate", {}),
    ]

    def test_admin_endpoints_refuse_workloads_and_anonymous_callers(self):
        workload = self.fetch_http(sid("not-an-admin"))
        victim = self.fetch_http(sid("admin-victim"))
        last_id = max(e["id"] for e in self.auth.audit())
        for method, path, body in self.ADMIN_CALLS:
            with self.subTest(path=path, who="workload"):
                status, answer = harness.https_request(
                    method, self.auth.url + path, body, cafile=self.auth.bundle,
                    cert=workload["svid"], key=workload["key"])
                self.assertEqual(status, 403, answer)
                self.assertNotIn("join_token", answer)
            with self.subTest(path=path, who="anonymous"):
                status, answer = harness.https_request(method, self.auth.url + path, body,
                                                       cafile=self.auth.bundle)
                self.assertEqual(status, 401, answer)
        # Nothing happened: the victim is not revoked, no token was minted, no rotation.
        listed = self.auth.workload_svids(sid("admin-victim"))
        self.assertEqual([(s["serial"], s["revoked"]) for s in listed],
                         [(victim["serial"], False)])
        new = [e["action"] for e in self.auth.audit() if e["id"] > last_id]
        self.assertNotIn("token.create", new)
        self.assertNotIn("svid.revoke", new)
        self.assertFalse([a for a in new if a.startswith("ca.")], new)

    def test_json_body_problems_are_named(self):
        spiffe_id = sid("json")
        token = self.auth.token(spiffe_id)
        csr, _, _ = make_csr(self.work("json"))
        good = {"join_token": token, "csr": csr}
        cases = {
            "unknown-field": (json.dumps({**good, "ttl": "1y"}), "unknown field 'ttl'"),
            "duplicate-key": ('{"join_token": %s, "csr": %s, "join_token": %s}'
                              % (json.dumps(token), json.dumps(csr), json.dumps("x")),
                              "join_token"),
            "not-json": ("join_token=" + token, "not valid JSON"),
            "array": (json.dumps([good]), "JSON object"),
            "non-string": (json.dumps({**good, "spiffe_id": 7}), "spiffe_id"),
            "missing-csr": (json.dumps({"join_token": token}), "csr"),
        }
        for name, (raw, text) in cases.items():
            with self.subTest(body=name):
                status, body = self.auth.post("/v1/svids", raw)
                self.assertEqual(status, 400, body)
                self.assertIsInstance(body, dict)
                self.assertIn(text, body["error_description"])
        self.assertEqual(self.auth.workload_svids(spiffe_id), [])
        # None of these consumed the token.
        status, body = self.auth.issue(token, csr)
        self.assertEqual(status, 200, body)

    def test_init_refuses_to_overwrite_an_existing_data_dir(self):
        files = ("kek.key", "authority.db", "bundle.pem")

        def digests():
            return {f: hashlib.sha256(harness.read(os.path.join(self.auth.data_dir, f), "rb"))
                    .hexdigest() for f in files}

        before = digests()
        for td in (TD, "other.example"):
            with self.subTest(trust_domain=td):
                rc, out, err = harness.cli("authority", "init", "--data-dir", self.auth.data_dir,
                                           "--trust-domain", td)
                self.assertNotEqual(rc, 0, out)
                self.assertIn("refusing to overwrite", out + err)
        self.assertEqual(digests(), before)
        # A non-empty directory that is not an authority is refused too.
        d = self.work("nonempty")
        harness.write(os.path.join(d, "precious.txt"), "keep me")
        rc, out, err = harness.cli("authority", "init", "--data-dir", d, "--trust-domain", TD)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("not an empty directory", out + err)
        self.assertEqual(sorted(os.listdir(d)), ["precious.txt"])

    def test_serve_refuses_a_group_or_world_readable_kek(self):
        other = Authority(self.addCleanup).init()
        os.chmod(other.kek, 0o644)
        rc, out, err = harness.cli("authority", "serve", "--data-dir", other.data_dir,
                                   "--listen", "127.0.0.1:0", timeout=15)
        self.assertNotEqual(rc, 0, out + err)
        self.assertIn("chmod", out + err)
        self.assertFalse(os.path.exists(other.endpoint_file), "serve got as far as listening")


class CaRotationTest(AuthorityTestCase):
    def signing_ca_serial(self, svid):
        d = self.work("chain")
        leaf, signing = harness.chain_files(d, harness.read(svid))
        return harness.serial_int(signing)

    def test_forced_rotation_keeps_old_svids_valid(self):
        with open(self.auth.bundle) as f:
            bundle_before = f.read()
        old = self.fetch_http(sid("before-rotation"))
        old_ca = self.signing_ca_serial(old["svid"])
        rc, out, err = self.auth.admin("ca", "rotate")
        self.assertEqual(rc, 0, out + err)
        answer = json.loads(out)
        self.assertTrue(answer["rotated"])
        self.assertNotEqual(int(answer["active_serial"], 16), old_ca)

        issued_at = time.time()
        new = self.fetch_http(sid("after-rotation"))
        new_ca = self.signing_ca_serial(new["svid"])
        self.assertNotEqual(new_ca, old_ca, "new SVIDs still chain through the old signing CA")
        self.assertEqual(new_ca, int(answer["active_serial"], 16))
        with open(self.auth.bundle) as f:
            self.assertEqual(f.read(), bundle_before, "the trust bundle changed on rotation")
        status, served_bundle = self.auth.get("/v1/bundle")
        self.assertEqual((status, served_bundle), (200, bundle_before))
        for got, spiffe_id in ((old, sid("before-rotation")), (new, sid("after-rotation"))):
            rc, out_v, err_v = harness.openssl_verify(self.auth.bundle, got["svid"])
            self.assertEqual(rc, 0, f"{spiffe_id}: {out_v}{err_v}")
        self.assert_valid_svid(new["svid"], sid("after-rotation"), issued_at, new["key"])
        # The old SVID still authenticates: it can renew, and the renewal uses the new CA.
        csr, _, _ = make_csr(self.work("renew-after-rotation"))
        status, body = self.auth.post("/v1/svids/renew", {"csr": csr}, cert=old["svid"],
                                      key=old["key"])
        self.assertEqual(status, 200, body)
        renewed = harness.write(os.path.join(self.work("renewed"), "svid.pem"), body["svid_pem"])
        self.assertEqual(self.signing_ca_serial(renewed), new_ca)


if __name__ == "__main__":
    unittest.main()
