"""Imported first by the attacker variants: puts examples/dvd-rental on sys.path, so that they
run the real services' code (dvdlib, contract, dvd) and change only what the attacker adds. (The
tests copy the services next to the attackers, since a sandboxed service cannot see a checkout
under /tmp; then the script's own folder, first on sys.path, has them.)"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "examples", "dvd-rental"))
