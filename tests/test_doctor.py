"""`python -m wslab doctor` tells whether the course can run here."""

from __future__ import annotations

import subprocess
import sys

import wslab


def test_doctor_reports_versions_and_a_round_trip():
    """The report lists Python and the course's packages and a successful live round trip."""
    report = wslab.doctor()
    names = [check.name for check in report.checks]
    assert names == ["python", "websockets", "ipykernel", "ipywidgets", "jupyterlab", "round trip"]
    assert report.ok, str(report)
    assert "websockets" in str(report) and "all good" in str(report)


def test_doctor_leaves_no_server_running():
    """The doctor's own echo server is stopped when it is done."""
    wslab.doctor()
    assert wslab.running() == {}


def test_doctor_command_exits_zero():
    """`python -m wslab doctor` prints the report and exits 0 on a working machine."""
    result = subprocess.run(
        [sys.executable, "-m", "wslab", "doctor"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "round trip" in result.stdout and result.stderr == ""
