"""Test configuration: the --submission option, and no wslab service outliving its test."""

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
