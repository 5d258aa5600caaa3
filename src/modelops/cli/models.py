"""``modelops models``: list, show, version, promote, rollback, history."""

from __future__ import annotations

import argparse
from typing import Any

import modelops
from modelops.cli._output import print_table


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("models", help="the model registry")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="list registered models").set_defaults(handler=_list,
                                                                          reads=True)

    show = commands.add_parser("show", help="a model's versions, stages and aliases")
    show.add_argument("name", help="the registered model")
    show.set_defaults(handler=_show, reads=True)

    version = commands.add_parser(
        "version", help="one version: what it is, what loading it needs, what it was "
        "trained on")
    version.add_argument("name", help="the registered model")
    version.add_argument("version", nargs="?", help="e.g. 1.2.0 (default: the latest)")
    version.add_argument("--alias", help="the version holding this alias instead")
    version.add_argument("--requirements", action="store_true",
                         help="print only its pip requirements, one per line (for "
                         "requirements.txt)")
    version.set_defaults(handler=_version, reads=True)

    promote = commands.add_parser("promote", help="move a version to a stage or alias")
    promote.add_argument("name", help="the registered model")
    promote.add_argument("version", help="the version to promote, e.g. 1.2.0")
    promote.add_argument("--stage", help="production (default), staging, archived, failed, "
                         "development")
    promote.add_argument("--alias", help="give the version this alias instead of a stage")
    promote.add_argument("--reason", help="why, for the audit trail")
    promote.add_argument("--keep-previous", action="store_true",
                         help="put the previous production version in staging, not archived")
    promote.set_defaults(handler=_promote, reads=True)

    rollback = commands.add_parser("rollback", help="give a stage back to its previous holder")
    rollback.add_argument("name", help="the registered model")
    rollback.add_argument("--stage", help="production (default)")
    rollback.add_argument("--alias", help="roll back an alias instead")
    rollback.add_argument("--reason", help="why, for the audit trail")
    rollback.set_defaults(handler=_rollback, reads=True)

    history = commands.add_parser("history", help="a model's audit trail")
    history.add_argument("name", help="the registered model")
    history.set_defaults(handler=_history, reads=True)


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


def _version(args: argparse.Namespace) -> None:
    v = _registry(args).get_version(args.name, args.version, alias=args.alias)
    if args.requirements:
        print("\n".join(v.pip_requirements))
        return
    print_table([{"field": k, "value": x} for k, x in (
        ("model", v.name), ("version", v.version), ("stage", v.stage.value),
        ("aliases", ", ".join(v.aliases) or None), ("flavor", v.flavor),
        ("framework", v.framework), ("run_id", v.run_id), ("created_time", v.created_time),
        ("creator", v.creator), ("size", v.size), ("python", v.requirements.get("python")),
        ("description", v.description or None))], columns=["field", "value"])
    print("\nrequirements (to load it)")
    print_table([{"distribution": k, "version": x}
                 for k, x in v.requirements.items() if k != "python"])
    print("\ntrained on")
    print_table([{"dataset": d.name, "context": d.context, "rows": d.rows,
                  "digest": d.digest[:12], "source": d.source, "run_id": d.run_id}
                 for d in v.lineage.datasets])


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
        rows.append({"seq": e.seq, "when": e.timestamp,
                     "actor": e.actor, "action": e.action,
                     "changes": "; ".join(f"{c.version} {c.field}: {c.before}->{c.after}"
                                          for c in e.changes) or None,
                     "reason": e.reason or (e.decision.reason if e.decision else None)})
    print_table(rows)
