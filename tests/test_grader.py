"""The grader: generated exercises score nothing, solutions score everything, and hostile
submissions get a clear verdict in bounded time without disturbing anything else."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import Resources

from wslab.exercises import EXERCISES, SOLUTIONS
from wslab.grading import grade, grade_class
from wslab.grading.grader import exercises_available, write_gradebook


def test_untouched_exercises_score_nothing_and_fail_cleanly():
    """Every test fails on the generated stubs, each with the stub's NotImplementedError."""
    report = grade(EXERCISES)
    assert [r.exercise for r in report.results] == exercises_available()
    assert report.points == 0 and report.total > 0
    for result in report.results:
        assert result.verdict == "", result.verdict
        for test in result.tests:
            assert test.outcome == "failed", (result.exercise, test.name)
            assert "NotImplementedError" in test.message, (result.exercise, test.name, test.message)


def test_solutions_earn_full_marks(tmp_path):
    """A copy of the solutions, graded as a submission, earns every point."""
    copy = shutil.copytree(SOLUTIONS, tmp_path / "copy")
    report = grade(copy)
    assert report.points == report.total > 0, str(report)


def test_grade_command_prints_the_table():
    """`python -m wslab grade` on the untouched exercises prints 0 of the total."""
    result = subprocess.run(
        [sys.executable, "-m", "wslab", "grade", "--exercise", "ex01"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["exercise", "points", "result"]
    assert lines[1].split()[:5] == ["ex01_accept_key", "0", "/", "10", "failed"]
    assert lines[-1].split() == ["total", "0", "/", "10"]


SOLVED = (SOLUTIONS / "ex01_accept_key.py").read_text()
HOSTILE = {
    "syntax_error": "def accept_key(key):\n    return (\n",
    "import_crash": "raise RuntimeError('crash at import')\n",
    "import_loop": "while True:\n    pass\n",
    "function_loop": "def accept_key(key):\n    while True:\n        pass\n",
    "blocked_socket": textwrap.dedent(
        """
        import socket
        def accept_key(key):
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen()
            server.accept()  # nobody ever connects
        """
    ),
    "huge_output": "def accept_key(key):\n    print('x' * 10_000_000)\n    return 'nope'\n",
    "exits": "import sys\nsys.exit(3)\n",
    "leaves_a_process": SOLVED
    + textwrap.dedent(
        """
        import subprocess, sys, threading
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        threading.Thread(target=lambda: __import__("time").sleep(600)).start()  # not a daemon
        """
    ),
    "correct": SOLVED,
}


@pytest.fixture
def classroom(tmp_path):
    for student, source in HOSTILE.items():
        (tmp_path / student).mkdir()
        (tmp_path / student / "ex01_accept_key.py").write_text(source)
    return tmp_path


def test_hostile_submissions_get_clear_verdicts_in_bounded_time(classroom):
    """Broken and hostile submissions each get the right verdict, within their time limits."""
    before = Resources.now()
    started = time.monotonic()
    reports = {
        Path(r.submission).name: r
        for r in grade_class(classroom, ["ex01"], timeout=20, test_timeout=2)
    }
    elapsed = time.monotonic() - started
    assert elapsed < 20 * len(HOSTILE)  # every submission bounded by its own limit
    result = {name: report.results[0] for name, report in reports.items()}

    assert result["correct"].status == "passed" and result["correct"].points == 10
    assert result["leaves_a_process"].points == 10  # its leftovers are killed, not graded
    assert "line 2" in result["syntax_error"].first_failure
    assert "SyntaxError" in result["syntax_error"].first_failure
    assert "RuntimeError: crash at import" in result["import_crash"].first_failure
    assert "SystemExit: 3" in result["exits"].first_failure
    for looping in ("import_loop", "function_loop", "blocked_socket"):
        assert result[looping].points == 0
        assert result[looping].status == "timed out" or "Timeout" in result[looping].first_failure
    assert result["huge_output"].points == 0
    assert len(result["huge_output"].first_failure) < 600
    # The grader's own process is left as it was: no thread, socket or child left over.
    assert Resources.now().threads <= before.threads
    children = subprocess.run(
        ["pgrep", "-f", "time.sleep\\(600\\)"], capture_output=True, text=True
    ).stdout.split()
    assert children == []


def test_gradebook_has_a_row_per_submission(classroom, tmp_path):
    """The class gradebook (CSV and JSON) has one row per submission with its points."""
    for name in list(HOSTILE)[:-1]:
        if name != "syntax_error":
            shutil.rmtree(classroom / name)
    reports = grade_class(classroom, ["ex01"], timeout=20, test_timeout=2)
    write_gradebook(reports, tmp_path / "book.csv", tmp_path / "book.json")
    rows = list(csv.reader((tmp_path / "book.csv").open()))
    assert rows == [
        ["submission", "ex01_accept_key", "total", "out of"],
        ["correct", "10", "10", "10"],
        ["syntax_error", "0", "0", "10"],
    ]
    details = json.loads((tmp_path / "book.json").read_text())
    assert [d["points"] for d in details] == [10, 0]


def test_unknown_exercise_is_a_clear_error():
    """Asking for an exercise that does not exist names the ones that do."""
    with pytest.raises(ValueError, match="ex01_accept_key"):
        grade(EXERCISES, ["ex99"])
