"""How exercise tests get the code they grade.

Each test module names its exercise (``pytestmark = pytest.mark.exercise("ex01_accept_key")``)
and takes the `submission` fixture: the learner's module, imported from the folder given by
``--submission`` (default ``solutions/``; the grader passes ``exercises/`` or a student's
folder). A module that cannot be imported fails each test with a readable verdict instead of
breaking the test run; a stub's NotImplementedError fails the test that reached it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from grading_support import where

ROOT = Path(__file__).resolve().parents[2]
_imported: dict[Path, ModuleType | str] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "exercise(name): the exercise a test module grades")
    config.addinivalue_line("markers", "points(n): what passing this test is worth")


def load_submission(folder: Path, exercise: str) -> ModuleType:
    """Import `folder/exercise.py` as a fresh module; fail the test readably if it can't be."""
    path = (folder / f"{exercise}.py").resolve()
    cached = _imported.get(path)
    if isinstance(cached, str):  # an earlier test of this run already failed to import it
        pytest.fail(cached, pytrace=False)
    if cached is not None:
        return cached
    if not path.exists():
        message = f"{exercise}: no file {path.name} in {folder}"
        _imported[path] = message
        pytest.fail(message, pytrace=False)
    name = f"submission_{exercise}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # SyntaxError, an import-time crash, even SystemExit
        del sys.modules[name]
        if isinstance(exc, KeyboardInterrupt):
            raise
        message = f"{exercise} does not import{where(exc, str(path))}: {type(exc).__name__}: {exc}"
        _imported[path] = message
        pytest.fail(message, pytrace=False)
    _imported[path] = module
    return module


@pytest.fixture
def submission(request: pytest.FixtureRequest) -> ModuleType:
    marker = request.node.get_closest_marker("exercise")
    assert marker is not None, "exercise test modules set pytestmark = pytest.mark.exercise(...)"
    folder = Path(request.config.getoption("--submission"))
    if not folder.is_absolute():
        folder = ROOT / folder
    return load_submission(folder, marker.args[0])
