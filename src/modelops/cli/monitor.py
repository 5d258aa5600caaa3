"""``modelops monitor``: the health of a model in production, and monitoring reports."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import modelops
from modelops._html import check_page_path
from modelops.cli._output import print_table
from modelops.errors import InvalidInput

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
    health.set_defaults(handler=_health, reads=True)

    configure = commands.add_parser(
        "configure", help="store how a model is monitored (task, positive label, rules) "
                          "with the model, for every later monitor of it",
        description="Settings given here are kept with the registered model and used by "
                    "`monitor health`, `monitor report` and code (ops.monitor); a command's "
                    "own options win over them. Without options, prints the stored ones.")
    configure.add_argument("model", help="the registered model")
    configure.add_argument("--task", choices=["classification", "regression"],
                           help="the model's task (default: detected from the data)")
    configure.add_argument("--positive", metavar="LABEL",
                           help="the positive label of a binary classifier (1, true and 1.5 "
                                "are read as numbers and booleans)")
    configure.add_argument("--score", choices=["probability", "confidence"],
                           help="what a logged probability is: the positive class's "
                                "(probability) or the predicted label's (confidence)")
    configure.add_argument("--latency-slo", type=float, metavar="MS",
                           help="report p99 latency above this many ms")
    configure.add_argument("--threshold", type=float, metavar="X",
                           help="degradation threshold against the baseline (default 0.05)")
    configure.add_argument("--rule", action="append", default=[], metavar="NAME=VALUE",
                           help="any HealthRules field, e.g. drift_min_rows=500 or "
                                "alert_at=medium (repeatable; VALUE read as JSON when it "
                                "parses, else as text)")
    configure.add_argument("--replace", action="store_true",
                           help="replace the stored settings instead of updating them")
    configure.add_argument("--json", action="store_true", help="print the settings as JSON")
    configure.set_defaults(handler=_configure, reads=True)

    report = commands.add_parser("report", help="a monitoring report (JSON and/or HTML)")
    _common(report)
    report.add_argument("--trend-window", default="1h",
                        help="the window of each point of the charts (default 1h)")
    report.add_argument("--html", help="write the report as a standalone HTML page")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.set_defaults(handler=_report, reads=True)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model whose logged predictions are judged")
    parser.add_argument("--version", help="monitor one version (default: every version)")
    parser.add_argument("--window", default="24h", help="e.g. 30m, 1h, 24h, 7d (default 24h)")
    parser.add_argument("--task", choices=["classification", "regression"],
                        help="the model's task (default: the stored setting, else detected)")
    parser.add_argument("--positive", metavar="LABEL",
                        help="the positive label of a binary classifier (default: the stored "
                             "setting; 1 and true are read as a number and a boolean)")
    parser.add_argument("--latency-slo", type=float, metavar="MS",
                        help="report p99 latency above this many ms")
    parser.add_argument("--threshold", type=float,
                        help="degradation threshold against the baseline (default: the "
                             "stored setting, else 0.05)")


def _monitor(args: argparse.Namespace) -> Any:
    from modelops.monitoring import Monitor

    options: dict[str, Any] = {}
    if args.latency_slo is not None:
        options["latency_slo_ms"] = args.latency_slo
    if args.threshold is not None:
        options["degradation_threshold"] = args.threshold
    if getattr(args, "no_alerts", False):
        options["alert_at"] = None
    ops = modelops.connect(args.uri)
    known(ops, args.model)
    return Monitor(ops, args.model, args.version, task=args.task,
                   positive=label(args.positive), **options)


def known(ops: Any, model: str) -> None:
    """``NotFound`` naming ``model`` when the store knows nothing of it: not registered, no
    prediction logged, no reference profile (an unknown name is a typo, not a sick model)."""
    from modelops.errors import NotFound

    try:
        ops.registry.get_model(model)
        return
    except NotFound:
        pass
    try:
        if model in ops.predictions.models():
            return
    except NotFound:          # a backend without a prediction store
        pass
    try:
        ops.drift.reference(model)
        return
    except NotFound:
        pass
    raise NotFound(f"no model {model!r} in the store at {ops.uri}: not registered, no "
                   "prediction logged and no reference profile")


def label(text: str | None) -> Any:
    """A label given on the command line: ``1``, ``2.5``, ``true`` as the number or boolean
    JSON reads, anything else as text."""
    if text is None:
        return None
    import json

    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (bool, int, float)) else text


def _configure(args: argparse.Namespace) -> None:
    import json

    ops = modelops.connect(args.uri)
    rules: dict[str, Any] = {}
    if args.latency_slo is not None:
        rules["latency_slo_ms"] = args.latency_slo
    if args.threshold is not None:
        rules["degradation_threshold"] = args.threshold
    for item in args.rule:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidInput(f"expected NAME=VALUE, got {item!r}", field="--rule")
        try:
            rules[name] = json.loads(value)
        except ValueError:
            rules[name] = value
    given = (args.task, args.positive, args.score)
    if any(v is not None for v in given) or rules or args.replace:
        settings = ops.set_monitoring(args.model, task=args.task,
                                      positive=label(args.positive), score=args.score,
                                      replace=args.replace, **rules)
    else:
        ops.registry.get_model(args.model)      # an unknown model is an error, not "(none)"
        settings = ops.monitoring_settings(args.model)
    if args.json:
        print(json.dumps(settings.to_dict(), indent=2))
        return
    print(f"{args.model}: task {settings.task or '(detected)'}, positive "
          f"{settings.positive if settings.positive is not None else '(1 or true)'}, score "
          f"{settings.score or 'probability'}")
    for name, value in sorted(settings.rules.items()):
        print(f"  {name} = {value}")


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
    if args.html:
        check_page_path(args.html)
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
