"""How the course opens in JupyterLab: one command line, used by `make lab` and by the tests.

JupyterLab is rooted at the course (the repository root), not at notebooks/: the file browser
and the contents API cannot reach above the root, and the lessons send the learner to
exercises/ to edit their work. It lands on lesson 00.

Its terminals must find the course's Python first: `make lab` runs ``.venv/bin/python`` without
activating the venv, so `lab_environment()` puts the venv's scripts folder first on PATH and
sets VIRTUAL_ENV, as ``activate`` would. That is not enough for a terminal: JupyterLab starts a
*login* shell when its stdout is not a terminal (a hub, a test), whose /etc/profile resets PATH,
and a learner's ~/.bashrc (pyenv, conda) may put another Python first again. So on POSIX the
terminal is bash (when there is one) with wslab/terminal_rc.sh: ~/.bashrc, then the course's
scripts folder first.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

#: The course: the repository root, next to the package in a source checkout.
COURSE = Path(__file__).resolve().parent.parent

#: The course's notebooks.
NOTEBOOKS = COURSE / "notebooks"

#: Where the learner lands, relative to the course root.
WELCOME = "notebooks/00_welcome.ipynb"

#: The start-up file of the terminals' bash.
TERMINAL_RC = Path(__file__).resolve().parent / "terminal_rc.sh"


def lab_command(*extra: str, root: Path = COURSE) -> list[str]:
    """The JupyterLab command line: loopback only, rooted at the course, opening lesson 00."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.default_url=/lab/tree/{WELCOME}",
    ]
    if os.name == "posix" and (bash := shutil.which("bash")):
        shell = [bash, "--rcfile", str(TERMINAL_RC)]
        command.append(f"--ServerApp.terminado_settings={json.dumps({'shell_command': shell})}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses to start as root without it
    return command + list(extra)


def lab_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`environ` with this Python's scripts folder first on PATH (and VIRTUAL_ENV for a venv)."""
    scripts = str(Path(sys.executable).parent)
    env = dict(environ)
    rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != scripts]
    env["PATH"] = os.pathsep.join([scripts, *rest])
    env["WSLAB_SCRIPTS"] = scripts  # for terminal_rc.sh
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    return env


def run_lab(*extra: str) -> None:
    """Replace this process with JupyterLab (so Ctrl-C stops it as usual)."""
    command = lab_command(*extra)
    os.execve(command[0], command, lab_environment())
