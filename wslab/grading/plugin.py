"""A pytest plugin that writes each exercise test's outcome, points and message to a JSON file.

The grader loads it into the subprocess that runs one exercise's tests (``-p
wslab.grading.plugin --wslab-results FILE``). The file is rewritten after every test, and
says which test is running, so even if the subprocess is killed (an infinite loop in C, a
blocked socket, ``os._exit``) the grader knows which tests passed, which failed, which never
ran, and what was running when the run ended.

Each test also runs under its own time limit (`time_limit`, armed by the exercise tests'
conftest): it raises `TimeLimitExceeded`, a BaseException, so that nothing in between (the
submission's ``except Exception``, hypothesis' search for a smaller failing example) can
swallow it and run on until the whole exercise's limit.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from . import messages
from .results import Outcome, summary

#: The default limit of one exercise test, in seconds.
TEST_TIMEOUT = 15.0


class TimeLimitExceeded(BaseException):
    """A test ran past its time limit (a BaseException: ``except Exception`` cannot stop it)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"did not finish within {seconds:g} s")
        self.seconds = seconds


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `TimeLimitExceeded` in the main thread if the block runs longer than `seconds`.

    Uses SIGALRM, where there is one (not on Windows: there, only the grader's limit on the
    whole exercise applies). An alarm armed before (pytest-timeout's, in a full test run)
    is put back afterwards with the time it had left.

    Past the limit the alarm rings again every `max(seconds, 1)` s until the block is left: an
    exception raised by a signal handler is lost when it lands in a finalizer (``__del__``, a
    weakref callback: "Exception ignored in ..."), which the garbage collector may be running
    at that instant. Once, a single alarm lost that way left a looping test running for ever
    (and pytest-timeout's own alarm with it, since this one replaces it while armed).
    """
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum, frame):
        raise TimeLimitExceeded(seconds)

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds, max(seconds, 1.0))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            left = outer - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


def test_timeout(config: pytest.Config) -> float:
    """The per-test limit the grader asked for, or `TEST_TIMEOUT`."""
    return float(config.getoption("--wslab-test-timeout", default=None) or TEST_TIMEOUT)


test_timeout.__test__ = False  # a helper, not a test, wherever it is imported


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--wslab-results", default=None, help="write grading results to this file")
    parser.addoption(
        "--wslab-test-timeout", default=None, type=float, help="time limit of each test (s)"
    )


def is_learner_file(config: pytest.Config) -> callable:
    """A predicate: is this filename in the submission folder being graded?"""
    folder = Path(config.getoption("--submission", default=None) or ".").resolve()

    def check(filename: str) -> bool:
        try:
            return Path(filename).resolve().is_relative_to(folder)
        except (OSError, ValueError):
            return False

    return check


class Recorder:
    def __init__(self, path: Path, config: pytest.Config) -> None:
        self.path = path
        self.config = config
        self.tests: dict[str, dict] = {}
        self.running = ""
        self.import_error = ""
        self.finished = False
        self.is_learner = is_learner_file(config)

    def write(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps(
                {
                    "finished": self.finished,
                    "running": self.running,
                    "import_error": self.import_error,
                    "tests": list(self.tests.values()),
                }
            )
        )
        os.replace(temporary, self.path)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("points")
            self.tests[item.nodeid] = {
                "name": item.name,
                "doc": summary(getattr(item.function, "__doc__", None)),
                "points": marker.args[0] if marker else 1,
                "outcome": str(Outcome.NOT_RUN),
                "message": "",
            }
        self.write()

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        test = self.tests.get(nodeid)
        self.running = test["name"] if test else nodeid
        self.write()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        test = self.tests.get(item.nodeid)
        if test is None:
            return report
        for name, value in item.user_properties:
            if name == "wslab_import_error":
                self.import_error = self.import_error or value
        if report.failed and test["outcome"] not in (Outcome.FAILED, Outcome.TIMED_OUT):
            error = call.excinfo.value if call.excinfo is not None else None
            if isinstance(error, TimeLimitExceeded):
                test["outcome"] = str(Outcome.TIMED_OUT)
                test["message"] = messages.timed_out(
                    error.seconds, error, is_learner=self.is_learner, test_file=str(item.path)
                )
            else:
                test["outcome"] = str(Outcome.FAILED)
                test["message"] = self.message(report, error, item)
        elif report.when == "call" and report.passed and test["outcome"] == Outcome.NOT_RUN:
            test["outcome"] = str(Outcome.PASSED)
        elif report.skipped:
            test["outcome"] = str(Outcome.SKIPPED)
        if report.when == "teardown":
            self.running = ""
        self.write()
        return report

    def message(self, report: pytest.TestReport, error: BaseException | None, item) -> str:
        if error is None or getattr(report.longrepr, "reprcrash", None) is None:
            # pytest.fail(..., pytrace=False) and the like: the text is the message.
            return messages.clean(str(report.longrepr))
        return messages.describe(error, is_learner=self.is_learner, test_file=str(item.path))

    def pytest_sessionfinish(self) -> None:
        self.finished = True
        self.write()


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--wslab-results")
    if path:
        config.pluginmanager.register(Recorder(Path(path), config), "wslab-results")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # The results are written. A submission may have left non-daemon threads behind, which
    # would keep this process alive until the grader's time limit: end it now instead.
    if config.getoption("--wslab-results"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
