"""``modelops drift``: fit a reference, check data against it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import modelops
from modelops.cli._files import read_table
from modelops.cli._output import print_table

#: Exit status of ``modelops drift check`` when the dataset drifted (errors exit 1).
EXIT_DRIFTED = 3


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("drift", help="data drift against a reference")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = commands.add_parser("fit", help="profile a reference dataset (CSV or Parquet)")
    fit.add_argument("name", help="what is monitored, usually a model name")
    fit.add_argument("path")
    fit.add_argument("--categorical", default="", help="comma-separated categorical columns")
    fit.add_argument("--target")
    fit.add_argument("--prediction")
    fit.set_defaults(handler=_fit)

    check = commands.add_parser(
        "check", help=f"check a dataset; exits {EXIT_DRIFTED} when it drifted")
    check.add_argument("name")
    check.add_argument("path")
    check.add_argument("--method", default="auto")
    check.add_argument("--threshold", type=float)
    check.add_argument("--correction", choices=["bonferroni", "bh"])
    check.add_argument("--drift-share", type=float, default=0.5)
    check.add_argument("--html", help="also write the report as a standalone HTML page")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--fail-on", choices=["dataset", "column"], default="dataset",
                       help="exit non-zero when the dataset drifted (default), or when any "
                            "column did")
    check.set_defaults(handler=_check)


def _fit(args: argparse.Namespace) -> None:
    categorical = [c for c in args.categorical.split(",") if c]
    profile = modelops.connect(args.uri).drift.fit_reference(
        args.name, read_table(args.path), categorical=categorical or None, target=args.target,
        prediction=args.prediction)
    print(f"reference {profile.profile_id} for {args.name}: {profile.rows:,} rows, "
          f"{len(profile.columns)} columns")


def _check(args: argparse.Namespace) -> None:
    report = modelops.connect(args.uri).drift.check(
        args.name, read_table(args.path), method=args.method, threshold=args.threshold,
        correction=args.correction, drift_share=args.drift_share)
    if args.html:
        report.to_html(args.html)
    if args.json:
        print(report.to_json())
    else:
        columns = [*report.columns, *(c for c in (report.target, report.prediction) if c)]
        print_table([{"column": c.column, "kind": c.kind, "role": c.role, "method": c.method,
                      "statistic": c.statistic, "p_value": c.pvalue, "effect": c.effect,
                      "drifted": "yes" if c.drifted else "no"} for c in columns])
        verdict = "DRIFTED" if report.drifted else "no drift"
        print(f"\n{verdict}: {len(report.drifted_columns)} of {len(report.columns)} features "
              f"drifted (share {report.share:.2f}, threshold {report.drift_share:.2f}); "
              f"report {report.report_id}")
        if report.missing_columns:
            print(f"missing columns: {', '.join(report.missing_columns)}")
        if report.new_columns:
            print(f"new columns: {', '.join(report.new_columns)}")
    any_column = bool(report.drifted_columns) or any(
        c.drifted for c in (report.target, report.prediction) if c)
    if report.drifted or (args.fail_on == "column" and any_column):
        sys.exit(EXIT_DRIFTED)
