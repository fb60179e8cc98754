"""The tests of ex06-ex10 judged against wrong submissions (see variants_support).

A wrong variant, one plausible mistake, must fail the test that exists to catch it, with a
message that names the mistake in WebSocket terms. (Right variants, `right_*.py`, are run by
tests/exercises/conftest.py for every exercise, beside the solution and the stub.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from variants_support import expectations, grade, variants

EXERCISES = [
    "ex06_echo_handler",
    "ex07_full_duplex",
    "ex08_chat_room",
    "ex09_heartbeat",
    "ex10_server_from_scratch",
]


@pytest.mark.parametrize(("exercise", "path"), variants(EXERCISES, "wrong"))
def test_wrong_variant_fails_its_test(exercise: str, path: Path, tmp_path: Path):
    """A submission making one mistake fails the test for it, and the message says what."""
    fails, says = expectations(path)
    results = grade(exercise, path, tmp_path, only=fails)
    assert fails in results, f"{path.name}: no test {fails} in test_{exercise}.py"
    result = results[fails]
    assert result.outcome == "failed", f"{path.name} makes a mistake, yet passes {fails}"
    assert says in result.message, (
        f"{path.name} fails {fails}, but the message lacks {says!r}: {result.message}"
    )
