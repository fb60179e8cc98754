"""``python -m wslab notebooks``: execute the lessons in place, storing the outputs nbval checks.

Each notebook runs top to bottom in a fresh ``python3`` kernel, as nbval will run it, from the
notebooks folder. Per-cell execution timestamps are dropped so that re-running a notebook
changes the file only where an output really changed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .lab import NOTEBOOKS


def execute(path: Path, timeout: int = 120) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    # Cells that fail on purpose carry the "raises-exception" tag, which nbclient, nbval and
    # JupyterLab's Run All all honour: execution goes on past them.
    client.execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)


def execute_all(paths: list[Path] | None = None) -> None:
    for path in paths or sorted(NOTEBOOKS.glob("*.ipynb")):
        print(f"executing {path.name}", flush=True)
        execute(path)
