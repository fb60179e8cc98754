"""A fresh copy of the course and a learner's shell: what the fresh-install tests share.

pip keeps its cache (~/.cache/pip), so after the first run an install takes ~30-40 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What never goes into a copy: virtualenvs, VCS data, caches, build output.
IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "*.egg-info", "build", ".pytest_cache", ".ruff_cache"
)

#: A Python that is not a venv's: the one this venv was made from.
BASE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"

#: Seconds for a venv and its install (2 shared cores, a cold pip cache).
INSTALL_TIMEOUT = 900


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
