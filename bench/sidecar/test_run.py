"""Tests of the sidecar benchmark's own logic (bench/sidecar/run.py): reading wrk's output,
the subjectAltName bytes HAProxy matches to check a SPIFFE ID, and a report that shows a failed
variant as failed. The benchmark itself runs by hand (bench/run sidecar), not here.

Python 3 stdlib only; the certificates are made with the openssl CLI."""

import os
import subprocess
import tempfile
import unittest

import run

WRK_OK = """Running 10s test @ http://127.0.0.1:40123/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   415.20us  312.04us  12.31ms   91.27%
    Req/Sec    19.87k     1.52k   23.01k    70.50%
  Latency Distribution
     50%  351.00us
     75%  472.00us
     90%  642.00us
     99%    1.52ms
  395612 requests in 10.00s, 67.15MB read
Requests/sec:  39549.82
Transfer/sec:      6.71MB
"""

WRK_ERRORS = """Running 10s test @ http://127.0.0.1:40123/
  2 threads and 64 connections
  Latency Distribution
     50%   21.35ms
     75%   40.10ms
     90%  100.20ms
     99%    1.20s
  1074 requests in 10.01s, 181.40KB read
  Socket errors: connect 0, read 3, write 0, timeout 12
  Non-2xx or 3xx responses: 7
Requests/sec:    107.29
Transfer/sec:     18.12KB
"""


class ParseWrkTest(unittest.TestCase):
    def test_reads_throughput_percentiles_and_counts(self):
        r = run.parse_wrk(WRK_OK)
        self.assertAlmostEqual(r["rps"], 39549.82)
        self.assertAlmostEqual(r["p50_ms"], 0.351)
        self.assertAlmostEqual(r["p99_ms"], 1.52)
        self.assertEqual(r["requests"], 395612)
        self.assertEqual(r["non_2xx"], 0)
        self.assertEqual(r["socket_errors"], 0)

    def test_counts_errors_and_converts_seconds(self):
        r = run.parse_wrk(WRK_ERRORS)
        self.assertAlmostEqual(r["p50_ms"], 21.35)
        self.assertAlmostEqual(r["p99_ms"], 1200.0)
        self.assertEqual(r["non_2xx"], 7)
        self.assertEqual(r["socket_errors"], 15)

    def test_output_without_results_is_an_error_not_zero(self):
        with self.assertRaisesRegex(run.BenchError, "no Requests/sec"):
            run.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")
        truncated = WRK_OK.replace("     99%    1.52ms\n", "")
        with self.assertRaisesRegex(run.BenchError, "no 99% latency"):
            run.parse_wrk(truncated)


def certificate_der(directory, name, sans):
    """A self-signed certificate with the given subjectAltName, as DER bytes."""
    key = os.path.join(directory, name + ".key")
    der = os.path.join(directory, name + ".der")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", "/O=bulwark",
                    "-addext", "subjectAltName=" + sans, "-days", "1", "-outform", "DER",
                    "-out", der], check=True, capture_output=True, timeout=30)
    with open(der, "rb") as f:
        return f.read().hex().upper()


class SanMatchTest(unittest.TestCase):
    """HAProxy checks a peer's SPIFFE ID by finding san_hex(service) in the certificate's DER
    (ssl_c_der,hex / ssl_s_der,hex -m sub): it must match exactly one URI SAN of that ID."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.tmp.cleanup)

    def der(self, name, sans):
        return certificate_der(self.tmp.name, name, sans)

    def test_matches_the_certificate_of_that_service(self):
        self.assertIn(run.san_hex("a"), self.der("a", "URI:spiffe://bench.test/svc/a"))

    def test_refuses_another_service_a_longer_id_or_a_second_san(self):
        self.assertNotIn(run.san_hex("a"), self.der("b", "URI:spiffe://bench.test/svc/b"))
        self.assertNotIn(run.san_hex("a"), self.der("ab", "URI:spiffe://bench.test/svc/ab"))
        two = self.der("two", "URI:spiffe://bench.test/svc/a,URI:spiffe://bench.test/svc/c")
        self.assertNotIn(run.san_hex("a"), two)
        other_td = self.der("td", "URI:spiffe://other.test/svc/a")
        self.assertNotIn(run.san_hex("a"), other_td)


class ReportTest(unittest.TestCase):
    def test_failed_variant_is_reported_as_failed_and_left_out_of_ratios(self):
        args = run.parse_args(["--workers", "1", "--connections", "16"])
        ok = {"rps": 1000.0, "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0,
              "rss_kib": {"outbound": 8192, "inbound": 9216},
              "cpu_us_per_request": {"outbound": 40.0, "inbound": 60.0}}
        results = {(1, 16): {"direct": dict(ok, rss_kib={}, cpu_us_per_request={}),
                             "bulwark": {"failed": "start: boom"},
                             "nginx": ok, "haproxy": dict(ok, errors=3)}}
        text = run.report(results, args, {"date": "d", "system": "s", "versions": "v", "cpus": 2,
                                          "load_before": "0", "load_after": "0", "tls": {}})
        self.assertIn("| 16 | 1 | bulwark | FAILED: start: boom |", text)
        self.assertNotIn("| bulwark | 0 ", text)
        self.assertIn("| 16 | – | direct | 1000 | 1.00 | 2.00 | – | – | 0 | 1.00 |", text)
        self.assertIn("| 16 | 1 | nginx | 1000 | 1.00 | 2.00 | 8.0 / 9.0 | 40 / 60 | 0 | 1.00 |",
                      text)
        self.assertIn("| **3** |", text)
        ratios = text.split("bulwark / peer")[1]
        self.assertNotIn("| 16 | 1 | nginx |", ratios)

    def test_token_filter_cost_is_the_difference_to_plain_bulwark(self):
        args = run.parse_args(["--workers", "1", "--connections", "16,64"])
        plain = {"rps": 2000.0, "p50_ms": 1.0, "p99_ms": 3.0, "errors": 0,
                 "rss_kib": {"outbound": 8192, "inbound": 8192},
                 "cpu_us_per_request": {"outbound": 40.0, "inbound": 60.0}}
        txn = dict(plain, rps=1900.0, p50_ms=1.05, p99_ms=3.5,
                   cpu_us_per_request={"outbound": 41.0, "inbound": 62.5})
        results = {(1, 16): {"bulwark": plain, "bulwark-txn": txn},
                   (1, 64): {"bulwark": plain, "bulwark-txn": {"failed": "start: boom"}}}
        text = run.report(results, args, {"date": "d", "system": "s", "versions": "v", "cpus": 2,
                                          "load_before": "0", "load_after": "0", "tls": {}})
        self.assertIn("| 16 | 1 | +0.050 | +0.500 | 0.95 | +2.5 |", text)
        self.assertNotIn("| 64 | 1 | +", text, "a failed run has no difference")
        self.assertIn("| 64 | 1 | bulwark-txn | FAILED: start: boom |", text)

    def test_runs_longer_than_a_transaction_token_are_refused(self):
        with self.assertRaises(SystemExit):
            run.parse_args(["--duration", "60"])
        self.assertEqual(run.parse_args(["--duration", "60", "--topologies", "bulwark"]).duration,
                         60)

    def test_ratios_keep_two_significant_digits_when_small(self):
        self.assertEqual(run.ratio(337, 73271), "0.0046")
        self.assertEqual(run.ratio(33308, 73271), "0.45")
        self.assertEqual(run.ratio(1, 0), "–")


if __name__ == "__main__":
    unittest.main()
