"""The grader: run an exercise's tests against a submission, in a subprocess, with a time limit.

A submission is untrusted code: it may not import (syntax error), crash at import, loop
forever, block on a socket, print megabytes or leave threads and processes behind. So each
exercise of each submission runs in its own pytest subprocess, in its own process group,
with its output sent to a file and a wall-clock limit; the subprocess records results after
every test (see `plugin`), so a killed run still yields a verdict for what ran. Whatever the
submission does, the grader returns a readable verdict per exercise, never hangs. Afterwards
every process of the run is killed: its process group, and (on Linux) whatever left the group
(setsid, a double fork) but still carries the run's mark in its environment.
"""

from __future__ import annotations

import csv
import html
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..exercises import EXERCISES, ROOT

TESTS = ROOT / "tests" / "exercises"

#: Wall-clock limit for one exercise of one submission, and for one of its tests.
EXERCISE_TIMEOUT = 90.0
TEST_TIMEOUT = 15.0

#: Environment variable marking every process of one grading run (see `_kill_marked`).
RUN_MARK = "WSLAB_GRADING_RUN"


@dataclass
class TestResult:
    name: str
    doc: str
    points: int
    outcome: str  # passed, failed, skipped, not run
    message: str = ""


@dataclass
class ExerciseResult:
    exercise: str
    tests: list[TestResult] = field(default_factory=list)
    verdict: str = ""
    """Why the run ended abnormally (timed out, crashed), or empty."""

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tests if t.outcome == "passed")

    @property
    def total(self) -> int:
        return sum(t.points for t in self.tests)

    @property
    def status(self) -> str:
        if self.verdict:
            return self.verdict.split(":")[0]
        if self.tests and all(t.outcome == "passed" for t in self.tests):
            return "passed"
        return "failed"

    @property
    def first_failure(self) -> str:
        for test in self.tests:
            if test.outcome != "passed":
                return f"{test.name}: {test.message or test.outcome}"
        return self.verdict


@dataclass
class Report:
    """The grades of one submission: one result per exercise; prints as a table."""

    submission: str
    results: list[ExerciseResult]

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.results)

    def to_dict(self) -> dict:
        return {
            "submission": self.submission,
            "points": self.points,
            "total": self.total,
            "exercises": [
                {**asdict(r), "points": r.points, "total": r.total, "status": r.status}
                for r in self.results
            ],
        }

    def __str__(self) -> str:
        width = max([len(r.exercise) for r in self.results] + [8])
        lines = [f"{'exercise':<{width}}  {'points':>7}  {'result':<9}  first failure"]
        for r in self.results:
            failure = "" if r.status == "passed" else _one_line(r.first_failure, 90)
            lines.append(
                f"{r.exercise:<{width}}  {r.points:>3} / {r.total:<3} {r.status:<9}  "
                f"{failure}".rstrip()
            )
        lines.append(f"{'total':<{width}}  {self.points:>3} / {self.total}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r.exercise)}</td><td>{r.points} / {r.total}</td>"
            f"<td style='color:{'green' if r.status == 'passed' else '#b00'}'>{r.status}</td>"
            f"<td>{'' if r.status == 'passed' else html.escape(r.first_failure)}</td></tr>"
            for r in self.results
        )
        return (
            "<table><thead><tr><th>exercise</th><th>points</th><th>result</th>"
            f"<th>first failure</th></tr></thead><tbody>{rows}</tbody><tfoot><tr><th>total</th>"
            f"<th>{self.points} / {self.total}</th><th></th><th></th></tr></tfoot></table>"
        )


def exercises_available() -> list[str]:
    """The exercises that have tests, e.g. ``["ex01_accept_key", ...]``."""
    return sorted(p.stem.removeprefix("test_") for p in TESTS.glob("test_ex*.py"))


def resolve(names: list[str] | None) -> list[str]:
    """Accept ``ex01`` or ``ex01_accept_key``; None means every exercise."""
    available = exercises_available()
    if not names:
        return available
    chosen = []
    for name in names:
        matches = [e for e in available if e == name or e.split("_")[0] == name]
        if not matches:
            raise ValueError(f"no exercise {name!r}; there are: {', '.join(available)}")
        chosen += matches
    return chosen


def grade(
    submission: Path | str = EXERCISES,
    exercises: list[str] | None = None,
    timeout: float = EXERCISE_TIMEOUT,
    test_timeout: float = TEST_TIMEOUT,
) -> Report:
    """Grade one submission folder, one subprocess per exercise.

    `timeout` bounds each exercise's whole run, `test_timeout` each of its tests.
    """
    folder = Path(submission).resolve()
    results = [
        _run_exercise(folder, exercise, timeout, test_timeout) for exercise in resolve(exercises)
    ]
    return Report(str(submission), results)


def grade_class(
    folder: Path | str,
    exercises: list[str] | None = None,
    timeout: float = EXERCISE_TIMEOUT,
    test_timeout: float = TEST_TIMEOUT,
) -> list[Report]:
    """Grade every submission (each subfolder of `folder`), in name order."""
    return [
        grade(sub, exercises, timeout, test_timeout)
        for sub in sorted(Path(folder).iterdir())
        if sub.is_dir() and not sub.name.startswith(".")
    ]


def write_gradebook(reports: list[Report], csv_path: Path, json_path: Path) -> None:
    """One row per submission, one column per exercise, and the total; details in JSON."""
    exercises = [r.exercise for r in reports[0].results] if reports else []
    with open(csv_path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["submission", *exercises, "total", "out of"])
        for report in reports:
            writer.writerow(
                [
                    Path(report.submission).name,
                    *(r.points for r in report.results),
                    report.points,
                    report.total,
                ]
            )
    json_path.write_text(json.dumps([r.to_dict() for r in reports], indent=2))


def check(exercise: str, submission: Path | str = EXERCISES) -> Report:
    """Grade one exercise from a lesson: ``wslab.check("ex03")`` shows a small table.

    The tests run in a subprocess, so nothing in the notebook's kernel changes: not its
    servers, not its imported modules, not its variables.
    """
    return grade(submission, [exercise])


# --- one exercise, one subprocess -------------------------------------------------------------


def _run_exercise(
    folder: Path, exercise: str, timeout: float, test_timeout: float
) -> ExerciseResult:
    with tempfile.TemporaryDirectory(prefix="wslab-grade-") as tmp:
        results_file = Path(tmp) / "results.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(TESTS / f"test_{exercise}.py"),
            f"--submission={folder}",
            "-p",
            "wslab.grading.plugin",
            f"--wslab-results={results_file}",
            f"--timeout={test_timeout}",
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-header",
            "-o",
            "addopts=",
        ]
        mark = uuid.uuid4().hex
        env = {
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            "WSLAB_SUBMISSION": str(folder),
            RUN_MARK: mark,
        }
        verdict = ""
        with open(Path(tmp) / "output.txt", "wb") as output:
            process = subprocess.Popen(
                command,
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                verdict = f"timed out: stopped after {timeout:g} s"
            finally:
                # Kill the whole group: whatever the submission started goes too; then what
                # escaped the group, so that it cannot disturb the next submission.
                _kill_group(process)
                _kill_marked(mark)
        data = _read_results(results_file)
        if data is None:
            tail = _tail(Path(tmp) / "output.txt")
            return ExerciseResult(exercise, [], verdict or f"crashed: {tail}")
        tests = [TestResult(**t) for t in data["tests"]]
        if verdict and data["finished"]:
            verdict = ""  # every test ran; only leftovers (threads, processes) were killed
        elif not verdict and not data["finished"]:
            verdict = f"crashed: the test run ended early ({_tail(Path(tmp) / 'output.txt')})"
        for test in tests:
            if test.outcome == "not run":
                test.message = verdict or "did not run"
        return ExerciseResult(exercise, tests, verdict)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _kill_marked(mark: str, passes: int = 10) -> None:
    """Kill every process whose environment has ``RUN_MARK=mark`` (Linux /proc; else no-op).

    Several passes, because a process may fork while we kill its parent. A process that
    clears its environment escapes this; the group kill and the time limits still apply.
    """
    if not os.path.isdir("/proc"):
        return
    needle = f"{RUN_MARK}={mark}".encode()
    for _ in range(passes):
        marked = [pid for pid in _pids() if pid != os.getpid() and needle in _environ(pid)]
        for pid in marked:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if not marked:
            return


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _environ(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return environ.read().split(b"\0")
    except OSError:  # gone meanwhile, or not ours to read
        return []


def _read_results(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _tail(path: Path, size: int = 2000) -> str:
    """The last lines of a (possibly huge) output, for a crash verdict."""
    with open(path, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - size))
        text = f.read().decode("utf-8", "replace").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return _one_line(lines[-1] if lines else "no output", 200)


def _one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
