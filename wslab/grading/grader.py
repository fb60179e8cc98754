"""The grader: run an exercise's tests against a submission, in a subprocess, with a time limit.

A submission is untrusted code: it may not import (syntax error), crash at import, loop
forever, block on a socket, print megabytes or leave threads and processes behind. So each
exercise of each submission runs in its own pytest subprocess, in its own process group,
with its output sent to a file and a wall-clock limit, and each test with a limit of its own
(`plugin.time_limit`); the subprocess records results after every test (see `plugin`), so a
killed run still yields a verdict for what ran, and says how it ended (`results.Status`).
Whatever the submission does, the grader returns a readable verdict per exercise, never hangs.
Afterwards every process of the run is killed: its process group, and (on Linux) whatever left
the group (setsid, a double fork) but still carries the run's mark in its environment.
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..exercises import EXERCISES, ROOT
from .plugin import TEST_TIMEOUT
from .results import ExerciseResult, Outcome, Report, Status, TestResult, one_line, summary

TESTS = ROOT / "tests" / "exercises"

#: Wall-clock limit for one exercise of one submission (each test has its own, `TEST_TIMEOUT`).
EXERCISE_TIMEOUT = 90.0

#: Environment variable marking every process of one grading run (see `_kill_marked`).
RUN_MARK = "WSLAB_GRADING_RUN"

#: The only pytest plugins the exercise tests need: loading every installed one (nbval and
#: its Jupyter imports...) would cost seconds per exercise of every submission.
PLUGINS = ["wslab.grading.plugin", "_hypothesis_pytestplugin"]


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


def expected_tests(exercise: str) -> list[TestResult]:
    """An exercise's tests and points, read from its test module without running anything.

    So that an exercise that could not run at all (a missing file, a crashed interpreter)
    still shows what it was worth: ``0 / 10``, not ``0 / 0``.
    """
    tree = ast.parse((TESTS / f"test_{exercise}.py").read_text())
    tests = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
            continue
        points, cases = 1, [""]
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call) or not decorator.args:
                continue
            name = ast.unparse(decorator.func)
            if name.endswith("mark.points"):
                points = ast.literal_eval(decorator.args[0])
            elif name.endswith("mark.parametrize") and len(decorator.args) > 1:
                values = decorator.args[1]  # one test per case
                if isinstance(values, ast.List | ast.Tuple):
                    cases = [f"[{i}]" for i in range(len(values.elts))]
        doc = summary(ast.get_docstring(node))
        tests += [TestResult(node.name + case, doc, points) for case in cases]
    return tests


def grade(
    submission: Path | str = EXERCISES,
    exercises: list[str] | None = None,
    timeout: float = EXERCISE_TIMEOUT,
    test_timeout: float = TEST_TIMEOUT,
    *,
    verbose: bool = False,
) -> Report:
    """Grade one submission folder, one subprocess per exercise.

    `timeout` bounds each exercise's whole run, `test_timeout` each of its tests.
    """
    folder = Path(submission).resolve()
    started = time.monotonic()
    results = [
        _run_exercise(folder, exercise, timeout, test_timeout) for exercise in resolve(exercises)
    ]
    return Report(folder.name, results, time.monotonic() - started, verbose)


def grade_class(
    folder: Path | str,
    exercises: list[str] | None = None,
    timeout: float = EXERCISE_TIMEOUT,
    test_timeout: float = TEST_TIMEOUT,
    jobs: int = 1,
) -> list[Report]:
    """Grade every submission (each subfolder of `folder`), in name order.

    `jobs` submissions are graded at once (each in its own subprocesses): most of a class's
    grading time is spent waiting on time limits, not computing.
    """
    submissions = [
        sub
        for sub in sorted(Path(folder).iterdir())
        if sub.is_dir() and not sub.name.startswith(".")
    ]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(lambda sub: grade(sub, exercises, timeout, test_timeout), submissions))


def gradebook_rows(reports: list[Report]) -> list[list[str | int]]:
    """The gradebook as rows: a header, then per submission its points and status per
    exercise, its total, what it was out of, and its overall status."""
    exercises = [r.exercise for r in reports[0].results] if reports else []
    header = ["submission"]
    for exercise in exercises:
        header += [exercise, f"{exercise} status"]
    rows: list[list[str | int]] = [[*header, "total", "out of", "status"]]
    for report in reports:
        row: list[str | int] = [report.submission]
        for result in report.results:
            row += [result.points, str(result.status)]
        rows.append([*row, report.points, report.total, str(report.status)])
    return rows


def write_gradebook(reports: list[Report], csv_path: Path, json_path: Path) -> None:
    """The gradebook in CSV (one row per submission) and JSON (the same, with every test).

    Both name submissions by their folder's name, and give the same points and statuses.
    """
    with open(csv_path, "w", newline="") as out:
        csv.writer(out).writerows(gradebook_rows(reports))
    json_path.write_text(json.dumps([r.to_dict() for r in reports], indent=2))


def check(exercise: str, submission: Path | str = EXERCISES) -> Report:
    """Grade one exercise from a lesson: ``wslab.check("ex03")`` shows every test.

    The tests run in a subprocess, so nothing in the notebook's kernel changes: not its
    servers, not its imported modules, not its variables.
    """
    return grade(submission, [exercise])


# --- one exercise, one subprocess -------------------------------------------------------------


#: pytest's exit statuses for its own faults (INTERNAL_ERROR, USAGE_ERROR): the test harness
#: failed, not the submission (whose import errors and exits the plugin records per test).
HARNESS_FAULTS = (3, 4)


def _run_exercise(
    folder: Path, exercise: str, timeout: float, test_timeout: float
) -> ExerciseResult:
    if not (folder / f"{exercise}.py").is_file():
        tests = expected_tests(exercise)
        for test in tests:
            test.message = f"no file {exercise}.py in the submission"
        return ExerciseResult(exercise, tests, Status.MISSING, f"no file {exercise}.py")
    result, returncode, ran = _run_once(folder, exercise, timeout, test_timeout)
    if not ran and returncode in HARNESS_FAULTS:
        # Seen once in CI (status 4 before any test, in a lesson's check cell) and never
        # reproduced: run once more rather than give a learner a crash that is not theirs.
        result, returncode, ran = _run_once(folder, exercise, timeout, test_timeout)
    return result


def _run_once(
    folder: Path, exercise: str, timeout: float, test_timeout: float
) -> tuple[ExerciseResult, int, bool]:
    """One pytest subprocess: its result, its exit status, and whether any test ran."""
    with tempfile.TemporaryDirectory(prefix="wslab-grade-") as tmp:
        results_file = Path(tmp) / "results.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(TESTS / f"test_{exercise}.py"),
            f"--submission={folder}",
            *(arg for plugin in _installed(PLUGINS) for arg in ("-p", plugin)),
            f"--wslab-results={results_file}",
            f"--wslab-test-timeout={test_timeout}",
            "-q",
            # No source in pytest's own tracebacks: formatting them parses source with `ast`,
            # which CPython 3.11 cannot do in two threads at once (gh-106905), and a failing
            # test often leaves a server thread formatting its own traceback. The plugin's
            # messages need no `ast`.
            "--tb=line",
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
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "WSLAB_SUBMISSION": str(folder),
            RUN_MARK: mark,
        }
        stopped = False
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
                stopped = True
            finally:
                # Kill the whole group: whatever the submission started goes too; then what
                # escaped the group, so that it cannot disturb the next submission.
                _kill_group(process)
                _kill_marked(mark)
        data = _read_results(results_file)
        result = _verdict(
            exercise,
            data,
            process.returncode,
            stopped and not (data or {}).get("finished"),
            timeout,
            _tail(Path(tmp) / "output.txt"),
        )
        return result, process.returncode, bool(data and data["tests"])


def _verdict(
    exercise: str,
    data: dict | None,
    returncode: int,
    stopped: bool,
    timeout: float,
    output: str,
) -> ExerciseResult:
    """Turn what the run left (results file, exit status, whether we stopped it) into a result."""
    if data is None or not data["tests"]:
        tests = expected_tests(exercise)
        data = {"finished": False, "running": "", "import_error": "", "tests": []}
    else:
        tests = [
            TestResult(t["name"], t["doc"], t["points"], Outcome(t["outcome"]), t["message"])
            for t in data["tests"]
        ]
    during = f" during {data['running']}" if data["running"] else ""
    if stopped:
        status, reason = Status.TIMED_OUT, f"stopped after {timeout:g} s{during}"
    elif not data["tests"]:  # pytest did not start, or could not collect the tests
        status = Status.CRASHED
        reason = f"the test process {_ending(returncode)} before any test ran: {output}"
    elif not data["finished"]:
        status, reason = Status.CRASHED, f"the test process {_ending(returncode)}{during}"
    elif data["import_error"]:
        status, reason = Status.CRASHED, data["import_error"]
    elif any(t.outcome is Outcome.TIMED_OUT for t in tests):
        status, reason = Status.TIMED_OUT, ""
    elif tests and all(t.outcome is Outcome.PASSED for t in tests):
        status, reason = Status.PASSED, ""
    else:
        status, reason = Status.FAILED, ""
    for test in tests:
        if test.outcome is Outcome.NOT_RUN:
            test.message = f"not run: {reason}" if reason else "not run"
    return ExerciseResult(exercise, tests, status, reason)


def _installed(modules: list[str]) -> list[str]:
    """The modules that can be imported here (a missing plugin must not stop every grade)."""
    return [name for name in modules if importlib.util.find_spec(name) is not None]


def _ending(returncode: int) -> str:
    """How a process ended, in words: ``exited with status 3``, ``was killed by SIGSEGV``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


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


#: Terminal colour codes, which pytest writes when the environment asks for colour.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _tail(path: Path, size: int = 2000) -> str:
    """The last lines of a (possibly huge) output, for a crash verdict."""
    with open(path, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - size))
        text = ANSI_ESCAPE.sub("", f.read().decode("utf-8", "replace")).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    # pytest's own errors ("ERROR: ...", "ImportError while loading conftest") say more than
    # its last line.
    errors = [line for line in lines if "Error" in line or line.startswith("ERROR")]
    return one_line((errors or lines or ["no output"])[-1], 200)
