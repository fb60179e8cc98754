"""``python -m wslab bench [--full] [--json FILE] [--plot FILE]``: run the lab, print tables."""

from __future__ import annotations

from pathlib import Path

from .suite import run


def main(full: bool = False, json_path: Path | None = None, plot_path: Path | None = None) -> int:
    results = run(quick=not full)
    print(results.table())
    if json_path is not None:
        results.to_json(json_path)
        print(f"\nresults written to {json_path}")
    if plot_path is not None:
        import matplotlib

        matplotlib.use("Agg")  # a file, not a window
        results.plot().savefig(plot_path, dpi=110)
        print(f"plots written to {plot_path}")
    return 0
