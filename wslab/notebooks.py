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
    # nbval reads the "# NBVAL_RAISES_EXCEPTION" comment; nbclient only knows the cell tag.
    # Tag such cells while executing, so that authors write the comment alone.
    tagged = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and _first_line(cell.source) == "# NBVAL_RAISES_EXCEPTION":
            tags = cell.metadata.setdefault("tags", [])
            if "raises-exception" not in tags:
                tags.append("raises-exception")
                tagged.append(cell)
    client.execute()
    for cell in tagged:
        cell.metadata.tags.remove("raises-exception")
        if not cell.metadata.tags:
            del cell.metadata["tags"]
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)


def _first_line(source: str) -> str:
    return source.strip().split("\n", 1)[0].strip()


def execute_all(paths: list[Path] | None = None) -> None:
    for path in paths or sorted(NOTEBOOKS.glob("*.ipynb")):
        print(f"executing {path.name}", flush=True)
        execute(path)
