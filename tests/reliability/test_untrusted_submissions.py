"""The grader against submissions that fight back: fixed ports and processes that escape.

tests/test_grader.py covers syntax errors, crashes at import, loops, blocked sockets, huge
output and leftover threads and processes. Here: a submission that binds a fixed port and
keeps it with processes that leave the grader's process group, graded before one that wants
the same port (and would fail if those processes survived): each gets its own verdict in
bounded time, and neither is disturbed by the other.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import Resources

from wslab.exercises import SOLUTIONS
from wslab.grading import Status, grade_class

SOLVED = (SOLUTIONS / "ex01_accept_key.py").read_text()
#: Marks the processes the hostile submissions leave, so the test can look for survivors.
MARK = "wslab-hostile-leftover"


def holds_port(port: int) -> str:
    """A correct ex01 that, at import, listens on `port` (OSError if it is still held)."""
    return SOLVED + textwrap.dedent(
        f"""
        import socket
        _server = socket.socket()
        _server.bind(("127.0.0.1", {port}))
        _server.listen()
        """
    )


def escapes(port: int) -> str:
    """Also hands that socket to a child in a session of its own (out of the grader's
    process group), and leaves a daemon the classic way: fork, setsid, fork."""
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)", MARK]
    return holds_port(port) + textwrap.dedent(
        f"""
        import os, subprocess
        subprocess.Popen({sleeper!r}, pass_fds=[_server.fileno()], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv({sys.executable!r}, {sleeper!r})
            os._exit(0)
        """
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def survivors() -> list[str]:
    found = subprocess.run(["pgrep", "-f", MARK], capture_output=True, text=True).stdout.split()
    return [pid for pid in found if int(pid) != os.getpid()]


@pytest.fixture
def classroom(tmp_path: Path):
    port = free_port()
    submissions = {"a_escapes": escapes(port), "b_same_port": holds_port(port)}
    for name, source in submissions.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "ex01_accept_key.py").write_text(source)
    yield tmp_path, port
    for pid in survivors():  # never leave them running, even when the test fails
        os.kill(int(pid), 9)


def test_fixed_ports_and_escaped_processes_disturb_no_other_submission(classroom):
    """Each submission that takes a fixed port, or leaves a process outside the grader's
    process group, still gets full marks; the next one that wants the same port gets it;
    no process survives grading; the grader's own process is left as it was."""
    folder, port = classroom
    before = Resources.now()
    started = time.monotonic()
    reports = grade_class(folder, ["ex01"], timeout=20, test_timeout=5)
    elapsed = time.monotonic() - started
    results = {r.submission: r.results[0] for r in reports}
    assert {name: (r.points, r.status) for name, r in results.items()} == {
        name: (10, Status.PASSED) for name in results
    }, {name: r.first_failure for name, r in results.items()}
    assert elapsed < 20 * len(results)
    assert survivors() == []
    with socket.socket() as again:  # the port is free again
        again.bind(("127.0.0.1", port))
    now = Resources.now()
    assert now.threads <= before.threads and now.listening <= before.listening
