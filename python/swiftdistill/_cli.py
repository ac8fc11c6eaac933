"""The ``distill`` command of an installed package: the Swift command-line tool's command tree,
run inside the extension module with this environment's Python (no second binary)."""
import sys


def main() -> None:
    from ._core import run_cli
    sys.exit(run_cli(arguments=sys.argv[1:]))


if __name__ == "__main__":
    main()
