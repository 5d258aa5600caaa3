"""``--scale`` for a benchmark that has no scaling curves yet.

``tox -e bench -- --scale`` passes ``--scale`` to every script; those that do not measure
scaling curves accept it, say so and stop (see benchmarks/README.md, Scaling).
"""

from __future__ import annotations

import argparse


def add_scale_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", action="store_true",
                        help="the scaling curves: not measured by this script yet "
                        "(it says so and stops)")


def stops_for_scale(parser: argparse.ArgumentParser, args: argparse.Namespace) -> bool:
    """True (after saying so) when ``--scale`` was given."""
    if args.scale:
        print(f"{parser.prog}: no scaling curves yet (benchmarks/README.md, Scaling)")
    return bool(args.scale)
