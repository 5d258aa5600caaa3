"""``modelops models``: list, show, promote, rollback, history."""

from __future__ import annotations

import argparse
from typing import Any

import modelops
from modelops._time import utc_time
from modelops.cli._output import print_table


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("models", help="the model registry")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="list registered models").set_defaults(handler=_list)

    show = commands.add_parser("show", help="a model's versions, stages and aliases")
    show.add_argument("name")
    show.set_defaults(handler=_show)

    promote = commands.add_parser("promote", help="move a version to a stage or alias")
    promote.add_argument("name")
    promote.add_argument("version")
    promote.add_argument("--stage", help="production (default), staging, archived, failed, "
                         "development")
    promote.add_argument("--alias", help="give the version this alias instead of a stage")
    promote.add_argument("--reason")
    promote.add_argument("--keep-previous", action="store_true",
                         help="put the previous production version in staging, not archived")
    promote.set_defaults(handler=_promote)

    rollback = commands.add_parser("rollback", help="give a stage back to its previous holder")
    rollback.add_argument("name")
    rollback.add_argument("--stage", help="production (default)")
    rollback.add_argument("--alias", help="roll back an alias instead")
    rollback.add_argument("--reason")
    rollback.set_defaults(handler=_rollback)

    history = commands.add_parser("history", help="a model's audit trail")
    history.add_argument("name")
    history.set_defaults(handler=_history)


def _registry(args: argparse.Namespace) -> Any:
    return modelops.connect(args.uri).registry


def _list(args: argparse.Namespace) -> None:
    reg = _registry(args)
    rows = []
    for model in reg.list_models():
        versions = reg.list_versions(model.name)
        production = [v.version for v in versions if v.stage.value == "production"]
        rows.append({"name": model.name, "versions": len(versions),
                     "latest": versions[-1].version if versions else None,
                     "production": production[0] if production else None,
                     "description": model.description or None})
    print_table(rows)


def _show(args: argparse.Namespace) -> None:
    reg = _registry(args)
    model = reg.get_model(args.name)
    print(f"{model.name}: {model.description}" if model.description else model.name)
    print_table([{"version": v.version, "stage": v.stage.value,
                  "aliases": ",".join(v.aliases) or None, "framework": v.framework,
                  "flavor": v.flavor, "size": v.size,
                  "metrics": ", ".join(f"{k}={x:.4g}" for k, x in sorted(v.metrics.items()))
                  or None, "run_id": v.run_id}
                 for v in reg.list_versions(args.name)])


def _promote(args: argparse.Namespace) -> None:
    event = _registry(args).promote(args.name, args.version, args.stage, alias=args.alias,
                                    reason=args.reason, archive_previous=not args.keep_previous)
    for change in event.changes:
        print(f"{args.name} {change.version}: {change.field} {change.before} -> {change.after}")


def _rollback(args: argparse.Namespace) -> None:
    event = _registry(args).rollback(args.name, args.stage, alias=args.alias,
                                     reason=args.reason)
    print(event.reason)


def _history(args: argparse.Namespace) -> None:
    rows = []
    for e in _registry(args).history(args.name):
        rows.append({"seq": e.seq, "when": utc_time(e.timestamp),
                     "actor": e.actor, "action": e.action,
                     "changes": "; ".join(f"{c.version} {c.field}: {c.before}->{c.after}"
                                          for c in e.changes) or None,
                     "reason": e.reason or (e.decision.reason if e.decision else None)})
    print_table(rows)
