"""An echoing frontend (scenario 5 of test_scenarios.py): GET / answers with the request headers
it received, so the test sees what the gateway and the sidecar let through."""

import example_path  # noqa: F401  (examples/dvd-rental on sys.path)
import dvdlib  # noqa: E402


def echo(req):
    return 200, {"headers": [[name, value] for name, value in req.headers.items()]}


if __name__ == "__main__":
    dvdlib.serve("evil-frontend", [("GET", r"/", echo)], 9000)
