"""``modelops runs``: search, show, compare, clean up."""

from __future__ import annotations

import argparse
import json
from typing import Any

import modelops
from modelops.cli._output import print_table, shown_time
from modelops.errors import InvalidInput


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("runs", help="search, show, compare and clean up runs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    search = commands.add_parser("search", help="search runs with an MLflow-style filter")
    search.add_argument("experiment", nargs="*", help="experiment names (default: all)")
    search.add_argument("--filter", help="e.g. \"metrics.f1 > 0.9 and params.model = 'rf'\"")
    search.add_argument("--order-by", action="append", help="e.g. 'metrics.f1 DESC' (repeatable)")
    search.add_argument("--max-results", type=int, default=100,
                        help="at most this many runs (default 100)")
    search.add_argument("--columns", metavar="COLUMNS",
                        help="comma-separated columns to show, shell-style patterns allowed: "
                             "run_name,status,metrics.*,params.C (default: every column)")
    search.set_defaults(handler=_search, reads=True)

    show = commands.add_parser("show", help="print one run as JSON")
    show.add_argument("run_id", help="the run's id")
    show.set_defaults(handler=_show, reads=True)

    compare = commands.add_parser("compare", help="compare runs side by side")
    compare.add_argument("run_ids", nargs="+", help="the runs' ids")
    compare.set_defaults(handler=_compare, reads=True)

    cleanup = commands.add_parser("cleanup", help="delete runs that ended long ago")
    cleanup.add_argument("experiment", help="the experiment to clean up")
    cleanup.add_argument("--older-than", default="30d", help="days or a duration: 12h, 7d, 2w")
    cleanup.add_argument("--permanently", action="store_true", help="remove data for good")
    cleanup.add_argument("--dry-run", action="store_true", help="only print what would go")
    cleanup.set_defaults(handler=_cleanup, reads=True)


def _search(args: argparse.Namespace) -> None:
    runs = modelops.connect(args.uri).tracking.search_runs(
        args.experiment or None, filter=args.filter, order_by=args.order_by,
        max_results=args.max_results)
    rows = runs.to_table()
    print_table(rows, chosen_columns(rows, args.columns))


def chosen_columns(rows: list[dict[str, Any]], spec: str | None) -> list[str] | None:
    """The columns ``--columns`` names (patterns matched in the rows' column order), every
    column of every row when it is not given."""
    import fnmatch

    present = list(dict.fromkeys(k for r in rows for k in r))
    if spec is None:
        return present or None
    wanted = [c.strip() for c in spec.split(",") if c.strip()]
    chosen: list[str] = []
    for pattern in wanted:
        found = [c for c in present if fnmatch.fnmatchcase(c, pattern)]
        if not found and rows:
            raise InvalidInput(f"no column matches {pattern!r} (columns: "
                               f"{', '.join(present)})", field="columns")
        chosen += [c for c in found if c not in chosen]
    return chosen


def _show(args: argparse.Namespace) -> None:
    run = modelops.connect(args.uri).tracking.get_run(args.run_id)
    from modelops.tracking.results import run_row

    row = run_row(run)
    for key in ("start_time", "end_time"):
        row[key] = shown_time(row[key])
    print(json.dumps(row, indent=2, default=str))


def _compare(args: argparse.Namespace) -> None:
    print(modelops.connect(args.uri).tracking.compare(args.run_ids))


def _cleanup(args: argparse.Namespace) -> None:
    older_than: Any = float(args.older_than) if args.older_than.replace(".", "", 1).isdecimal() \
        else args.older_than
    ids = modelops.connect(args.uri).tracking.cleanup(
        args.experiment, older_than=older_than, permanently=args.permanently,
        dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb} {len(ids)} run(s)")
    for run_id in ids:
        print(f"  {run_id}")
