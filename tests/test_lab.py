"""`make lab` serves the course: JupyterLab started the same way answers with a lesson, its
exercises are reachable, and its terminal runs the course's Python."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from learner_path.lab_server import isolated_env, running_lab
from websockets.sync.client import connect

from wslab.lab import lab_command, lab_environment

ROOT = Path(__file__).resolve().parent.parent


def test_make_lab_runs_the_wslab_lab_command():
    """The Makefile's lab target runs `python -m wslab lab`, the command tested below."""
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/python -m wslab lab" in makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]


def test_command_binds_loopback_and_roots_at_the_course():
    """JupyterLab listens on 127.0.0.1, is rooted at the course and opens lesson 00."""
    command = lab_command()
    assert "--ServerApp.ip=127.0.0.1" in command
    assert f"--ServerApp.root_dir={ROOT}" in command
    assert "--LabApp.default_url=/lab/tree/notebooks/00_welcome.ipynb" in command
    assert ("--allow-root" in command) == (os.geteuid() == 0)


def test_environment_puts_the_course_python_first():
    """The server's (and so its terminals') PATH starts with this Python's scripts folder."""
    env = lab_environment({"PATH": f"/usr/bin{os.pathsep}{Path(sys.executable).parent}"})
    assert env["PATH"].split(os.pathsep) == [str(Path(sys.executable).parent), "/usr/bin"]
    if sys.prefix != sys.base_prefix:
        assert env["VIRTUAL_ENV"] == sys.prefix


@pytest.fixture
def lab(tmp_path):
    """JupyterLab started by `python -m wslab lab` (as `make lab` runs it) on a free port."""
    command = [sys.executable, "-m", "wslab", "lab", "--no-browser", "--ServerApp.port=0"]
    with running_lab(command, isolated_env(tmp_path), cwd=tmp_path) as running:
        yield running


def test_lab_serves_lessons_and_exercises(lab):
    """On loopback, rooted at the course: lesson 00 and the exercise files both open; the
    server's address redirects to lesson 00."""
    assert lab.info["hostname"] == "127.0.0.1"
    assert lab.root_dir == ROOT
    status, body = lab.get("api/contents/notebooks/00_welcome.ipynb")
    model = json.loads(body)
    assert status == 200 and model["type"] == "notebook"
    assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"
    status, body = lab.get("api/contents/exercises/ex01_accept_key.py")
    assert status == 200 and json.loads(body)["type"] == "file"
    status, body = lab.get("lab/tree/notebooks/00_welcome.ipynb")
    assert status == 200 and b"JupyterLab" in body


def test_the_terminal_runs_the_course_python(lab):
    """`python` typed in JupyterLab's terminal is the Python that runs the course."""
    name = lab.post("api/terminals")["name"]
    url = lab.url.replace("http", "ws", 1) + f"terminals/websocket/{name}"
    marker = "WSLAB-PYTHON:"
    with connect(
        url, additional_headers={"Authorization": f"token {lab.token}"}, proxy=None
    ) as terminal:
        command = f"python -c \"import sys; print('{marker[:-1]}' + ':' + sys.executable)\"\r"
        terminal.send(json.dumps(["stdin", command]))
        output = ""
        deadline = time.monotonic() + 30
        while marker not in output or not output.split(marker, 1)[1].count("\n"):
            kind, *data = json.loads(terminal.recv(timeout=deadline - time.monotonic()))
            if kind == "stdout":
                output += data[0]
    printed = output.split(marker, 1)[1].splitlines()[0].strip()
    assert Path(printed).parent == Path(sys.executable).parent
