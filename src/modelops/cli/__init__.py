"""The ``modelops`` command."""


def main(argv: list[str] | None = None) -> int:
    from modelops.cli.main import run

    return run(argv)
