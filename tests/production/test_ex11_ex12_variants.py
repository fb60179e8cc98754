"""ex11 and ex12 tell right from wrong: each wrong variant kept in tests/exercises/variants/
loses points on the test that names its mistake, graded the way learners are graded."""

from __future__ import annotations

from pathlib import Path

import pytest

from wslab.grading import grade

VARIANTS = Path(__file__).resolve().parents[1] / "exercises" / "variants"

#: Each variant, and the test that must catch its mistake.
EXPECTED = {
    "ex11_eq_compare": "test_signature_compared_in_constant_time",
    "ex11_no_expiry": "test_expired_tokens_get_401",
    "ex11_no_audience": "test_other_audience_gets_403",
    "ex12_no_dedup": "test_processes_each_message_once",
    "ex12_no_jitter": "test_backoff_with_full_jitter",
    "ex12_no_resend": "test_resends_what_was_not_acked",
}


def test_every_variant_is_listed():
    """Every folder of variants for ex11/ex12 has its expected failure here."""
    folders = {p.name for p in VARIANTS.iterdir() if p.name.startswith(("ex11_", "ex12_"))}
    assert folders == set(EXPECTED)


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_wrong_variant_loses_points(variant):
    """The variant scores less than full marks, and fails the test aimed at its mistake."""
    report = grade(VARIANTS / variant, [variant[:4]])
    [result] = report.results
    assert result.verdict == "", result.verdict
    failed = {t.name.split("::")[-1] for t in result.tests if t.outcome != "passed"}
    assert EXPECTED[variant] in failed, f"{variant}: failed only {sorted(failed)}"
    assert 0 < result.points < result.total
