"""How exercise tests get the code they grade, and how ``make test`` proves the tests right.

Each test module names its exercise (``pytestmark = pytest.mark.exercise("ex01_accept_key")``)
and takes the `submission` fixture: the learner's module. A module that cannot be imported
fails each test with a readable verdict instead of breaking the test run. Every test runs
under its own time limit (`wslab.grading.plugin.time_limit`), which nothing can swallow.

Two ways to run:

- **Grading** (``--submission FOLDER``; what the grader and learners do): each test takes
  ``FOLDER/exNN_topic.py``.
- **Proving the tests** (the default, in ``make test``): each test runs against every
  candidate the course knows, and each candidate must end as expected:

  ============================================  ===========================================
  ``solutions/exNN_topic.py``                   passes every test
  ``exercises/exNN_topic.py`` (the stub)        fails every test on its NotImplementedError
  ``variants/exNN_topic/right_*.py``            passes every test (a correct answer in
                                                another style: no false fail)
  each mistake of ``variants/exNN_topic/        fails each test it lists (a real mistake
  mistakes.py``                                 never earns those points: no false pass),
                                                with a message saying why (its `says`);
                                                with `only`, passes every other test
  ============================================  ===========================================

  A mistake is the solution with a small change (`grading_support.Mistake`), so it stays a
  one-mistake answer as the solution evolves, and an edit that no longer applies is an error.
  ``variants/README.md`` tells an instructor how to add one.
"""

from __future__ import annotations

import enum
import importlib.util
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from grading_support import Mistake, where

from wslab.grading.plugin import TimeLimitExceeded, test_timeout, time_limit

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = Path(__file__).resolve().parent / "variants"
_imported: dict[Path, ModuleType | str] = {}
_mistakes_folder: Path | None = None


class Expect(enum.Enum):
    PASS = "passes every test"
    STUB = "fails every test on NotImplementedError"
    FAIL = "fails this test"


@dataclass(frozen=True)
class Candidate:
    """One submission the tests are proven against, and how it must fare."""

    label: str
    expect: Expect
    path: Path | None = None
    mistake: Mistake | None = None

    def __str__(self) -> str:
        return self.label


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "exercise(name): the exercise a test module grades")
    config.addinivalue_line("markers", "points(n): what passing this test is worth")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _mistakes_folder is not None:
        shutil.rmtree(_mistakes_folder, ignore_errors=True)


def proving(config: pytest.Config) -> bool:
    """No folder was chosen: prove the tests against every known candidate."""
    return config.getoption("--submission") == "solutions"


def candidates(exercise: str, test: str, module: ModuleType) -> list[Candidate]:
    """Everything test `test` of `exercise` is proven against."""
    found = [
        Candidate("solution", Expect.PASS, ROOT / "solutions" / f"{exercise}.py"),
        Candidate("stub", Expect.STUB, ROOT / "exercises" / f"{exercise}.py"),
    ]
    folder = VARIANTS / exercise
    for right in sorted(folder.glob("right_*.py")):
        found.append(Candidate(right.stem, Expect.PASS, right))
    mistakes = folder / "mistakes.py"
    if mistakes.exists():
        spec = importlib.util.spec_from_file_location(f"mistakes_{exercise}", mistakes)
        assert spec is not None and spec.loader is not None
        listed = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(listed)
        tests = {name for name in dir(module) if name.startswith("test_")}
        for mistake in listed.MISTAKES:
            unknown = set(mistake.fails) - tests
            if unknown:
                raise pytest.UsageError(f"{mistakes}: {mistake.name} lists unknown {unknown}")
            if test in mistake.fails:
                found.append(Candidate(f"mistake_{mistake.name}", Expect.FAIL, mistake=mistake))
            elif mistake.only:
                found.append(Candidate(f"mistake_{mistake.name}", Expect.PASS, mistake=mistake))
    return found


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "submission" not in metafunc.fixturenames or not proving(metafunc.config):
        return
    marker = metafunc.definition.get_closest_marker("exercise")
    if marker is None:
        return
    found = candidates(marker.args[0], metafunc.definition.originalname, metafunc.module)
    metafunc.parametrize("submission", found, indirect=True, ids=str)


def load_submission(path: Path, exercise: str) -> ModuleType:
    """Import `path` as a fresh module; fail the test readably if it can't be."""
    path = path.resolve()
    cached = _imported.get(path)
    if isinstance(cached, str):  # an earlier test of this run already failed to import it
        pytest.fail(cached, pytrace=False)
    if cached is not None:
        return cached
    if not path.exists():
        message = f"{exercise}: no file {path.name} in {path.parent}"
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
        problem = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TimeLimitExceeded):  # an endless loop at import
            problem = f"importing it {exc}"
        message = f"{exercise} does not import{where(exc, str(path))}: {problem}"
        _imported[path] = message
        pytest.fail(message, pytrace=False)
    _imported[path] = module
    return module


def mistake_file(exercise: str, mistake: Mistake) -> Path:
    """The solution with `mistake` applied, written once per run to a temporary folder."""
    global _mistakes_folder
    if _mistakes_folder is None:
        _mistakes_folder = Path(tempfile.mkdtemp(prefix="wslab-mistakes-"))
    path = _mistakes_folder / exercise / mistake.name / f"{exercise}.py"
    if not path.exists():
        wrong = mistake.apply((ROOT / "solutions" / f"{exercise}.py").read_text())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(wrong)
    return path


@pytest.fixture(autouse=True)
def _time_limit(request: pytest.FixtureRequest):
    """Each exercise test (with its fixtures) ends on its own limit, whatever the code does."""
    with time_limit(test_timeout(request.config)):
        yield


@pytest.fixture
def submission(request: pytest.FixtureRequest) -> ModuleType:
    marker = request.node.get_closest_marker("exercise")
    assert marker is not None, "exercise test modules set pytestmark = pytest.mark.exercise(...)"
    exercise = marker.args[0]
    candidate = getattr(request, "param", None)
    if isinstance(candidate, Candidate):
        path = candidate.path or mistake_file(exercise, candidate.mistake)
    else:
        folder = Path(request.config.getoption("--submission"))
        if not folder.is_absolute():
            folder = ROOT / folder
        path = folder / f"{exercise}.py"
    try:
        return load_submission(path, exercise)
    except pytest.fail.Exception as failure:
        # The grader reports a submission that does not import as crashed, not as failed.
        request.node.user_properties.append(("wslab_import_error", str(failure.msg)))
        raise


def _raised(error: BaseException | None) -> str:
    """The exception and those it was raised from or during, as "Type: message" lines."""
    lines = []
    while error is not None and len(lines) < 5:
        lines.append(f"{type(error).__name__}: {error}")
        error = error.__cause__ or error.__context__
    return "\n".join(lines)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """When proving the tests, a stub or a mistake must fail: turn that into a pass.

    The report is made here, from the exception's text, rather than by pytest: its traceback
    formatting parses source with `ast`, which CPython 3.11 cannot do in two threads at once
    (gh-106905), and a failing stub often leaves a server thread formatting its own traceback.
    """
    callspec = getattr(item, "callspec", None)
    candidate = callspec.params.get("submission") if callspec else None
    if call.when != "call" or not isinstance(candidate, Candidate):
        return None
    if candidate.expect is Expect.PASS:
        return None
    raised = _raised(call.excinfo.value) if call.excinfo is not None else ""
    if call.excinfo is None:
        why = candidate.mistake.description if candidate.mistake else "the test checks nothing"
        outcome = "failed"
        longrepr = f"{item.name} passed on {candidate.label}, which {candidate.expect.value}: {why}"
    elif candidate.expect is Expect.STUB and "NotImplementedError" not in raised:
        outcome = "failed"
        longrepr = f"on the stub, expected a failure on NotImplementedError, got:\n{raised}"
    elif candidate.mistake is not None and candidate.mistake.says not in raised:
        outcome = "failed"
        longrepr = (
            f"{item.originalname} failed on {candidate.label} as it must, but its message does "
            f"not say {candidate.mistake.says!r} ({candidate.mistake.description}):\n{raised}"
        )
    else:
        outcome, longrepr = "passed", None
    return pytest.TestReport(
        item.nodeid,
        item.location,
        dict.fromkeys(item.keywords, 1),
        outcome,
        longrepr,
        "call",
        duration=call.duration,
        start=call.start,
        stop=call.stop,
        user_properties=item.user_properties,
    )
