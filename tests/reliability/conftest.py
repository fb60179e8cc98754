"""The counts behind the reliability tests, printed at the end of the run.

Only a terminal summary lives here: the tests record what they tried with pytest's
`record_property`, and this hook adds it up from the test reports. Nothing here is imported by
the tests (see tests/helpers.py on why conftest modules are not shared).
"""

from __future__ import annotations

from collections import defaultdict

import pytest

COLUMNS = (
    "cases",
    "as expected",
    "HTTP status",
    "close code",
    "hang-up",
    "held open",
    "gone",
    "crashes",
    "sent",
    "lost",
    "leaks",
    "printed",
)


def _records(terminalreporter: pytest.TerminalReporter, name: str) -> list[dict]:
    records = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            records += [value for key, value in report.user_properties if key == name]
    return records


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    records = _records(terminalreporter, "bad_input")
    if not records:
        return
    rows: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for record in records:
        row = rows[record["server"]]
        outcome = record["outcome"] or ""
        row["cases"] += 1
        row["as expected"] += record["as_expected"]
        row["HTTP status"] += outcome.isdigit()
        row["close code"] += outcome.startswith("close ")
        row["hang-up"] += outcome == "closed"
        row["held open"] += outcome == "open"
        row["gone"] += record["outcome"] is None
        for column in ("crashes", "sent", "lost", "leaks", "printed"):
            row[column] += record[column]
    total = {column: sum(row[column] for row in rows.values()) for column in COLUMNS}
    write = terminalreporter.write_line
    terminalreporter.section("bad input per server (tests/reliability/corpus.py)")
    widths = [max(len(column), 5) + 2 for column in COLUMNS]
    write(f"{'server':<7}" + "".join(f"{c:>{w}}" for c, w in zip(COLUMNS, widths, strict=True)))
    for server, row in [*rows.items(), ("total", total)]:
        cells = (f"{row[c]:>{w}}" for c, w in zip(COLUMNS, widths, strict=True))
        write(f"{server:<7}" + "".join(cells))
    write(
        "cases: bad inputs tried; HTTP status, close code, hang-up, held open: what the bad "
        "client got; gone: it vanished or flooded, nothing to read; sent/lost: messages of the "
        "well-behaved clients connected alongside; leaks: threads or sockets left after the "
        "server stopped; printed: output on stdout/stderr."
    )
