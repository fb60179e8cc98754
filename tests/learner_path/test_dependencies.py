"""Grading is part of the course: what the grader and the exercise tests import is installed
by `make install` (pyproject's [project] dependencies), not only by the test extra.

The quick, static half of test_fresh_install.py and test_pip_install.py: it names the
missing package at once.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: What `python -m wslab grade` runs: the grader, the exercise tests and what they import.
GRADING_CODE = [
    *sorted((ROOT / "wslab" / "grading").glob("*.py")),
    *sorted((ROOT / "tests" / "exercises").glob("*.py")),
    ROOT / "tests" / "helpers.py",
    ROOT / "tests" / "conftest.py",
]

#: Modules that come with the course itself (wslab, the tests' own helper modules).
LOCAL = {"wslab"} | {p.stem for p in (ROOT / "tests").rglob("*.py")}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of the modules `path` imports (absolute imports only)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_what_grading_imports_is_a_course_dependency():
    """Every third-party module the grading code imports belongs to a [project] dependency
    (pytest-timeout too: the grader loads it as a plugin with --timeout)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    course = {
        normalise(re.split(r"[<>=!~ ;\[]", spec, maxsplit=1)[0]) for spec in project["dependencies"]
    }
    modules = set().union(*(imported_modules(p) for p in GRADING_CODE))
    third_party = modules - LOCAL - set(sys.stdlib_module_names) - {"__future__"}
    owners = packages_distributions()
    needed = {normalise(owners[m][0]) for m in third_party} | {"pytest-timeout"}
    assert needed - course == set()
    assert {"pytest", "hypothesis", "websocket-client"} <= needed  # the check sees them
