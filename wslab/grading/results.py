"""What grading found: per test, per exercise, per submission; as text, HTML, JSON and CSV.

Outcomes and statuses are enums, decided where the facts are known (the test run, the
process's exit), never parsed back out of a message. The text forms are stable (no timings,
no absolute paths): a notebook's stored output of ``wslab.check("ex03")`` compares equal from
run to run. Only the HTML says how long grading took.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from enum import StrEnum


def summary(doc: str | None) -> str:
    """A test's docstring as one line: its first paragraph, whitespace joined."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


class Outcome(StrEnum):
    """How one test ended."""

    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed out"  # stopped at the test's own time limit
    SKIPPED = "skipped"
    NOT_RUN = "not run"  # the run ended (crash, exercise time limit) before this test


class Status(StrEnum):
    """How one exercise of one submission went, worst first."""

    MISSING = "missing file"
    CRASHED = "crashed"  # the test process died, or the file does not import
    TIMED_OUT = "timed out"  # the exercise's time limit, or a test's, was reached
    FAILED = "failed"
    PASSED = "passed"


MARKS = {
    Outcome.PASSED: "ok",
    Outcome.FAILED: "FAIL",
    Outcome.TIMED_OUT: "TIME",
    Outcome.SKIPPED: "skip",
    Outcome.NOT_RUN: "--",
}


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class, whatever imports it

    name: str
    doc: str
    points: int
    outcome: Outcome = Outcome.NOT_RUN
    message: str = ""

    def to_dict(self) -> dict:
        return {**self.__dict__, "outcome": str(self.outcome)}


@dataclass
class ExerciseResult:
    exercise: str
    tests: list[TestResult] = field(default_factory=list)
    status: Status = Status.FAILED
    reason: str = ""
    """Why the run ended abnormally (exit status, signal, time limit, import error), or empty."""

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tests if t.outcome is Outcome.PASSED)

    @property
    def total(self) -> int:
        return sum(t.points for t in self.tests)

    @property
    def first_failure(self) -> str:
        """The run's reason, else the first failed test and its message's first line."""
        if self.reason:
            return self.reason
        for test in self.tests:
            if test.outcome is not Outcome.PASSED:
                return f"{test.name}: {(test.message or str(test.outcome)).splitlines()[0]}"
        return ""

    def to_dict(self) -> dict:
        return {
            "exercise": self.exercise,
            "points": self.points,
            "total": self.total,
            "status": str(self.status),
            "reason": self.reason,
            "tests": [t.to_dict() for t in self.tests],
        }

    def details(self) -> str:
        """Every test with its points and whole message (the per-test view)."""
        head = f"{self.exercise}: {self.points} / {self.total} points, {self.status}"
        lines = [head + (f" ({self.reason})" if self.reason else "")]
        for test in self.tests:
            got = test.points if test.outcome is Outcome.PASSED else 0
            lines.append(f"  {MARKS[test.outcome]:<4} {got:>2}/{test.points:<2} {test.name}")
            if test.doc:
                lines.append(f"               {test.doc}")
            if test.outcome is not Outcome.PASSED and test.message:
                lines += [f"             | {line}" for line in test.message.splitlines()]
        return "\n".join(lines)

    def _html(self) -> str:
        color = "green" if self.status is Status.PASSED else "#b00"
        summary = (
            f"<b>{html.escape(self.exercise)}</b>: {self.points} / {self.total} points, "
            f"<span style='color:{color}'>{html.escape(str(self.status))}</span>"
            + (f" ({html.escape(self.reason)})" if self.reason else "")
        )
        rows = "".join(
            f"<tr><td style='color:{'green' if t.outcome is Outcome.PASSED else '#b00'}'>"
            f"{html.escape(str(t.outcome))}</td>"
            f"<td>{t.points if t.outcome is Outcome.PASSED else 0} / {t.points}</td>"
            f"<td style='text-align:left'><code>{html.escape(t.name)}</code><br>"
            f"{html.escape(t.doc)}"
            + (
                f"<pre style='white-space:pre-wrap;margin:4px 0'>{html.escape(t.message)}</pre>"
                if t.message and t.outcome is not Outcome.PASSED
                else ""
            )
            + "</td></tr>"
            for t in self.tests
        )
        # Open while the learner is on the way (some points, not all); closed when there is
        # nothing to fix, or when nothing is written yet (every test says the same).
        opened = " open" if 0 < self.points < self.total else ""
        if not opened and self.status is not Status.PASSED and self.first_failure:
            summary += f"<br><small>{html.escape(one_line(self.first_failure, 120))}</small>"
        return (
            f"<details{opened}><summary>{summary}</summary><table><thead><tr><th>result</th>"
            f"<th>points</th><th style='text-align:left'>test</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></details>"
        )


@dataclass
class Report:
    """The grades of one submission: one result per exercise.

    Prints as a table of exercises, or as every test of the exercise when there is one (what
    ``wslab.check("ex03")`` shows); `verbose` asks for the per-test view of every exercise.
    """

    submission: str
    """The submission's name (its folder's name), never an absolute path."""
    results: list[ExerciseResult]
    seconds: float = 0.0
    """How long grading took (shown in HTML only: text forms stay the same run to run)."""
    verbose: bool = False

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.results)

    @property
    def status(self) -> Status:
        """The worst status of its exercises (PASSED when every exercise passed)."""
        order = list(Status)
        return min((r.status for r in self.results), key=order.index, default=Status.PASSED)

    @property
    def full_marks(self) -> bool:
        return self.total > 0 and self.points == self.total

    def to_dict(self) -> dict:
        return {
            "submission": self.submission,
            "points": self.points,
            "total": self.total,
            "status": str(self.status),
            "exercises": [r.to_dict() for r in self.results],
        }

    def summary(self) -> str:
        """One line: the submission, its points and status, and its first problem if any."""
        line = f"{self.submission}: {self.points} / {self.total} {self.status}"
        problem = next((r for r in self.results if r.status is not Status.PASSED), None)
        if problem is not None:
            line += f" ({problem.exercise}: {one_line(problem.first_failure, 90)})"
        return line

    def table(self) -> str:
        width = max([len(r.exercise) for r in self.results] + [8])
        lines = [f"{'exercise':<{width}}  {'points':>7}  {'result':<12}  first failure"]
        for r in self.results:
            failure = "" if r.status is Status.PASSED else one_line(r.first_failure, 90)
            lines.append(
                f"{r.exercise:<{width}}  {r.points:>3} / {r.total:<3} {r.status:<12}  "
                f"{failure}".rstrip()
            )
        lines.append(f"{'total':<{width}}  {self.points:>3} / {self.total}")
        return "\n".join(lines)

    def details(self) -> str:
        parts = [r.details() for r in self.results]
        if len(self.results) > 1:
            parts.append(f"total: {self.points} / {self.total}")
        return "\n\n".join(parts)

    def __str__(self) -> str:
        return self.details() if self.verbose or len(self.results) == 1 else self.table()

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        parts = "".join(r._html() for r in self.results)
        total = (
            f"<p><b>total: {self.points} / {self.total}</b></p>" if len(self.results) > 1 else ""
        )
        return f"<div>{parts}{total}<p style='color:#666'>graded in {self.seconds:.1f} s</p></div>"


def one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
