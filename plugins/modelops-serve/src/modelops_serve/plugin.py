"""The ``modelops`` entry point: the ``modelops serve`` command.

``modelops serve URI`` runs the app with uvicorn. Its options travel to the workers in one
environment variable, so ``--workers N`` (uvicorn's worker processes, each importing the
app factory) serves the same configuration everywhere.
"""

from __future__ import annotations

import json
import os
from typing import Any

from modelops.hookspecs import hookimpl

#: The environment variable that carries the options to ``factory.create``.
OPTIONS_VARIABLE = "MODELOPS_SERVE_OPTIONS"


@hookimpl
def modelops_cli_commands(groups: Any) -> None:
    parser = groups.add_parser(
        "serve", help="serve a registered model over HTTP (every prediction logged)",
        description="Serve a model over HTTP: POST /predict, /feedback; GET /health, "
                    "/ready, /live, /metrics, /version, /openapi.json. The server follows "
                    "the stage or alias of the URI: when the registry moves it, the next "
                    "requests are served by the new version.")
    parser.add_argument("model", help="models:/name@stage, models:/name@alias or "
                                      "models:/name/version")
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--challenger", help="a stage, @alias or version routed --share of "
                                             "request keys")
    parser.add_argument("--share", type=float, default=0.1,
                        help="share of keys for the challenger (default 0.1)")
    parser.add_argument("--poll-interval", type=float, default=5.0,
                        help="seconds between registry polls (default 5)")
    parser.add_argument("--max-body-bytes", type=int, default=1 << 20,
                        help="largest request body (default 1 MiB)")
    parser.add_argument("--unknown", choices=("reject", "ignore"), default="reject",
                        help="columns the signature does not know (default reject)")
    parser.add_argument("--durable", action="store_true",
                        help="store each request's predictions before answering")
    parser.add_argument("--no-log", dest="log_predictions", action="store_false",
                        help="log no predictions (to measure what logging costs)")
    parser.add_argument("--log-level", default="info", help="uvicorn's log level")
    parser.set_defaults(handler=_serve, reads=True)


def _serve(args: Any) -> int:
    import uvicorn

    from modelops.errors import InvalidInput

    if args.workers < 1:
        raise InvalidInput(f"expected at least 1, got {args.workers}", field="--workers")
    if not 0 <= args.port <= 65535:   # else uvicorn listens on the port modulo 65536
        raise InvalidInput(f"expected a port from 0 to 65535, got {args.port}", field="--port")
    options = {"uri": args.uri, "model": args.model, "challenger": args.challenger,
               "share": args.share, "poll_interval": args.poll_interval,
               "max_body_bytes": args.max_body_bytes, "unknown": args.unknown,
               "durable": args.durable, "log_predictions": args.log_predictions}
    os.environ[OPTIONS_VARIABLE] = json.dumps(options)
    # Checked here, in the parent, so a bad URI is one line of error rather than a worker
    # crash loop; the workers then build their own.
    from modelops_serve.factory import create

    create().state.server.close()
    uvicorn.run("modelops_serve.factory:create", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=False)
    return 0
