"""JupyterLab started the way `make lab` starts it, on a free port, for the learner-path tests.

Not a conftest: tests/test_lab.py uses it too (``from learner_path.lab_server import ...``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.sync.client import connect

#: Seconds JupyterLab may take to write its runtime file (2 shared cores, cold caches).
START_TIMEOUT = 90


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab, as its runtime file describes it."""

    url: str  # http://127.0.0.1:PORT/BASE/
    token: str
    root_dir: Path
    info: dict

    def get(self, path: str) -> tuple[int, bytes]:
        """GET `path` (relative to the base URL) with the token; (status, body)."""
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"token {self.token}"}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            return response.status, response.read()

    def post(self, path: str) -> dict:
        request = urllib.request.Request(
            self.url + path,
            method="POST",
            data=b"",
            headers={"Authorization": f"token {self.token}"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            return json.loads(response.read())


def isolated_env(tmp: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment with Jupyter's runtime, config and workspace state under `tmp`."""
    env = dict(os.environ if environ is None else environ)
    env.update(
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
    )
    return env


@contextlib.contextmanager
def running_lab(
    command: Sequence[str], env: dict[str, str], cwd: Path | None = None
) -> Iterator[Lab]:
    """Run `command` (a JupyterLab command line with port 0); yield it once it listens."""
    runtime = Path(env["JUPYTER_RUNTIME_DIR"])
    runtime.mkdir(parents=True, exist_ok=True)
    log = runtime / "lab.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command), env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while (info := _server_info(runtime)) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"JupyterLab did not start (exit code {process.poll()}):\n"
                    + log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.1)  # polling for a file another process writes: no event to wait on
        # The runtime file is written before the server binds its port (jupyter_server binds in
        # a callback of the event loop it starts next): wait until it answers.
        lab = Lab(info["url"], info["token"], Path(info["root_dir"]), info)
        while not _answers(lab):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab wrote {info['url']} but does not answer there")
            time.sleep(0.1)
        yield lab
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(lab: Lab) -> bool:
    try:
        return lab.get("api/status")[0] == 200
    except OSError:  # refused: not listening yet
        return False


def _server_info(runtime: Path) -> dict | None:
    """The server's runtime file once it is completely written, else None."""
    for path in runtime.glob("jpserver-*.json"):
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:  # being written
            return None
    return None


class Kernel:
    """A kernel the Jupyter server started (POST api/kernels), driven over its channels socket.

    The kernel is the server's child, as when a learner opens a notebook: what wslab works out
    from its parent server is what a lesson would see.
    """

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.id = lab.post("api/kernels")["id"]
        url = lab.url.replace("http", "ws", 1) + f"api/kernels/{self.id}/channels"
        self.session = uuid.uuid4().hex
        self._stack = contextlib.ExitStack()
        self.socket = self._stack.enter_context(
            connect(
                url,
                additional_headers={"Authorization": f"token {lab.token}"},
                proxy=None,
                max_size=None,
            )
        )

    def run(self, code: str, timeout: float = 60) -> str:
        """Execute `code`; return what it printed; fail the test on an error."""
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "test",
            "session": self.session,
            "date": "",
            "version": "5.3",
        }
        content = {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        self.socket.send(
            json.dumps(
                {
                    "header": header,
                    "parent_header": {},
                    "metadata": {},
                    "content": content,
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        printed, deadline = [], time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, body = message["msg_type"], message["content"]
            if kind == "stream":
                printed.append(body["text"])
            elif kind == "error":
                pytest.fail(f"{body['ename']}: {body['evalue']}\n" + "\n".join(body["traceback"]))
            elif kind == "status" and body["execution_state"] == "idle":
                return "".join(printed)

    def close(self) -> None:
        self._stack.close()
