"""``modelops store copy SRC DST``: copy one store into another (see ``modelops.copy``)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("store", help="move data between stores")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    copy = commands.add_parser(
        "copy", help="copy experiments, runs, models, drift and predictions; idempotent",
        description="Copy everything from the store SRC into the store DST (any two "
                    "backends: paths, file://, memory://, s3://, mlflow+…). What DST already "
                    "holds is skipped, so a second copy adds nothing.")
    copy.add_argument("src", help="the store to copy from (only read)")
    copy.add_argument("dst", help="the store to copy into")
    copy.add_argument("--only", default=None, metavar="KINDS",
                      help="comma-separated kinds to copy: tracking, registry, drift, "
                           "predictions (default: all)")
    copy.add_argument("--quiet", action="store_true", help="no progress line, no summary")
    copy.set_defaults(handler=_copy)


def _copy(args: argparse.Namespace) -> None:
    from modelops.copy import KINDS, copy_store

    kinds = KINDS if args.only is None else tuple(k.strip() for k in args.only.split(",")
                                                  if k.strip())
    result = copy_store(args.src, args.dst, kinds=kinds,
                        progress=False if args.quiet else None)
    if not args.quiet:
        print(result.summary())
