"""The ``distill`` command of an installed package: runs the Swift command-line tool, the one a
checkout's set-up built (``.build/release/distill``, for ``pip install -e python``) or else the
one the wheel carries (``swiftdistill/bin/distill``), with this environment's Python packages."""
import os
import sys
from pathlib import Path
from typing import Optional


def executable() -> Optional[Path]:
    """The ``distill`` binary to run, or None when this installation has none."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent.parent / ".build" / "release" / "distill", here / "bin" / "distill"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def main() -> None:
    exe = executable()
    if exe is None:
        sys.exit("distill: this installation of swiftdistill carries no command-line tool; install the wheel that "
                 "scripts/build-wheel.sh builds, or run scripts/setup.sh in a checkout.")
    env = dict(os.environ)
    if sys.prefix != sys.base_prefix:
        # The tool embeds CPython: point it at this virtual environment, activated or not.
        env["VIRTUAL_ENV"] = sys.prefix
    os.execve(str(exe), [str(exe), *sys.argv[1:]], env)


if __name__ == "__main__":
    main()
