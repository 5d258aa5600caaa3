"""``modelops drift``: fit a reference, check data against it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import modelops
from modelops._html import check_page_path
from modelops.cli._files import read_table
from modelops.cli._output import print_table
from modelops.drift.methods import (
    CORRECTIONS,
    DEFAULT_CORRECTION,
    DEFAULT_DRIFT_SHARE,
    DEFAULT_MIN_ROWS,
)

#: Exit status of ``modelops drift check`` when the dataset drifted (errors exit 1).
EXIT_DRIFTED = 3


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("drift", help="data drift against a reference")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = commands.add_parser("fit", help="profile a reference dataset (CSV or Parquet)")
    fit.add_argument("name", help="what is monitored, usually a model name")
    fit.add_argument("path", help="the reference data: a CSV file (header row first) or "
                                  "Parquet")
    fit.add_argument("--categorical", default="", metavar="COLUMNS",
                     help="comma-separated columns to treat as categorical (strings are)")
    fit.add_argument("--target", metavar="COLUMN",
                     help="the column of actuals, whose drift is reported apart")
    fit.add_argument("--prediction", metavar="COLUMN",
                     help="the column of predictions, whose drift is reported apart")
    fit.set_defaults(handler=_fit)

    check = commands.add_parser(
        "check", help=f"check a dataset; exits {EXIT_DRIFTED} when it drifted")
    check.add_argument("name", help="the name the reference was fitted under")
    check.add_argument("path", help="the data to check: a CSV file or Parquet")
    check.add_argument("--method", default="auto",
                       help="a drift method of the method table for every column it suits "
                            "(default auto: KS or chi-square with an effect floor)")
    check.add_argument("--threshold", type=float,
                       help="alpha of the tests or threshold of a named distance (default "
                            "0.025 for auto, 0.05 for a named test, 0.1 for a distance)")
    check.add_argument("--correction", choices=list(CORRECTIONS), default=DEFAULT_CORRECTION,
                       help="how p-values are adjusted over the columns (default "
                            f"{DEFAULT_CORRECTION}: Benjamini-Hochberg; 'none' judges each "
                            "column alone, which flags some column of clean data often)")
    check.add_argument("--min-rows", type=int, default=DEFAULT_MIN_ROWS, metavar="N",
                       help="columns with fewer non-missing values are not judged (default "
                            f"{DEFAULT_MIN_ROWS})")
    check.add_argument("--min-effect", type=float, metavar="X",
                       help="the effect a drifted column must also show, for every kind "
                            "(default 0.05 σ numeric, 0.02 binary and categorical)")
    check.add_argument("--drift-share", type=float, default=DEFAULT_DRIFT_SHARE,
                       help="the dataset drifted when this share of the judged features did "
                            f"(default {DEFAULT_DRIFT_SHARE:g})")
    check.add_argument("--html", metavar="PATH",
                       help="also write the report as a standalone HTML page")
    check.add_argument("--histogram", choices=["auto", "linear", "log"], default="auto",
                       help="numeric histograms of the report: auto (whole-number bins for "
                            "counts, log-spaced for skewed positive columns), linear or log")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--fail-on", choices=["dataset", "column"], default="dataset",
                       help="exit non-zero when the dataset drifted (default), or when any "
                            "column did (after the correction)")
    check.set_defaults(handler=_check, reads=True)


def _fit(args: argparse.Namespace) -> None:
    categorical = [c for c in args.categorical.split(",") if c]
    profile = modelops.connect(args.uri).drift.fit_reference(
        args.name, read_table(args.path), categorical=categorical or None, target=args.target,
        prediction=args.prediction)
    print(f"reference {profile.profile_id} for {args.name}: {profile.rows:,} rows, "
          f"{len(profile.columns)} columns")


def _check(args: argparse.Namespace) -> None:
    if args.html:
        check_page_path(args.html)
    report = modelops.connect(args.uri).drift.check(
        args.name, read_table(args.path), method=args.method, threshold=args.threshold,
        correction=args.correction, drift_share=args.drift_share, min_rows=args.min_rows,
        min_effect=args.min_effect, histogram=args.histogram)
    if args.html:
        report.to_html(args.html)
    if args.json:
        print(report.to_json())
    else:
        columns = [*report.columns, *(c for c in (report.target, report.prediction) if c)]
        print_table([{"column": c.column, "kind": c.kind, "role": c.role, "method": c.method,
                      "statistic": c.statistic, "p_value": c.pvalue, "effect": c.effect,
                      "drifted": "yes" if c.drifted else "no" if c.judged else "not judged"}
                     for c in columns])
        verdict = "DRIFTED" if report.drifted else "no drift"
        judged = len(report.judged_columns)
        print(f"\n{verdict}: {len(report.drifted_columns)} of {judged} judged features "
              f"drifted (share {report.share:.2f}, threshold {report.drift_share:.2f}; "
              f"p-values adjusted: {report.correction}; columns need {report.min_rows:,} "
              f"values); report {report.report_id}")
        if report.missing_columns:
            print(f"missing columns: {', '.join(report.missing_columns)}")
        if report.new_columns:
            print(f"new columns: {', '.join(report.new_columns)}")
    any_column = bool(report.drifted_columns) or any(
        c.drifted for c in (report.target, report.prediction) if c)
    if report.drifted or (args.fail_on == "column" and any_column):
        sys.exit(EXIT_DRIFTED)
