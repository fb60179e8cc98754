"""A new learner's install, in a fresh venv from a copy of the course: grading works with it.

`make install` (what `make lab` runs first) builds a venv with the course's dependencies only,
never the test extra. Then the grader, run the way the README says, must give the solutions full
marks and the stubs none: whatever the grader and the exercise tests import has to be a course
dependency. (The README's commands without make: test_pip_install.py, a module of its own so
that the two installs can run at the same time.)
"""

from __future__ import annotations

import shutil

import pytest
from fresh_course import BASE_PYTHON, INSTALL_TIMEOUT, assert_course_only, copy_course, grade, run

#: An install and two full gradings exceed pytest's default limit (300 s) on a loaded machine.
pytestmark = [pytest.mark.timeout(2 * INSTALL_TIMEOUT), pytest.mark.minutes]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A copy of the course after `make install`, with nothing else installed."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed (the course's README needs it)")
    course = copy_course(tmp_path_factory, "make-install")
    run(["make", "install", f"PYTHON={BASE_PYTHON}"], cwd=course)
    return course


def test_make_install_grades_solutions_full_and_stubs_zero(made):
    """After `make install` only: every solution gets full marks, every untouched exercise
    none (and still shows the points it was worth)."""
    python = made / ".venv" / "bin" / "python"
    assert_course_only(python, made)
    count = len(list((made / "exercises").glob("ex*.py")))
    solutions = grade(python, made, "solutions")["exercises"]
    assert len(solutions) == count >= 10
    assert all(e["points"] == e["total"] > 0 for e in solutions), solutions
    stubs = grade(python, made, full_marks=False)["exercises"]
    assert len(stubs) == count
    assert all(e["points"] == 0 and e["total"] > 0 for e in stubs), stubs
