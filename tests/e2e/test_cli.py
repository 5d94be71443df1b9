"""The command line: every subcommand answers --help with its usage, and wrong usage fails
with a nonzero exit and a message, before anything runs."""

import os
import shutil
import tempfile
import unittest

import harness

COMMANDS = [
    [],
    ["version"],
    ["authority"],
    ["authority", "init"],
    ["authority", "serve"],
    ["authority", "token"],
    ["authority", "token", "create"],
    ["authority", "revoke"],
    ["authority", "list"],
    ["authority", "ca"],
    ["authority", "ca", "rotate"],
    ["authority", "keys"],
    ["authority", "keys", "rotate"],
    ["identity"],
    ["identity", "fetch"],
    ["identity", "renew"],
    ["sidecar"],
]


class CliTest(unittest.TestCase):
    def test_every_command_has_help(self):
        for command in COMMANDS:
            with self.subTest(command=" ".join(command) or "(none)"):
                rc, out, err = harness.cli(*command, "--help")
                self.assertEqual(rc, 0, err)
                self.assertIn("Usage:", out)
                self.assertIn("--help", out)

    def test_version(self):
        rc, out, _ = harness.cli("version")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^bulwark \d+\.\d+\.\d+\n$")

    def test_wrong_usage_fails_with_a_message_and_does_nothing(self):
        workdir = tempfile.mkdtemp(prefix="bulwark-cli-")
        self.addCleanup(shutil.rmtree, workdir, ignore_errors=True)
        data = os.path.join(workdir, "data")
        cases = [
            (["authority", "init", "--data-dir", data], "--trust-domain is required"),
            (["authority", "init", "--data-dir", data, "--trust-domain", "Bad Domain"],
             "trust domain"),
            (["authority", "init", "--data-dir", data, "--trust-domain", "td", "--ca-ttl", "7"],
             "needs a unit"),
            (["authority", "serve", "--data-dir", data], "kek.key is missing"),
            (["authority", "token", "create"], "--spiffe-id is required"),
            (["authority", "revoke", "--data-dir", data], "give one of --serial or --spiffe-id"),
            (["identity", "fetch", "--authority", "https://127.0.0.1:1", "--bundle",
              os.path.join(workdir, "none.pem"), "--token-file", "t", "--out", "o"],
             "none.pem"),
            (["authority", "init", "--no-such-flag"], "not expected: --no-such-flag"),
            (["authority", "no-such-command"], "A subcommand is required"),
            ([], "A subcommand is required"),
        ]
        for args, message in cases:
            with self.subTest(args=" ".join(args)):
                rc, out, err = harness.cli(*args)
                self.assertNotEqual(rc, 0, out)
                self.assertIn(message, out + err)
        self.assertFalse(os.path.exists(os.path.join(data, "authority.db")))


if __name__ == "__main__":
    unittest.main()
