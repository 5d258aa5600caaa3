"""``modelops lifecycle``: ask the retraining policy, or run a retraining cycle, from a
scheduler (cron, a Kubernetes CronJob, an Airflow task)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

import modelops
from modelops.errors import InvalidInput

#: Exit status of ``modelops lifecycle check`` when retraining is due (0 when not).
EXIT_DUE = 3


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("lifecycle", help="retraining policies and cycles")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", help="retrain MODEL if the policy says so: train, register, promote")
    run.add_argument("model", help="the model to retrain (its first cycle trains it)")
    run.add_argument("--train", required=True, metavar="MODULE:FUNCTION",
                     help="the training function, train(context) -> (model, metrics); "
                          "MODULE is imported with the working directory on sys.path")
    _policy_options(run)
    run.add_argument("--metric", help="promote when this metric beats production's ...")
    run.add_argument("--min-improvement", type=float, default=0.0,
                     help="... by at least this much (default 0)")
    run.add_argument("--lower-is-better", action="store_true",
                     help="lower wins (default: the metric's direction, e.g. lower for "
                          "mae, rmse, log_loss)")
    run.add_argument("--floor", action="append", default=[], metavar="METRIC=VALUE",
                     help="promote only above this floor (repeatable)")
    run.add_argument("--target", default="production",
                     help="production (default), staging, or @alias for a challenger")
    run.add_argument("--compare", choices=["holdout", "registered"], default="holdout",
                     help="what the rule compares: both models scored on the same held-out "
                          "predictions of the data window (default), or the metrics "
                          "training returned against production's registered ones")
    run.add_argument("--experiment", help="tracking experiment (default MODEL-retraining)")
    run.add_argument("--lease", default="1h",
                     help="how long a cycle holds the model's lease (default 1h)")
    run.add_argument("--force", action="store_true", help="retrain without asking the policy")
    run.add_argument("--json", action="store_true", help="print the cycle report as JSON")
    run.set_defaults(handler=_run)

    check = commands.add_parser(
        "check", help=f"ask the policy only; exits {EXIT_DUE} when retraining is due")
    check.add_argument("model", help="the model whose production version is judged")
    _policy_options(check)
    check.add_argument("--json", action="store_true", help="print the decision as JSON")
    check.set_defaults(handler=_check)


def _policy_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("retraining policy (none given: the defaults)")
    group.add_argument("--drift-share", type=float,
                       help="retrain when this share of features drifted (default 0.3)")
    group.add_argument("--degradation", type=float,
                       help="retrain when a metric got worse by this much (default 0.05)")
    group.add_argument("--volume-drop", type=float,
                       help="retrain when traffic fell by this share (default: off)")
    group.add_argument("--max-age", help="retrain a production version older than this")
    group.add_argument("--min-new-feedback", type=int,
                       help="wait for this many new predictions with feedback")
    group.add_argument("--cooldown", help="no new cycle this long after one (default 1h; 0)")
    group.add_argument("--window", help="the monitoring window judged (default 24h)")


def _policy(args: argparse.Namespace) -> Any:
    from modelops.lifecycle import RetrainPolicy

    names = ("drift_share", "degradation", "volume_drop", "max_age", "min_new_feedback",
             "cooldown", "window")
    options = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    return RetrainPolicy(**options)


def load_function(spec: str) -> Any:
    """``package.module:function`` (or ``module:Class.method``) as a callable."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidInput(f"expected MODULE:FUNCTION, got {spec!r}", field="--train")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except (ImportError, TypeError, ValueError) as exc:   # TypeError: a relative name (".x")
        raise InvalidInput(f"cannot import {module_name!r}: {exc}", field="--train") from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise InvalidInput(f"{module_name!r} has no {attribute!r}", field="--train") \
                from None
    if not callable(target):
        raise InvalidInput(f"{spec} is not callable", field="--train")
    return target


def _promotion(args: argparse.Namespace) -> Any:
    from modelops.registry import AllOf, Floors, MetricImprovement

    rules: list[Any] = []
    if args.metric:
        rules.append(MetricImprovement(args.metric, args.min_improvement,
                                       higher_is_better=False if args.lower_is_better
                                       else None))
    floors = {}
    for item in args.floor:
        name, sep, value = item.partition("=")
        try:
            floors[name] = float(value)
        except ValueError:
            raise InvalidInput(f"expected METRIC=NUMBER, got {item!r}", field="--floor") \
                from None
        if not sep or not name:
            raise InvalidInput(f"expected METRIC=NUMBER, got {item!r}", field="--floor")
    if floors:
        rules.append(Floors(floors))
    if not rules:
        return None
    return rules[0] if len(rules) == 1 else AllOf(*rules)


def _run(args: argparse.Namespace) -> None:
    from modelops.lifecycle import run_cycle

    train = load_function(args.train)
    ops = modelops.connect(args.uri)
    report = run_cycle(ops, args.model, train, policy=_policy(args),
                       promotion=_promotion(args), target=args.target,
                       experiment=args.experiment, force=args.force, lease=args.lease,
                       compare=args.compare)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print(report)


def _check(args: argparse.Namespace) -> None:
    from modelops.lifecycle.policy import production_version

    ops = modelops.connect(args.uri)
    production = production_version(ops.registry, args.model)
    monitor = ops.monitor(args.model, None if production is None else production.version)
    decision = _policy(args).evaluate(monitor)
    if args.json:
        print(json.dumps(decision.to_dict(), indent=2, default=str))
    else:
        print(decision)
    if decision.retrain:
        sys.exit(EXIT_DUE)
