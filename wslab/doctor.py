"""`wslab.doctor()` / ``python -m wslab doctor``: is this machine ready for the course?

It reports the versions that matter and then proves the one thing every lesson relies on:
this Python process can start a WebSocket server in a background thread and round-trip a
message with it over loopback.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata

from .builtin import echo_server
from .client import connect

PACKAGES = ("websockets", "ipykernel", "ipywidgets", "jupyterlab")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def __str__(self) -> str:
        width = max(len(check.name) for check in self.checks)
        lines = [f"{'ok ' if c.ok else 'FAIL'} {c.name:<{width}}  {c.detail}" for c in self.checks]
        lines.append("all good: the course will run here" if self.ok else "some checks failed")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle: bool) -> None:
        p.text(str(self))


def doctor() -> Report:
    """Check versions and a live server round trip; returns a printable report."""
    report = Report()
    version_ok = sys.version_info >= (3, 11)
    report.checks.append(Check("python", version_ok, platform.python_version()))
    for name in PACKAGES:
        try:
            report.checks.append(Check(name, True, metadata.version(name)))
        except metadata.PackageNotFoundError:
            report.checks.append(Check(name, False, "not installed"))
    report.checks.append(_round_trip())
    return report


def _round_trip() -> Check:
    try:
        with echo_server(name="wslab-doctor") as server, connect(server.url) as client:
            started = time.perf_counter()
            reply = client.request("ping from doctor")
            elapsed = time.perf_counter() - started
        if reply != "ping from doctor":
            return Check("round trip", False, f"echo answered {reply!r}")
        return Check(
            "round trip", True, f"server thread on 127.0.0.1, echo in {elapsed * 1e3:.2f} ms"
        )
    except Exception as exc:
        return Check("round trip", False, f"{type(exc).__name__}: {exc}")
