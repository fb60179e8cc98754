"""A new learner's install, in a fresh venv from a copy of the course: grading works with it.

`make install` (what `make lab` runs first) and the README's commands without make each build a
venv with the course's dependencies only, never the test extra. Then the grader, run the way the
README says, must give the solutions full marks and the stubs none: whatever the grader and the
exercise tests import has to be a course dependency.

pip keeps its cache (~/.cache/pip), so after the first run an install takes ~30-40 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lab_server import isolated_env, running_lab

ROOT = Path(__file__).resolve().parents[2]

#: What never goes into a copy: virtualenvs, VCS data, caches, build output.
IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "*.egg-info", "build", ".pytest_cache", ".ruff_cache"
)

#: A Python that is not a venv's: the one this venv was made from.
BASE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"

#: Seconds for a venv and its install (2 shared cores, a cold pip cache).
INSTALL_TIMEOUT = 900

#: An install and two full gradings exceed pytest's default limit (300 s) on a loaded machine.
pytestmark = [pytest.mark.timeout(2 * INSTALL_TIMEOUT), pytest.mark.minutes]


def learner_env() -> dict[str, str]:
    """The environment of a shell that has not activated anything: the course comes from the
    copy's own venv, not from this test run's PYTHONPATH or venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != bindir)
    return env


def copy_course(tmp_path_factory, name: str) -> Path:
    course = tmp_path_factory.mktemp(name) / "course"
    shutil.copytree(ROOT, course, ignore=IGNORE)
    return course


def run(
    command: list[str], cwd: Path, timeout: float = INSTALL_TIMEOUT, ok: tuple[int, ...] = (0,)
) -> str:
    """Run `command` as the learner would; fail the test with its output if its exit status
    is not in `ok`."""
    done = subprocess.run(
        command, cwd=cwd, env=learner_env(), capture_output=True, text=True, timeout=timeout
    )
    if done.returncode not in ok:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def grade(python: Path, course: Path, *args: str, full_marks: bool = True) -> dict:
    """`python -m wslab grade ARGS --json`: the report, as the grader wrote it. The grader
    exits 0 on full marks; short of them it may exit 1, which is then no failure to run."""
    report = course / "report.json"
    command = [str(python), "-m", "wslab", "grade", *args, "--json", str(report)]
    run(command, cwd=course, ok=(0,) if full_marks else (0, 1))
    return json.loads(report.read_text())


def assert_course_only(python: Path, course: Path) -> None:
    """The venv holds the course's wslab (the copy's) and none of the test extra's tools."""
    probe = (
        "import importlib.util as u, wslab; "
        "print(wslab.__file__); print(u.find_spec('nbval'), u.find_spec('playwright'))"
    )
    where, extras = run([str(python), "-c", probe], cwd=course).splitlines()
    assert Path(where).is_relative_to(course)
    assert extras == "None None"


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


def readme_commands() -> list[str]:
    """The README's commands for machines without make, rewritten for POSIX paths."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Without make", 1)[1]
    block = re.search(r"```\w*\n(.*?)```", section, flags=re.DOTALL).group(1)
    return [line.replace("\\", "/").replace("/Scripts/", "/bin/") for line in block.splitlines()]


def test_the_readme_commands_without_make():
    """The README's three commands are a venv, an editable install and `wslab lab`."""
    assert readme_commands() == [
        "python -m venv .venv",
        ".venv/bin/python -m pip install -e .",
        ".venv/bin/python -m wslab lab",
    ]


def test_the_pip_path_opens_the_course_and_grades(tmp_path_factory):
    """The README's commands, run as written: JupyterLab serves the copy's lesson 00, and the
    same venv grades (one exercise: the full grading is the `make install` test's)."""
    course = copy_course(tmp_path_factory, "pip-path")
    venv, install, lab = (line.split() for line in readme_commands())
    run([str(BASE_PYTHON), *venv[1:]], cwd=course)
    python = course / ".venv" / "bin" / "python"
    run([str(python), *install[1:]], cwd=course)
    assert_course_only(python, course)
    command = [str(python), *lab[1:], "--no-browser", "--ServerApp.port=0"]
    with running_lab(command, isolated_env(course.parent, learner_env()), cwd=course) as lab:
        assert lab.root_dir == course
        status, _ = lab.get("api/contents/notebooks/00_welcome.ipynb")
        assert status == 200
    report = grade(python, course, "solutions", "-e", "ex01")
    assert [(e["exercise"], e["points"]) for e in report["exercises"]] == [("ex01_accept_key", 10)]
