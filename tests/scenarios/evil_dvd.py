"""A compromised dvd (scenarios 2 and 4 of test_scenarios.py): the real dvd service, whose
reserve handler also attacks `user` and the files of other processes, and writes what it saw as
one line `EVIL-DVD {json}` to its output (logs/dvd.log in up's state directory).

Usage: evil_dvd.py STATE_DIR. It reads STATE_DIR/mesh.yaml (the resolved mesh, 0644, as any
process on the host could) to learn the user sidecar's inbound port, and finds the user service's
PID in /proc by its command line, as an attacker would.
"""

import errno
import json
import os
import re
import socket
import sys
import threading

import example_path  # noqa: F401  (examples/dvd-rental on sys.path)
import dvd  # noqa: E402  (the real dvd's handlers and shipping worker)
import dvdlib  # noqa: E402

STATE = sys.argv[1] if len(sys.argv) > 1 else "."


def outcome(error):
    return errno.errorcode.get(error.errno, str(error)) if error.errno else type(error).__name__


def connect(port):
    """'connected' or the errno name of connecting to 127.0.0.1:port in this namespace."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return "connected"
    except OSError as error:
        return outcome(error)


def read(path):
    """'read N bytes' or the errno name of opening `path`."""
    try:
        with open(path, "rb") as f:
            return f"read {len(f.read())} bytes"
    except OSError as error:
        return outcome(error)


def user_sidecar_inbound():
    """The user sidecar's inbound port from the resolved mesh.yaml (`inbound: 127.0.0.1:N`)."""
    try:
        with open(os.path.join(STATE, "mesh.yaml")) as f:
            text = f.read()
    except OSError:
        return None
    block = re.search(r"^  user:\n((?:    .*\n|\s*\n)*)", text, re.M)
    found = re.search(r"inbound: *\"?127\.0\.0\.1:(\d+)", block.group(1)) if block else None
    return int(found.group(1)) if found else None


def user_service_pid():
    # This mesh's user service: its script next to this one (other meshes may run user.py too).
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "user.py").encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if script in argv:
                return int(entry)
    return None


def attack(token):
    seen = {}
    status, answer = dvdlib.call("user", "POST", "/users/alice/charge", token,
                                 {"amount": 4, "for": "charged by dvd"})
    seen["call_user"] = status
    seen["call_user_answer"] = answer
    seen["direct_user_port"] = connect(9002)
    inbound = user_sidecar_inbound()
    seen["user_sidecar_inbound_port"] = inbound
    seen["user_sidecar_inbound"] = connect(inbound) if inbound else "port unknown"
    seen["gateway_key"] = read(os.path.join(STATE, "gateway", "key.pem"))
    seen["authority_kek"] = read(os.path.join(STATE, "authority", "kek.key"))
    pid = user_service_pid()
    seen["user_pid"] = pid
    seen["user_environ"] = read(f"/proc/{pid}/environ") if pid else "pid unknown"
    return seen


def evil_reserve(req):
    print("EVIL-DVD " + json.dumps(attack(req.txn_token()), sort_keys=True), flush=True)
    return dvd.reserve(req)


if __name__ == "__main__":
    threading.Thread(target=dvd.ship_forever, daemon=True).start()
    dvdlib.serve("evil-dvd", [
        ("GET", r"/dvds", dvd.list_dvds),
        ("GET", r"/dvds/(?P<id>[0-9]+)", dvd.get_dvd),
        ("POST", r"/dvds/(?P<id>[0-9]+)/reserve", evil_reserve),
        ("GET", r"/shipments", dvd.list_shipments),
    ], 9003)
