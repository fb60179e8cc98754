"""The grader: hostile submissions get a clear verdict in bounded time without disturbing
anything else; verdicts, messages and gradebooks say what happened in words a learner reads.

The process handling (subprocesses, limits, leftovers) is proven on ex01, whose tests are
fast. That every solution earns full marks and no test passes on a stub, for every exercise,
is proven in-process by the exercise tests themselves (tests/exercises/conftest.py).
"""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import Resources
from hypothesis import given, settings
from hypothesis import strategies as st

from wslab.exercises import EXERCISES, SOLUTIONS
from wslab.grading import Outcome, Status, grade, grade_class, messages
from wslab.grading.grader import _verdict, exercises_available, expected_tests, write_gradebook
from wslab.grading.plugin import TimeLimitExceeded, time_limit

SOLVED = (SOLUTIONS / "ex01_accept_key.py").read_text()
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="

# --- in-process: verdicts, messages, time limits ----------------------------------------------


def test_every_exercise_is_worth_points_known_without_running_it():
    """Each exercise's tests and points are read from its test module, without importing it."""
    for exercise in exercises_available():
        tests = expected_tests(exercise)
        assert tests and sum(t.points for t in tests) > 0, exercise
        assert all(t.doc for t in tests), f"{exercise}: every test has a docstring"


@pytest.mark.parametrize(
    "returncode, stopped, status, reason",
    [
        (-signal.SIGSEGV, False, Status.CRASHED, "was killed by SIGSEGV during test_x"),
        (3, False, Status.CRASHED, "exited with status 3 during test_x"),
        (-signal.SIGKILL, True, Status.TIMED_OUT, "stopped after 20 s during test_x"),
    ],
)
def test_a_run_that_ended_early_says_why(returncode, stopped, status, reason):
    """An exit status, a signal or the time limit is named, with the test that was running;
    the tests that ran keep their points, the others are "not run" and say why."""
    data = {
        "finished": False,
        "running": "test_x",
        "import_error": "",
        "tests": [
            {"name": "test_a", "doc": "A.", "points": 3, "outcome": "passed", "message": ""},
            {"name": "test_x", "doc": "X.", "points": 7, "outcome": "not run", "message": ""},
        ],
    }
    result = _verdict("ex01_accept_key", data, returncode, stopped, 20, "")
    assert (result.status, result.points, result.total) == (status, 3, 10)
    assert reason in result.reason
    assert result.tests[1].outcome is Outcome.NOT_RUN and reason in result.tests[1].message


def test_a_run_that_never_started_still_shows_the_points():
    """If the test process dies before recording anything, the exercise is 0 / 10, crashed,
    with the last line of its output (e.g. a missing pytest)."""
    result = _verdict("ex01_accept_key", None, 1, False, 20, "No module named pytest")
    assert (result.status, result.points, result.total) == (Status.CRASHED, 0, 10)
    assert "exited with status 1" in result.reason and "No module named pytest" in result.reason


def learner(filename: str) -> bool:
    return filename.endswith("learner_code.py")


def raise_from_learner(source: str, call: str) -> BaseException:
    namespace: dict = {}
    exec(compile(textwrap.dedent(source), "/somewhere/learner_code.py", "exec"), namespace)
    try:
        eval(call, namespace)
    except BaseException as exc:  # noqa: BLE001 - the point is to look at it
        return exc
    raise AssertionError("did not raise")


def test_crash_in_learner_code_names_their_file_and_line():
    """An exception raised in the learner's function names their file, line and function."""
    error = raise_from_learner("def f(key):\n    return key[99]\n", "f('abc')")
    message = messages.describe(error, is_learner=learner)
    assert message.splitlines() == [
        "IndexError: string index out of range",
        "(raised in learner_code.py, line 2, in f)",
    ]


def test_messages_keep_the_tests_words_and_drop_pytest_internals():
    """A test's own message is kept whole (newlines too) without pytest's introspection; object
    reprs lose their addresses and paths; "-v" hints and bare "DID NOT RAISE" are gone."""
    own = AssertionError("for key 'x' expected 'a'\ngot 'b'\nassert 'b' == 'a'\n  - a\n  + b")
    assert messages.describe(own, is_learner=learner) == "for key 'x' expected 'a'\ngot 'b'"
    noisy = (
        "assert <function accept_key at 0x7f3a2b1c4d50> is None\n"
        " +  where <module 'submission_ex01' from '/home/me/ex01.py'> = x\n"
        "Use -v to get more diff"
    )
    cleaned = messages.clean(noisy)
    assert "0x" not in cleaned and "/home/me" not in cleaned and "-v" not in cleaned
    assert "accept_key is None" in cleaned and "your module" in cleaned
    with pytest.raises(BaseException) as caught:
        with pytest.raises(ValueError):
            pass
    message = messages.describe(caught.value, is_learner=learner, test_file=__file__)
    assert "DID NOT RAISE" not in message and "expected your code to raise ValueError" in message
    assert "with pytest.raises(ValueError)" in message  # the test's line says which call


def test_a_bare_assert_shows_its_line_in_the_test():
    """A failing ``assert a != b`` without a message is shown by its source line in the test."""
    with pytest.raises(AssertionError) as caught:
        first, second = "same", "same"
        assert first != second
    message = messages.describe(caught.value, is_learner=learner, test_file=__file__)
    assert message.splitlines()[0].endswith("assert first != second")


def test_time_limit_is_not_swallowed_by_hypothesis_or_except_exception():
    """A loop inside a hypothesis test (behind ``except Exception``) ends at the test's own
    limit: hypothesis does not catch the limit and go on generating examples."""

    def learners_loop():
        try:
            while True:
                pass
        except Exception:  # noqa: BLE001 - a learner's habit the limit must survive
            return

    @settings(max_examples=1000, deadline=None, database=None)
    @given(st.integers())
    def looping_test(n):
        learners_loop()

    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        with time_limit(0.3):
            looping_test()
    assert time.monotonic() - started < 5


def test_a_lost_alarm_rings_again():
    """An alarm swallowed once (as when it lands in a finalizer, where no exception escapes)
    rings again a second later: the block still ends. In a subprocess, so that a regression
    fails this test instead of looping for ever."""
    program = textwrap.dedent(
        """
        import time
        from wslab.grading.plugin import TimeLimitExceeded, time_limit

        started = time.monotonic()
        try:
            with time_limit(0.2):
                try:
                    while True:
                        pass
                except TimeLimitExceeded:
                    pass  # lost
                while True:
                    pass
        except TimeLimitExceeded:
            print(f"ended after {time.monotonic() - started:.1f} s")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ended after")


# --- subprocesses: the CLI and hostile submissions, on ex01 -------------------------------------


def test_grade_command_shows_each_test_and_exits_1_below_full_marks():
    """`python -m wslab grade -e ex01` on the stub shows every test with its whole message
    (the default for one exercise) and exits with status 1: not full marks."""
    result = subprocess.run(
        [sys.executable, "-m", "wslab", "grade", "--exercise", "ex01"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ex01_accept_key: 0 / 10 points, failed"
    assert lines[1].split() == ["FAIL", "0/3", "test_rfc_example"]
    assert "| NotImplementedError: ex01: write this part" in result.stdout
    assert "(raised in ex01_accept_key.py, line" in result.stdout
    assert str(EXERCISES) not in result.stdout  # names, not paths
    usage = subprocess.run(
        [sys.executable, "-m", "wslab", "grade", "--help"], capture_output=True, text=True
    ).stdout
    assert "Exit status: 0 when everything graded earned full marks, 1 when" in " ".join(
        usage.split()
    )


HOSTILE = {
    "syntax_error": "def accept_key(key):\n    return (\n",
    "import_crash": "raise RuntimeError('crash at import')\n",
    "import_loop": "import time\nwhile True:\n    time.sleep(0)\n",
    "loops_on_one_key": SOLVED.replace(
        "    ### BEGIN SOLUTION\n",
        f"    ### BEGIN SOLUTION\n    while key == {RFC_KEY!r}:\n        pass\n",
    ),
    "blocked_socket": SOLVED.replace(
        "    ### BEGIN SOLUTION\n",
        "    ### BEGIN SOLUTION\n"
        "    if key.endswith(' '):\n"
        "        import socket\n"
        "        server = socket.create_server(('127.0.0.1', 0))\n"
        "        server.accept()  # nobody ever connects\n",
    ),
    "huge_output": "def accept_key(key):\n    print('x' * 10_000_000)\n    return 'nope'\n",
    "exits": "import sys\nsys.exit(3)\n",
    "os_exit": "import os\ndef accept_key(key):\n    os._exit(3)\n",
    "segfault": "import os, signal\ndef accept_key(key):\n    os.kill(os.getpid(), signal.SIGSEGV)",
    "leaves_a_process": SOLVED
    + textwrap.dedent(
        """
        import subprocess, sys, threading
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        threading.Thread(target=lambda: __import__("time").sleep(600)).start()  # not a daemon
        """
    ),
    "correct": SOLVED,
    "missing": None,
}


@pytest.fixture
def classroom(tmp_path):
    for student, source in HOSTILE.items():
        (tmp_path / student).mkdir()
        if source is not None:
            (tmp_path / student / "ex01_accept_key.py").write_text(source)
    return tmp_path


def test_hostile_submissions_get_clear_verdicts_in_bounded_time(classroom, tmp_path):
    """Broken and hostile submissions each get the right status and a reason in words, within
    their limits; the gradebook's CSV and JSON agree; nothing is left running."""
    before = Resources.now()
    started = time.monotonic()
    reports = grade_class(classroom, ["ex01"], timeout=20, test_timeout=1, jobs=4)
    elapsed = time.monotonic() - started
    assert elapsed < 20 * len(HOSTILE)  # every submission bounded by its own limit
    result = {r.submission: r.results[0] for r in reports}

    def verdict(name: str) -> tuple:
        return (result[name].status, result[name].points, result[name].total)

    assert verdict("correct") == (Status.PASSED, 10, 10)
    assert verdict("leaves_a_process") == (Status.PASSED, 10, 10)  # leftovers killed
    assert verdict("missing") == (Status.MISSING, 0, 10)
    for name in ("syntax_error", "import_crash", "exits", "import_loop"):
        assert verdict(name) == (Status.CRASHED, 0, 10), result[name]
    assert "line 2" in result["syntax_error"].reason
    assert "SyntaxError" in result["syntax_error"].reason
    assert "RuntimeError: crash at import" in result["import_crash"].reason
    assert "SystemExit: 3" in result["exits"].reason
    assert "did not finish within 1 s" in result["import_loop"].reason
    assert verdict("os_exit") == (Status.CRASHED, 0, 10)
    assert "exited with status 3 during test_rfc_example" in result["os_exit"].reason
    assert verdict("segfault") == (Status.CRASHED, 0, 10)
    assert "killed by SIGSEGV during test_rfc_example" in result["segfault"].reason
    # A loop costs the tests it happens in, not the others; each says where it was.
    assert verdict("loops_on_one_key") == (Status.TIMED_OUT, 4, 10)
    looped = next(t for t in result["loops_on_one_key"].tests if t.name == "test_rfc_example")
    assert looped.outcome is Outcome.TIMED_OUT
    assert "did not finish within 1 s" in looped.message
    assert "the test was at test_ex01_accept_key.py, line" in looped.message
    assert "your code was at ex01_accept_key.py, line" in looped.message
    assert verdict("blocked_socket") == (Status.TIMED_OUT, 8, 10)
    assert "server.accept()" in result["blocked_socket"].tests[-1].message
    assert verdict("huge_output")[:2] == (Status.FAILED, 0)
    assert len(result["huge_output"].first_failure) < 600

    write_gradebook(reports, tmp_path / "book.csv", tmp_path / "book.json")
    rows = list(csv.DictReader((tmp_path / "book.csv").open()))
    details = json.loads((tmp_path / "book.json").read_text())
    assert [row["submission"] for row in rows] == [d["submission"] for d in details]
    assert [row["submission"] for row in rows] == sorted(HOSTILE)
    for row, detail in zip(rows, details, strict=True):
        assert row["ex01_accept_key"] == str(detail["exercises"][0]["points"])
        assert row["ex01_accept_key status"] == detail["exercises"][0]["status"]
        assert (row["total"], row["out of"]) == (str(detail["points"]), str(detail["total"]))
        assert row["status"] == detail["status"] == str(result[row["submission"]].status)
    assert "/" not in (tmp_path / "book.csv").read_text()  # names, never paths

    # The grader's own process is left as it was: no thread, socket or child left over.
    assert Resources.now().threads <= before.threads
    children = subprocess.run(
        ["pgrep", "-f", "time.sleep\\(600\\)"], capture_output=True, text=True
    ).stdout.split()
    assert children == []


def test_a_loop_inside_a_property_based_test_costs_only_that_test(tmp_path):
    """A parser that loops forever on one input that only hypothesis' test feeds (the whole
    stream at once: its first example) loses that test's point, on that test's own limit; every
    other test runs and gives its points (hypothesis does not swallow the limit)."""
    solution = (SOLUTIONS / "ex04_parse_frames.py").read_text()
    marker = "        self._buffer += data\n"
    looping = marker + "        while len(data) == 359:  # the whole stream\n            pass\n"
    (tmp_path / "ex04_parse_frames.py").write_text(solution.replace(marker, looping))
    result = grade(tmp_path, ["ex04"], test_timeout=1).results[0]
    assert (result.status, result.points, result.total) == (Status.TIMED_OUT, 9, 10), result
    outcomes = {t.name: t.outcome for t in result.tests}
    assert outcomes.pop("test_any_chunking") is Outcome.TIMED_OUT
    assert set(outcomes.values()) == {Outcome.PASSED}


def test_check_shows_every_test_stably_and_the_time_in_html():
    """``wslab.check`` output: text with each test, its points and whole message, the same
    from run to run (no timing, no path); HTML collapsible, with how long grading took."""
    report = grade(EXERCISES, ["ex01"])
    text = str(report)
    assert text.splitlines()[0] == "ex01_accept_key: 0 / 10 points, failed"
    assert text.count("NotImplementedError") == 4
    assert not re.search(r"\d s\b", text) and str(EXERCISES) not in text
    page = report._repr_html_()
    assert "<details><summary>" in page and "graded in " in page  # closed: nothing written yet
    assert "NotImplementedError" in page.split("</summary>")[0]  # the first failure shows
    assert "<pre" in page and "test_rfc_example" in page


def test_unknown_exercise_is_a_clear_error():
    """Asking for an exercise that does not exist names the ones that do."""
    with pytest.raises(ValueError, match="ex01_accept_key"):
        grade(EXERCISES, ["ex99"])


def test_cli_exit_status_for_a_class(classroom, tmp_path):
    """Class mode exits 0 only when every submission earned full marks."""
    for name in HOSTILE:
        if name != "correct":
            for path in (classroom / name).glob("*"):
                path.unlink()
            (classroom / name).rmdir()
    command = [sys.executable, "-m", "wslab", "grade", str(classroom), "-e", "ex01"]
    command += ["--out", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "correct: 10 / 10 passed\n" in result.stdout
    assert (Path(tmp_path / "out") / "gradebook.csv").exists()
