"""moto's server, serving one request at a time, for the globus-tokens-dynamodb tests.

`moto_server` runs werkzeug with threaded=True, and moto's DynamoDB backend is not thread-safe
(concurrent TransactWriteItems fail with "dictionary changed size during iteration"). A real
DynamoDB applies each request atomically; serving requests one at a time gives the same.

Usage: python dynamodb_server.py HOST PORT   (HOST must be a loopback address)
"""

import ipaddress
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit(f"refusing to bind non-loopback address {host}")
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
