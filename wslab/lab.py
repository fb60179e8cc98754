"""How the course opens in JupyterLab: one command line, used by `make lab` and by the tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: The course's notebooks, next to the package in a source checkout.
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def lab_command(*extra: str, notebooks: Path = NOTEBOOKS) -> list[str]:
    """The JupyterLab command line: loopback only, rooted at the notebooks folder."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={notebooks}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses to start as root without it
    return command + list(extra)


def run_lab(*extra: str) -> None:
    """Replace this process with JupyterLab (so Ctrl-C stops it as usual)."""
    command = lab_command(*extra)
    os.execv(command[0], command)
