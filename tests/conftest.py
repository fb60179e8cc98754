"""Test configuration: the --submission option, no wslab service outliving its test, and the
modules that take minutes scheduled first."""

from __future__ import annotations

import os

import pytest

import wslab


def pytest_addoption(parser: pytest.Parser) -> None:
    # Here, not in tests/exercises/conftest.py: pytest only takes options from the root conftest.
    parser.addoption(
        "--submission",
        default=os.environ.get("WSLAB_SUBMISSION", "solutions"),
        help="folder of exNN_topic.py files that tests/exercises grades (default: solutions)",
    )


@pytest.fixture(autouse=True)
def _stop_everything():
    """Each test starts and ends with no wslab service running."""
    yield
    wslab.stop_all()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked `minutes` first, in their order; the rest keep theirs.

    `make test` deals modules out to its workers in collection order: a module of three tests
    that takes three minutes, dealt out last, would finish minutes after everything else.
    """
    items.sort(key=lambda item: item.get_closest_marker("minutes") is None)
