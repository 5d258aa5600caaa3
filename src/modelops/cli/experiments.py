"""``modelops experiments``: list, create, delete, restore."""

from __future__ import annotations

import argparse
from typing import Any

import modelops
from modelops.cli._output import print_table


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("experiments", help="list and manage experiments")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ls = commands.add_parser("list", help="list experiments")
    ls.add_argument("--view", default="active_only", choices=["active_only", "deleted_only", "all"],
                    help="which experiments: active ones (default), deleted ones, or all")
    ls.set_defaults(handler=_list, reads=True)
    for name, handler in (("create", _create), ("delete", _delete), ("restore", _restore)):
        sub = commands.add_parser(name, help=f"{name} an experiment")
        sub.add_argument("name", help="experiment name (or id)")
        sub.set_defaults(handler=handler, reads=name != "create")


def _list(args: argparse.Namespace) -> None:
    rows = [{"experiment_id": e.experiment_id, "name": e.name,
             "lifecycle_stage": e.lifecycle_stage.value}
            for e in modelops.connect(args.uri).tracking.list_experiments(args.view)]
    print_table(rows)


def _create(args: argparse.Namespace) -> None:
    print(modelops.connect(args.uri).tracking.create_experiment(args.name).experiment_id)


def _delete(args: argparse.Namespace) -> None:
    modelops.connect(args.uri).tracking.delete_experiment(args.name)


def _restore(args: argparse.Namespace) -> None:
    modelops.connect(args.uri).tracking.restore_experiment(args.name)
