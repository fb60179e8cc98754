"""``python -m wslab``: the course's command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wslab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="check versions and a live server round trip")
    lab = commands.add_parser("lab", help="open the course in JupyterLab (loopback only)")
    lab.add_argument("jupyter_args", nargs="*", help="passed to JupyterLab")
    notebooks = commands.add_parser("notebooks", help="execute the lessons, storing outputs")
    notebooks.add_argument("paths", nargs="*", help="notebooks to run (default: all)")
    grade = commands.add_parser(
        "grade",
        help="grade exercises: the learner's exercises/ by default, a folder of exNN files, "
        "or a folder of submissions (one subfolder each) into a gradebook",
        description="Grade exercises: the learner's exercises/ by default, a folder of exNN "
        "files, or a folder of submissions (one subfolder each) into a gradebook.",
        epilog="Exit status: 0 when everything graded earned full marks, 1 when anything "
        "earned less (a failed test, a crash, a time limit, a missing file), 2 for a usage "
        "error (no such folder or exercise).",
    )
    grade.add_argument("path", nargs="?", default=None, help="default: exercises/")
    grade.add_argument("--exercise", "-e", action="append", help="ex01 or ex01_accept_key")
    grade.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="every test with its whole message (the default when grading one exercise)",
    )
    grade.add_argument("--json", type=Path, help="write the scores to this JSON file")
    grade.add_argument("--out", type=Path, help="class mode: where gradebook.csv/json go")
    grade.add_argument("--timeout", type=float, default=None, help="seconds per exercise")
    grade.add_argument(
        "--jobs", "-j", type=int, default=1, help="class mode: submissions graded at once"
    )
    bench = commands.add_parser(
        "bench", help="measure latency, throughput, bytes on the wire and fan-out"
    )
    bench.add_argument("--full", action="store_true", help="more of everything (~2 minutes)")
    bench.add_argument("--json", type=Path, help="also write the results to this JSON file")
    bench.add_argument("--plot", type=Path, help="also draw the results to this image file")
    exercises = commands.add_parser("exercises", help="generate exercises/ from solutions/")
    exercises.add_argument("action", choices=["build"])
    exercises.add_argument("--check", action="store_true", help="only check they are current")
    # Everything after `lab` belongs to JupyterLab, options included.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    if args.command == "doctor":
        from .doctor import doctor

        report = doctor()
        print(report)
        return 0 if report.ok else 1
    if args.command == "grade":
        return _grade(args)
    if args.command == "bench":
        from .bench.cli import main as bench_main

        return bench_main(full=args.full, json_path=args.json, plot_path=args.plot)
    if args.command == "exercises":
        return _exercises(args.check)
    if args.command == "notebooks":
        from .notebooks import execute_all

        execute_all([Path(p) for p in args.paths])
    if args.command == "lab":
        from .lab import run_lab

        run_lab(*args.jupyter_args, *extra)
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .exercises import EXERCISES
    from .grading import grade, grade_class
    from .grading.grader import EXERCISE_TIMEOUT, write_gradebook

    path = Path(args.path) if args.path else EXERCISES
    timeout = args.timeout or EXERCISE_TIMEOUT
    if not path.is_dir():
        print(f"no folder {path}", file=sys.stderr)
        return 2
    try:
        if any(path.glob("ex*.py")) or not any(p.is_dir() for p in path.iterdir()):
            report = grade(path, args.exercise, timeout, verbose=args.verbose)
            print(report)
            if args.json:
                args.json.write_text(json.dumps(report.to_dict(), indent=2))
            return 0 if report.full_marks else 1
        reports = grade_class(path, args.exercise, timeout, jobs=args.jobs)
    except ValueError as exc:  # an unknown exercise name
        print(exc, file=sys.stderr)
        return 2
    out = args.out or path
    out.mkdir(parents=True, exist_ok=True)
    write_gradebook(reports, out / "gradebook.csv", out / "gradebook.json")
    for report in reports:
        if args.verbose:
            print(f"== {report.submission}\n{report.details()}\n")
        else:
            print(report.summary())
    print(f"gradebook: {out / 'gradebook.csv'} and {out / 'gradebook.json'}")
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in reports], indent=2))
    return 0 if all(r.full_marks for r in reports) else 1


def _exercises(check: bool) -> int:
    from .exercises import MarkerError, build

    try:
        outcomes = build(check=check)
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stale = [o for o in outcomes if o.status in ("missing", "out of date")]
    for outcome in outcomes:
        print(f"{outcome.path.name}: {outcome.status}")
    if stale:
        print("run `python -m wslab exercises build` to regenerate them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
