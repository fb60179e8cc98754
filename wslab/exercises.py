"""Exercises are generated from their solutions: one source, no drift.

Each ``solutions/exNN_topic.py`` marks the code a learner must write::

    def accept_key(key: str) -> str:
        ### BEGIN SOLUTION
        digest = hashlib.sha1((key + GUID).encode()).digest()
        return base64.b64encode(digest).decode()
        ### END SOLUTION

``python -m wslab exercises build`` writes ``exercises/exNN_topic.py`` with every marked region
replaced by a stub at the same indentation, which raises `NotImplementedError` naming the
exercise; ``--check`` only reports exercises that are missing or out of date (CI runs it).
Markers must pair up, at the same indentation, inside a block: anything else is an error
with its line number, never a silent skip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
EXERCISE_FILE = re.compile(r"ex\d\d_[a-z0-9_]+\.py")
STUB = 'raise NotImplementedError("{exercise}: write this part (see the instructions at the top)")'


class MarkerError(ValueError):
    """A solution file whose solution markers do not pair up."""


@dataclass(frozen=True)
class Outcome:
    """What building one exercise did or would do."""

    exercise: str
    path: Path
    status: str  # "written", "up to date", "out of date", "missing"


def exercise_name(path: Path) -> str:
    """``ex01_accept_key.py`` -> ``ex01``."""
    return path.name[:4]


def strip_solutions(source: str, exercise: str) -> str:
    """Replace every marked solution region of `source` by a stub raising NotImplementedError."""
    lines = source.splitlines(keepends=True)
    output: list[str] = []
    begin_line = None
    indent = ""
    for number, line in enumerate(lines, start=1):
        marker = line.strip()
        if marker == BEGIN:
            if begin_line is not None:
                raise MarkerError(
                    f"line {number}: {BEGIN} inside the region opened on line {begin_line}"
                )
            begin_line = number
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                raise MarkerError(f"line {number}: {BEGIN} must be indented inside a block")
            output.append(indent + STUB.format(exercise=exercise) + "\n")
        elif marker == END:
            if begin_line is None:
                raise MarkerError(f"line {number}: {END} without a {BEGIN}")
            if not line.startswith(indent) or line[len(indent)] in " \t":
                raise MarkerError(
                    f"line {number}: {END} is not indented like its {BEGIN} (line {begin_line})"
                )
            begin_line = None
        elif BEGIN.lstrip("# ") in marker or END.lstrip("# ") in marker:
            raise MarkerError(
                f"line {number}: malformed marker {marker!r}; write exactly "
                f"{BEGIN!r} or {END!r} on a line of its own"
            )
        elif begin_line is None:
            output.append(line)
    if begin_line is not None:
        raise MarkerError(f"line {begin_line}: {BEGIN} is never closed by {END}")
    if not any(STUB.format(exercise=exercise) in line for line in output):
        raise MarkerError(f"no {BEGIN} region: the exercise would have nothing to write")
    return "".join(output)


def build(
    check: bool = False, solutions: Path = SOLUTIONS, exercises: Path = EXERCISES
) -> list[Outcome]:
    """Generate the exercises from the solutions (or, with `check`, only compare)."""
    outcomes = []
    for solution in sorted(solutions.glob("ex*.py")):
        if not EXERCISE_FILE.fullmatch(solution.name):
            raise MarkerError(f"{solution.name}: exercise files are named exNN_topic.py")
        exercise = exercise_name(solution)
        try:
            wanted = strip_solutions(solution.read_text(), exercise)
        except MarkerError as exc:
            raise MarkerError(f"{solution.relative_to(solutions.parent)}: {exc}") from None
        target = exercises / solution.name
        current = target.read_text() if target.exists() else None
        if current == wanted:
            outcomes.append(Outcome(exercise, target, "up to date"))
        elif check:
            outcomes.append(
                Outcome(exercise, target, "missing" if current is None else "out of date")
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(wanted)
            outcomes.append(Outcome(exercise, target, "written"))
    return outcomes
