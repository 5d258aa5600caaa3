"""``modelops plugins``: which plugins are loaded and which schemes they serve."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(groups: Any) -> None:
    parser = groups.add_parser("plugins", help="list loaded plugins and the URI schemes served")
    parser.set_defaults(handler=_plugins)


def _plugins(args: argparse.Namespace) -> None:
    from modelops import plugins

    pm = plugins.plugin_manager()
    for name, plugin in sorted(pm.list_name_plugin()):
        print(f"{name}  ({getattr(plugin, '__name__', type(plugin).__name__)})")
    print("schemes: " + ", ".join(f"{s}://" for s in plugins.available_schemes()))
