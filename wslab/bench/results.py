"""What a benchmark run found: the settings, every sample, and the summaries drawn from them."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .fanout import Fanout
from .stats import Summary
from .throughput import Rate
from .wire import WireCost


@dataclass(frozen=True)
class Config:
    """How much to measure: `QUICK` takes seconds (notebooks, tests), `FULL` a minute or two."""

    rounds: int
    """Interleaved rounds: every latency set-up is measured once per round, in a new order."""
    samples: int
    """Latency samples per method, set-up and round (after a warm-up of a tenth as many)."""
    short_poll_samples: int
    short_poll_interval: float
    throughput_rounds: int
    duration: float
    """Seconds each throughput measurement sends for."""
    sizes: tuple[int, ...]
    """Payload sizes for throughput, in bytes."""
    wire_messages: int
    fanout_clients: tuple[int, ...]
    broadcasts: int
    size: int = 32
    """Payload bytes of latency, wire and fan-out messages."""


QUICK = Config(
    rounds=3,
    samples=60,
    short_poll_samples=3,
    short_poll_interval=0.01,
    throughput_rounds=1,
    duration=0.04,
    sizes=(32, 1024, 16384),
    wire_messages=10,
    fanout_clients=(100,),
    broadcasts=10,
)
FULL = Config(
    rounds=5,
    samples=600,
    short_poll_samples=20,
    short_poll_interval=0.02,
    throughput_rounds=3,
    duration=0.25,
    sizes=(32, 256, 1024, 4096, 16384, 65536),
    wire_messages=100,
    fanout_clients=(100, 250, 500, 1000),
    broadcasts=30,
)


@dataclass
class Results:
    """Everything one `wslab.bench.run()` measured. Prints as tables; `plot()` draws them."""

    config: Config
    latency: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    """Samples in seconds by (method, topology), rounds pooled."""
    rates: list[Rate] = field(default_factory=list)
    """Every throughput measurement (one per round and set-up)."""
    wire: list[WireCost] = field(default_factory=list)
    fanout: list[Fanout] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)

    # --- summaries -------------------------------------------------------------------------

    def summary(self, method: str, topology: str) -> Summary:
        return Summary.of(self.latency[(method, topology)])

    def throughput(self, topology: str, direction: str, size: int) -> Rate:
        """The round with the median rate for this set-up."""
        rates = [
            r
            for r in self.rates
            if (r.topology, r.direction, r.size) == (topology, direction, size)
        ]
        if not rates:
            raise KeyError((topology, direction, size))
        rates.sort(key=lambda r: r.messages_per_s)
        return rates[(len(rates) - 1) // 2]

    def ratio(
        self, method: str, topology: str, baseline: str, baseline_topology: str | None = None
    ) -> float:
        """Median of `method` over median of `baseline` (same topology unless given)."""
        return statistics.median(self.latency[(method, topology)]) / statistics.median(
            self.latency[(baseline, baseline_topology or topology)]
        )

    # --- output ----------------------------------------------------------------------------

    def table(self) -> str:
        from .report import table

        return table(self)

    def __str__(self) -> str:
        return self.table()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython shows the tables
        p.text(self.table())

    def plot(self):
        """A figure of four panels: latency, bytes per message, throughput, fan-out."""
        from .report import plot

        return plot(self)

    def to_dict(self) -> dict[str, Any]:
        """Settings, environment and summaries (not every sample) as JSON-ready values."""
        return {
            "config": asdict(self.config),
            "environment": self.environment,
            "latency": [
                {"method": m, "topology": t, **Summary.of(s).to_dict()}
                for (m, t), s in self.latency.items()
            ],
            "throughput": [
                {**asdict(r), "messages_per_s": r.messages_per_s, "mb_per_s": r.mb_per_s}
                for r in self.rates
            ],
            "wire": [
                {**w.to_dict(), "per_message": {n: w.per_message(n) for n in (1, 10, 100, 1000)}}
                for w in self.wire
            ],
            "fanout": [f.to_dict() for f in self.fanout],
        }

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
