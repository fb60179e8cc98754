"""The README's commands without make, run as written in a fresh copy of the course: a venv, an
editable install of the course's dependencies only, and `wslab lab`; then grading works."""

from __future__ import annotations

import re

import pytest
from fresh_course import (
    BASE_PYTHON,
    INSTALL_TIMEOUT,
    ROOT,
    assert_course_only,
    copy_course,
    grade,
    learner_env,
    run,
)
from lab_server import isolated_env, running_lab

pytestmark = [pytest.mark.timeout(2 * INSTALL_TIMEOUT), pytest.mark.minutes]


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
