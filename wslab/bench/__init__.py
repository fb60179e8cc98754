"""`wslab.bench`: latency, throughput, bytes on the wire and fan-out, measured here and now.

    results = wslab.bench.run()          # a few seconds; run(quick=False): a minute or two
    print(results)                       # tables: latency, throughput, bytes, fan-out
    results.plot()                       # the same as pictures (a Figure)
    results.to_json("bench.json")

Every figure is measured in the run that prints it. The servers run both on a loop thread of
this process (the notebook set-up) and in child processes (`wslab._process`), and the tables
show both side by side. One module, one job:

- measuring: `latency`, `throughput`, `wire` (through a tap), `fanout` (with `swarm`, the
  clients' own process);
- what is measured: `servers` (the handlers), `topology` (thread or process), `baseline`
  (websockets on its own, for comparisons);
- the rest: `stats` (medians, percentiles), `results` (what a run found), `suite` (`run()`),
  `report` (tables and plots), `progress` (a bar), `cli` (``python -m wslab bench``).
"""

from .results import FULL, QUICK, Config, Results
from .suite import run

__all__ = ["FULL", "QUICK", "Config", "Results", "run"]
