"""A pytest plugin that writes each exercise test's outcome, points and message to a JSON file.

The grader loads it into the subprocess that runs one exercise's tests (``-p
wslab.grading.plugin --wslab-results FILE``). The file is rewritten after every test, so even
if the subprocess is killed (an infinite loop, a blocked socket), the grader knows which tests
passed, which failed and which never ran.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

#: A failure message longer than this is cut: a verdict must stay readable.
MAX_MESSAGE = 400


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--wslab-results", default=None, help="write grading results to this file")


class Recorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tests: dict[str, dict] = {}
        self.finished = False

    def write(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps({"finished": self.finished, "tests": list(self.tests.values())})
        )
        os.replace(temporary, self.path)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("points")
            self.tests[item.nodeid] = {
                "name": item.name,
                "doc": (getattr(item.function, "__doc__", None) or "").strip().split("\n")[0],
                "points": marker.args[0] if marker else 1,
                "outcome": "not run",
                "message": "",
            }
        self.write()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests.get(report.nodeid)
        if test is None:
            return
        if report.failed:
            test["outcome"] = "failed"
            if not test["message"]:
                test["message"] = failure_message(report)
        elif report.when == "call" and report.passed and test["outcome"] == "not run":
            test["outcome"] = "passed"
        elif report.skipped:
            test["outcome"] = "skipped"
        self.write()

    def pytest_sessionfinish(self) -> None:
        self.finished = True
        self.write()


def failure_message(report: pytest.TestReport) -> str:
    """The first line a learner should read: the exception and its message, or the assertion."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash is not None else str(report.longrepr).strip().split("\n")[-1]
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return message


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--wslab-results")
    if path:
        config.pluginmanager.register(Recorder(Path(path)), "wslab-results")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # The results are written. A submission may have left non-daemon threads behind, which
    # would keep this process alive until the grader's time limit: end it now instead.
    if config.getoption("--wslab-results"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
