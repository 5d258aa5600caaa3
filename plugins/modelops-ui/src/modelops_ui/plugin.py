"""The ``modelops ui`` command, contributed through ``modelops_cli_commands``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from modelops.hookspecs import hookimpl

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@hookimpl
def modelops_cli_commands(groups: Any) -> None:
    parser = groups.add_parser(
        "ui", help="browse runs, models, their history, drift and health in a web browser",
        description="Serve the modelops web UI over the store (--uri, else the default store). "
                    "It only reads unless --allow-actions is given.")
    # also after the command (``modelops ui --uri …``), as the issue and docs write it
    parser.add_argument("--uri", default=argparse.SUPPRESS,
                        help="store URI or path (default: $MODELOPS_URI or ./.modelops)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=5050, help="port (default 5050)")
    parser.add_argument("--allow-actions", action="store_true",
                        help="offer promote, rollback, archive and set alias, each confirmed "
                             "and protected against cross-site requests")
    parser.add_argument("--trust-user-header", metavar="HEADER", default=None,
                        help="record actions as the user a trusted proxy names in this "
                             "request header (e.g. X-Forwarded-User); default: the "
                             "operating-system user running the UI")
    parser.set_defaults(handler=serve, reads=True)


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    import modelops
    from modelops.errors import InvalidInput
    from modelops_ui.pages import app

    if not 0 <= args.port <= 65535:   # else uvicorn listens on the port modulo 65536
        raise InvalidInput(f"expected a port from 0 to 65535, got {args.port}", field="--port")
    if args.host not in LOOPBACK:
        print(f"warning: listening on {args.host}, not only this machine: anyone who can "
              f"reach port {args.port} can read this store"
              + (" and act on its models" if args.allow_actions else "")
              + "; put an authenticating proxy in front of it", file=sys.stderr)
    ops = modelops.connect(args.uri)
    application = app(ops, allow_actions=args.allow_actions,
                      trusted_user_header=args.trust_user_header)
    print(f"modelops ui: {ops.uri} on http://{args.host}:{args.port}/"
          + (" (actions allowed)" if args.allow_actions else ""), file=sys.stderr)
    try:
        uvicorn.run(application, host=args.host, port=args.port, log_level="warning")
    finally:
        ops.close()
