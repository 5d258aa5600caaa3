"""``modelops`` command line: ``modelops [--uri URI] GROUP COMMAND ...``."""

from __future__ import annotations

import argparse
import sys

from modelops.cli import drift, experiments, lifecycle, models, monitor, plugins, runs, store
from modelops.errors import ModelOpsError

GROUPS = (experiments, runs, models, drift, monitor, lifecycle, store, plugins)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelops", description="modelops from the shell.")
    parser.add_argument("--uri", help="store URI or path (default: $MODELOPS_URI or ./.modelops)")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    for group in GROUPS:
        group.add_parser(groups)
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except ModelOpsError as exc:
        print(f"modelops: {exc}", file=sys.stderr)
        return 1
    return 0
