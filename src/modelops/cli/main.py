"""``modelops`` command line: ``modelops [--uri URI] [--utc] GROUP COMMAND ...``.

Errors exit 1 with one line on stderr; a command that reads a store refuses a local path
where there is no store rather than printing an empty answer. Errors speak the command line:
a hint the library gives as a keyword (``alias=``) names the option (``--alias``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from modelops.cli import _output
from modelops.errors import ModelOpsError, NotFound


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelops", description="modelops from the shell.")
    parser.add_argument("--uri", help="store URI or path (default: $MODELOPS_URI or ./.modelops)")
    parser.add_argument("--utc", action="store_true",
                        help="print times in UTC (default: ISO 8601 in local time)")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    from modelops import plugins
    from modelops.cli import builtin

    # The built-in groups are a plugin like any other, registered here rather than with the
    # other built-ins so that connect() does not import the command line.
    add_commands = plugins.hook("modelops_cli_commands")
    pm = plugins.manager()
    if not pm.is_registered(builtin):
        pm.register(builtin, name="modelops.cli.builtin")
    add_commands(groups=groups)
    for command in commands(parser):
        options = {a.dest: a.option_strings[-1] for a in command._actions
                   if a.option_strings and a.dest != "help"}
        command.set_defaults(cli_options=options)
    return parser


def commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every command's parser (the leaves of the tree of subcommands)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += commands(sub) or [sub]
    return found


def speak_cli(message: str, options: dict[str, str]) -> str:
    """A library message in the command's terms: ``alias=`` and a leading ``alias:`` field
    name become ``--alias``, ``force=True`` becomes ``--force``."""
    for dest, flag in options.items():
        message = re.sub(rf"\b{dest}=(?:True\b)?", flag, message)
        message = re.sub(rf"^{dest}: ", f"{flag}: ", message)
    return message


def _missing_store(args: argparse.Namespace) -> str | None:
    """The local path of the store a reading command was pointed at, when nothing is there."""
    from modelops.uri import default_uri, parse_uri

    if not getattr(args, "reads", False):
        return None
    uri = parse_uri(args.uri if args.uri is not None else default_uri())
    if uri.scheme == "file" and not os.path.exists(uri.path):
        return uri.path
    return None


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _output.use_utc(args.utc)
    try:
        missing = _missing_store(args)
        if missing is not None:
            where = "--uri" if args.uri is not None else \
                ("$MODELOPS_URI" if os.environ.get("MODELOPS_URI") else "the default store")
            raise NotFound(f"no store at {missing}: the directory does not exist (check "
                           f"{where})")
        args.handler(args)
    except ModelOpsError as exc:
        print(f"modelops: {speak_cli(str(exc), getattr(args, 'cli_options', {}))}",
              file=sys.stderr)
        return 1
    return 0
