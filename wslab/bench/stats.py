"""Summaries of timing samples: median and tail percentiles, nothing fancier."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def percentile(samples: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0-100) with linear interpolation between closest ranks.

    The same definition as numpy's default: percentile(xs, 50) is the median, 0 the minimum,
    100 the maximum. With few samples, p99 is close to the maximum: it is what we saw.
    """
    if not samples:
        raise ValueError("no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0-100, got {p}")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Count, median and tail of a set of samples (in the samples' unit, seconds for times)."""

    n: int
    min: float
    median: float
    p90: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(
            n=len(samples),
            min=min(samples),
            median=percentile(samples, 50),
            p90=percentile(samples, 90),
            p99=percentile(samples, 99),
            max=max(samples),
            mean=statistics.fmean(samples),
        )

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

