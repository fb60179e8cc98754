"""Generating exercises from solutions: stubs where the markers are, errors where they are wrong."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from wslab.exercises import ROOT, MarkerError, build, strip_solutions

SOLUTION = '''"""Instructions."""


def double(x):
    """Twice x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


class Box:
    def size(self):
        ### BEGIN SOLUTION
        if True:
            return 1
        ### END SOLUTION
'''


def test_regions_become_stubs_at_their_indentation():
    """Each marked region becomes one line raising NotImplementedError, indented like the region."""
    stripped = strip_solutions(SOLUTION, "ex99")
    assert "2 * x" not in stripped and "return 1" not in stripped
    stub = 'raise NotImplementedError("ex99: write this part (see the instructions at the top)")'
    assert f"    {stub}\n" in stripped
    assert f"        {stub}\n" in stripped
    assert '"""Twice x."""' in stripped and '"""Instructions."""' in stripped
    namespace: dict = {}
    exec(compile(stripped, "ex99", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="ex99"):
        namespace["double"](2)


@pytest.mark.parametrize(
    "source, problem",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "never closed"),
        ("def f():\n    return 1\n    ### END SOLUTION\n", "without a"),
        (
            "def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n",
            "inside the region",
        ),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "indented inside a block"),
        ("def f():\n    ## BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", "malformed"),
        ("def f():\n    return 1\n", "no ### BEGIN SOLUTION region"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n  ### END SOLUTION\n", "not indented"),
    ],
)
def test_malformed_markers_are_errors(source, problem):
    """Markers that do not pair up are an error naming the line, never a silent skip."""
    with pytest.raises(MarkerError, match=problem):
        strip_solutions(source, "ex99")


def test_check_reports_missing_and_stale_then_build_fixes_them(tmp_path):
    """--check reports missing and out-of-date exercises; build writes them; then all is current."""
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    (solutions / "ex98_first.py").write_text(SOLUTION)
    (solutions / "ex99_second.py").write_text(SOLUTION)
    exercises.mkdir()
    (exercises / "ex99_second.py").write_text("stale")
    statuses = {o.exercise: o.status for o in build(True, solutions, exercises)}
    assert statuses == {"ex98": "missing", "ex99": "out of date"}
    assert {o.status for o in build(False, solutions, exercises)} == {"written"}
    assert {o.status for o in build(True, solutions, exercises)} == {"up to date"}


def test_committed_exercises_are_current():
    """The exercises in the repository are exactly what the solutions generate."""
    assert {o.status for o in build(check=True)} == {"up to date"}


def test_make_test_proves_each_candidate_ends_as_it_must(tmp_path):
    """Proving the exercise tests fails when a stub passes a test, when a listed mistake
    passes the test that must catch it, and when a right variant fails; it passes otherwise."""
    tests = tmp_path / "tests"
    (tests / "exercises" / "variants" / "ex01_accept_key").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "conftest.py", tests)
    for name in ("conftest.py", "grading_support.py", "test_ex01_accept_key.py"):
        shutil.copy(ROOT / "tests" / "exercises" / name, tests / "exercises")
    solved = (ROOT / "solutions" / "ex01_accept_key.py").read_text()
    for folder, source in [("solutions", solved), ("exercises", solved)]:  # a stub that passes
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "ex01_accept_key.py").write_text(source)
    variants = tests / "exercises" / "variants" / "ex01_accept_key"
    (variants / "right_wrong.py").write_text("def accept_key(key):\n    return key\n")
    (variants / "mistakes.py").write_text(
        "from grading_support import Mistake\n"
        "MISTAKES = [Mistake('noop', 'changes nothing', fails=('test_rfc_example',),"
        " edits=(('import base64', 'import base64'),))]\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/exercises"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    failed = sorted(
        line.split("::")[1].split()[0]
        for line in result.stdout.splitlines()
        if line.startswith("FAILED")
    )
    assert failed == sorted(
        [
            f"{test}[stub]"
            for test in (
                "test_rfc_example",
                "test_agrees_with_websockets",
                "test_returns_text",
                "test_key_used_as_received",
            )
        ]
        + ["test_rfc_example[mistake_noop]"]
        + [
            f"{test}[right_wrong]"
            for test in ("test_rfc_example", "test_agrees_with_websockets", "test_returns_text")
        ]
    ), result.stdout
    assert "passed on stub, which fails every test on NotImplementedError" in result.stdout
    assert "passed on mistake_noop, which fails this test: changes nothing" in result.stdout
