"""ex15's tests tell right from wrong: each wrong variant fails the test aimed at its mistake,
a right solution in another style passes them all (so they test behaviour, not our code's shape).

The variants live in tests/exercises/variants/ex15_*/; each is graded as a submission, in a
pytest subprocess, exactly as the grader runs an exercise's tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ROOT / "tests" / "exercises" / "variants"
TESTS = "tests/exercises/test_ex15_socketio_client.py"


def outcomes(submission: Path, select: str | None = None) -> dict[str, str]:
    """Each test's outcome ("passed"/"failed") for `submission`, from pytest's own report."""
    command = [sys.executable, "-m", "pytest", TESTS, "-q", "-rA", "-p", "no:randomly",
               f"--submission={submission}"]  # fmt: skip
    if select:
        command += ["-k", select]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    result = {}
    for line in done.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED") and "::" in rest:
            result[rest.split("::")[1].split(" ")[0]] = word.lower()
    assert result, done.stdout + done.stderr
    return result


@pytest.mark.parametrize(
    "variant, test",
    [
        ("ex15_no_pong", "test_answers_pings_of_a_fast_server"),
        ("ex15_wrong_type", "test_connect_to_another_namespace"),
        ("ex15_ack_mismatch", "test_call_waits_for_the_ack_with_its_own_id"),
    ],
)
def test_wrong_variant_fails_the_test_aimed_at_it(variant, test):
    """A submission with one mistake fails the test that checks that behaviour."""
    assert outcomes(VARIANTS / variant, test) == {test: "failed"}


def test_no_pong_variant_passes_the_rest():
    """The mistake is the only thing wrong: without pongs, only the fast-ping test fails."""
    result = outcomes(VARIANTS / "ex15_no_pong")
    assert [t for t, outcome in result.items() if outcome == "failed"] == [
        "test_answers_pings_of_a_fast_server"
    ]
    assert len(result) == 9


def test_right_variant_in_another_style_passes_everything():
    """A correct client written differently earns every test."""
    result = outcomes(VARIANTS / "ex15_other_style")
    assert set(result.values()) == {"passed"} and len(result) == 9
