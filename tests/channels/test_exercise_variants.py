"""The graders of ex13 and ex14 tell right from wrong: each wrong variant in
tests/exercises/variants/ loses points, the right one written in another style earns them all,
the solutions earn them all and the stubs nothing."""

from pathlib import Path

import pytest

from wslab.grading.grader import grade

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ROOT / "tests" / "exercises" / "variants"
EXERCISES = ["ex13", "ex14"]


def points(folder: Path, exercise: str) -> tuple[int, int]:
    # A wrong bridge may loop forever: 30 s is ample for a right one (about 5 s here).
    (result,) = grade(folder, [exercise], timeout=30).results
    return result.points, result.total


def variants(exercise: str, right: bool) -> list[Path]:
    return [
        p
        for p in sorted(VARIANTS.glob(f"{exercise}_*"))
        if p.name.startswith(f"{exercise}_right") == right
    ]


@pytest.mark.parametrize("exercise", EXERCISES)
def test_solutions_earn_everything_and_stubs_nothing(exercise):
    """solutions/ earns 10 of 10, the generated exercises/ 0 of 10."""
    assert points(ROOT / "solutions", exercise) == (10, 10)
    assert points(ROOT / "exercises", exercise) == (0, 10)


@pytest.mark.parametrize(
    "folder", [p for e in EXERCISES for p in variants(e, right=False)], ids=lambda p: p.name
)
def test_each_wrong_variant_loses_points(folder):
    """A wrong variant fails at least one test: its points are below the total."""
    earned, total = points(folder, folder.name[:4])
    assert earned < total == 10


@pytest.mark.parametrize(
    "folder", [p for e in EXERCISES for p in variants(e, right=True)], ids=lambda p: p.name
)
def test_a_right_variant_in_another_style_earns_everything(folder):
    """A correct solution written differently from ours earns full marks."""
    assert points(folder, folder.name[:4]) == (10, 10)
