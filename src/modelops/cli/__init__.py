"""The ``modelops`` command."""

# The submodule first: importing it binds ``modelops.cli.main`` to the module, and the
# function below must be what that name means afterwards (the console script calls it).
from modelops.cli import main as _commands


def main(argv: list[str] | None = None) -> int:
    return _commands.run(argv)
