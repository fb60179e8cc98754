"""The tests of ex06-ex10 judged against submissions whose grade is known (see variants_support).

A right variant, correct in another style than the reference solution, must earn every
point; a wrong variant, one plausible mistake, must fail the test that exists to catch it,
with a message that names the mistake in WebSocket terms.
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


@pytest.mark.parametrize(("exercise", "path"), variants(EXERCISES, "right"))
def test_right_variant_earns_full_marks(exercise: str, path: Path, tmp_path: Path):
    """A correct solution written differently passes every test of its exercise."""
    results = grade(exercise, path, tmp_path)
    assert results, f"no test of {exercise} ran"
    failed = {name: r.message for name, r in results.items() if r.outcome != "passed"}
    assert not failed, f"{path.name} is correct, yet lost points: {failed}"


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
