"""``python -m wslab``: the course's command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wslab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="check versions and a live server round trip")
    lab = commands.add_parser("lab", help="open the course in JupyterLab (loopback only)")
    lab.add_argument("jupyter_args", nargs="*", help="passed to JupyterLab")
    notebooks = commands.add_parser("notebooks", help="execute the lessons, storing outputs")
    notebooks.add_argument("paths", nargs="*", help="notebooks to run (default: all)")
    # Everything after `lab` belongs to JupyterLab, options included.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    if args.command == "doctor":
        from .doctor import doctor

        report = doctor()
        print(report)
        return 0 if report.ok else 1
    if args.command == "notebooks":
        from pathlib import Path

        from .notebooks import execute_all

        execute_all([Path(p) for p in args.paths])
    if args.command == "lab":
        from .lab import run_lab

        run_lab(*args.jupyter_args, *extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
