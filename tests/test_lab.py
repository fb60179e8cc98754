"""`make lab` serves the course: JupyterLab started the same way answers with a lesson."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from wslab.lab import lab_command

ROOT = Path(__file__).resolve().parent.parent


def test_make_lab_runs_the_wslab_lab_command():
    """The Makefile's lab target runs `python -m wslab lab`, the command tested below."""
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/python -m wslab lab" in makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]


def test_command_binds_loopback_and_roots_at_notebooks():
    """JupyterLab is told to listen on 127.0.0.1 and to open the notebooks folder."""
    command = lab_command()
    assert "--ServerApp.ip=127.0.0.1" in command
    assert f"--ServerApp.root_dir={ROOT / 'notebooks'}" in command
    assert ("--allow-root" in command) == (os.geteuid() == 0)


@pytest.fixture
def jupyter(tmp_path):
    """JupyterLab started by `python -m wslab lab` on a free port; yields its runtime info."""
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "wslab", "lab", "--no-browser", "--ServerApp.port=0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (info := list(tmp_path.glob("jpserver-*.json"))):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start (exit code {process.poll()})")
            time.sleep(0.1)
        yield json.loads(info[0].read_text())
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get(info, path):
    request = urllib.request.Request(
        f"{info['url']}{path}", headers={"Authorization": f"token {info['token']}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        return response.status, response.read()


def test_lab_serves_the_course(jupyter):
    """The server listens on loopback, lists the lessons and returns lesson 00 through its API."""
    assert jupyter["hostname"] == "127.0.0.1"
    assert Path(jupyter["root_dir"]) == ROOT / "notebooks"
    status, body = get(jupyter, "api/contents/00_welcome.ipynb")
    model = json.loads(body)
    assert status == 200 and model["type"] == "notebook"
    assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"
    status, body = get(jupyter, "lab")
    assert status == 200 and b"JupyterLab" in body
