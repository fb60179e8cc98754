"""Grading the graders: run an exercise's tests in-process against a submission we wrote.

`tests/exercises/variants/<exercise>/` holds submissions whose grade is known in advance:
``right_*.py``, correct solutions in another style than ours, must earn full marks;
``wrong_*.py`` each make one mistake a learner makes, and must fail the test named by their
``FAILS`` constant, with a message containing their ``SAYS`` constant (what a learner reads).

A wrong variant usually differs from the reference solution in one function or one line:
`inherit` runs the solution's code (patched, for a one-line mistake) in the variant's own
namespace, so the variant only writes what it gets wrong, and the solution's other functions
call that.
"""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from wslab.exercises import SOLUTIONS

TESTS = Path(__file__).resolve().parent
VARIANTS = TESTS / "variants"


def inherit(namespace: dict, exercise: str, *patches: tuple[str, str]) -> None:
    """Run solutions/`exercise`.py in `namespace` (a variant's globals()), then let it override.

    Each patch ``(old, new)`` first replaces the one occurrence of `old` in the solution's
    source: a mistake of one line, stated in one line.
    """
    path = SOLUTIONS / f"{exercise}.py"
    source = path.read_text()
    for old, new in patches:
        assert source.count(old) == 1, f"{old!r} is not once in {path.name}: update the variant"
        source = source.replace(old, new)
    docstring = namespace.get("__doc__")
    exec(compile(source, str(path), "exec"), namespace)
    namespace["__doc__"] = docstring


def variants(exercises: list[str], kind: str) -> list:
    """pytest params (exercise, path) for every `kind` ("right", "wrong") variant."""
    return [
        pytest.param(exercise, path, id=f"{exercise[:4]}-{path.stem}")
        for exercise in exercises
        for path in sorted((VARIANTS / exercise).glob(f"{kind}_*.py"))
    ]


def expectations(path: Path) -> tuple[str, str]:
    """A wrong variant's FAILS (the test it must fail) and SAYS (part of that test's message)."""
    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ("FAILS", "SAYS"):
                    found[target.id] = node.value.value
    assert set(found) == {"FAILS", "SAYS"}, f"{path.name} must set FAILS and SAYS"
    return found["FAILS"], found["SAYS"]


@dataclass
class Outcome:
    outcome: str  # passed, failed, skipped
    message: str


class _Recorder:
    """A pytest plugin keeping each test's outcome and first failure message."""

    def __init__(self) -> None:
        self.results: dict[str, Outcome] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.rpartition("::")[2]
        if report.failed and (name not in self.results or self.results[name].outcome != "failed"):
            self.results[name] = Outcome("failed", _message(report))
        elif report.skipped:
            self.results[name] = Outcome("skipped", "")
        elif report.when == "call" and name not in self.results:
            self.results[name] = Outcome("passed", "")


def _message(report: pytest.TestReport) -> str:
    """The whole message of a failure (the grader shows its start)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    return crash.message if crash is not None else str(report.longrepr)


def grade(exercise: str, variant: Path, folder: Path, only: str = "") -> dict[str, Outcome]:
    """Run test_`exercise`.py (or only its test `only`) on `variant`, in this process.

    The variant is copied to `folder` under the exercise's file name, as a learner's
    submission folder would hold it.
    """
    shutil.copy(variant, folder / f"{exercise}.py")
    target = str(TESTS / f"test_{exercise}.py") + (f"::{only}" if only else "")
    recorder = _Recorder()
    arguments = [target, f"--submission={folder}", "-p", "no:cacheprovider", "-qq"]
    pytest.main([*arguments, "--no-header", "-o", "addopts="], plugins=[recorder])
    return recorder.results
