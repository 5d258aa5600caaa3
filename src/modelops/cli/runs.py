"""``modelops runs``: search, show, compare, clean up."""

from __future__ import annotations

import argparse
import json
from typing import Any

import modelops
from modelops.cli._output import print_table


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("runs", help="search, show, compare and clean up runs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    search = commands.add_parser("search", help="search runs with an MLflow-style filter")
    search.add_argument("experiment", nargs="*", help="experiment names (default: all)")
    search.add_argument("--filter", help="e.g. \"metrics.f1 > 0.9 and params.model = 'rf'\"")
    search.add_argument("--order-by", action="append", help="e.g. 'metrics.f1 DESC' (repeatable)")
    search.add_argument("--max-results", type=int, default=100)
    search.set_defaults(handler=_search)

    show = commands.add_parser("show", help="print one run as JSON")
    show.add_argument("run_id")
    show.set_defaults(handler=_show)

    compare = commands.add_parser("compare", help="compare runs side by side")
    compare.add_argument("run_ids", nargs="+")
    compare.set_defaults(handler=_compare)

    cleanup = commands.add_parser("cleanup", help="delete runs that ended long ago")
    cleanup.add_argument("experiment")
    cleanup.add_argument("--older-than", default="30d", help="days or a duration: 12h, 7d, 2w")
    cleanup.add_argument("--permanently", action="store_true", help="remove data for good")
    cleanup.add_argument("--dry-run", action="store_true", help="only print what would go")
    cleanup.set_defaults(handler=_cleanup)


def _search(args: argparse.Namespace) -> None:
    runs = modelops.connect(args.uri).tracking.search_runs(
        args.experiment or None, filter=args.filter, order_by=args.order_by,
        max_results=args.max_results)
    print_table(runs.to_table())


def _show(args: argparse.Namespace) -> None:
    run = modelops.connect(args.uri).tracking.get_run(args.run_id)
    from modelops.tracking.results import run_row

    print(json.dumps(run_row(run), indent=2, default=str))


def _compare(args: argparse.Namespace) -> None:
    print(modelops.connect(args.uri).tracking.compare(args.run_ids))


def _cleanup(args: argparse.Namespace) -> None:
    older_than: Any = float(args.older_than) if args.older_than.replace(".", "", 1).isdigit() \
        else args.older_than
    ids = modelops.connect(args.uri).tracking.cleanup(
        args.experiment, older_than=older_than, permanently=args.permanently,
        dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb} {len(ids)} run(s)")
    for run_id in ids:
        print(f"  {run_id}")
