"""``modelops monitor``: the health of a model in production, and monitoring reports."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import modelops
from modelops.cli._output import print_table

#: Exit status of ``modelops monitor health`` when the model is degraded / unhealthy
#: (healthy exits 0, errors 1; ``modelops drift check`` uses 3 for drift).
EXIT_DEGRADED = 4
EXIT_UNHEALTHY = 5
EXIT_CODES = {"healthy": 0, "degraded": EXIT_DEGRADED, "unhealthy": EXIT_UNHEALTHY}


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("monitor", help="health and reports of models in production")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    health = commands.add_parser(
        "health", help=f"check a model's health; exits {EXIT_DEGRADED} when degraded, "
                       f"{EXIT_UNHEALTHY} when unhealthy")
    _common(health)
    health.add_argument("--json", action="store_true", help="print the health as JSON")
    health.add_argument("--no-alerts", action="store_true",
                        help="do not fire the modelops_alert_raised hook")
    health.set_defaults(handler=_health)

    report = commands.add_parser("report", help="a monitoring report (JSON and/or HTML)")
    _common(report)
    report.add_argument("--trend-window", default="1h",
                        help="the window of each point of the charts (default 1h)")
    report.add_argument("--html", help="write the report as a standalone HTML page")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.set_defaults(handler=_report)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model")
    parser.add_argument("--version", help="monitor one version (default: every version)")
    parser.add_argument("--window", default="24h", help="e.g. 30m, 1h, 24h, 7d (default 24h)")
    parser.add_argument("--task", choices=["classification", "regression"])
    parser.add_argument("--positive", help="the positive label of a binary classifier")
    parser.add_argument("--latency-slo", type=float, metavar="MS",
                        help="report p99 latency above this many ms")
    parser.add_argument("--threshold", type=float,
                        help="degradation threshold against the baseline (default 0.05)")


def _monitor(args: argparse.Namespace) -> Any:
    from modelops.monitoring import Monitor

    options: dict[str, Any] = {}
    if args.latency_slo is not None:
        options["latency_slo_ms"] = args.latency_slo
    if args.threshold is not None:
        options["degradation_threshold"] = args.threshold
    if getattr(args, "no_alerts", False):
        options["alert_at"] = None
    return Monitor(modelops.connect(args.uri), args.model, args.version, task=args.task,
                   positive=args.positive, **options)


def _health(args: argparse.Namespace) -> None:
    health = _monitor(args).health(args.window)
    if args.json:
        import json

        from modelops.entities.plain import finite_or_none

        print(json.dumps(finite_or_none(health.to_dict()), indent=2, allow_nan=False))
    else:
        version = f" {health.version}" if health.version else ""
        print(f"{health.model}{version}: {health.status.upper()} ({health.n:,} predictions "
              f"in the last {health.window})")
        if health.issues:
            print()
            print_table([{"severity": i.severity, "kind": i.kind, "message": i.message}
                         for i in health.issues])
    code = EXIT_CODES.get(health.status, 0)
    if code:
        sys.exit(code)


def _report(args: argparse.Namespace) -> None:
    report = _monitor(args).report(args.window, args.trend_window)
    if args.html:
        report.to_html(args.html)
    if args.json:
        print(report.to_json())
    else:
        print(f"{report.model}: {report.status.upper()} ({report.n:,} predictions in the last "
              f"{report.window}, {report.performance.n:,} with feedback)")
        for name, value in report.performance.metrics.items():
            print(f"  {name}: {value:.4g}")
        for issue in report.health.issues:
            print(f"  [{issue.severity}] {issue.kind}: {issue.message}")
        if args.html:
            print(f"report written to {args.html}")
