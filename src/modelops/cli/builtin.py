"""The built-in command groups, contributed through ``modelops_cli_commands`` like a
plugin's."""

from __future__ import annotations

from typing import Any

from modelops.cli import drift, experiments, lifecycle, models, monitor, plugins, runs, store
from modelops.hookspecs import hookimpl

#: The built-in groups, in the order ``modelops --help`` lists them.
GROUPS = (experiments, runs, models, drift, monitor, lifecycle, store, plugins)


@hookimpl(tryfirst=True)
def modelops_cli_commands(groups: Any) -> None:
    for group in GROUPS:
        group.add_parser(groups)
