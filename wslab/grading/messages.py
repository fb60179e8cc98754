"""Failure messages a learner can act on, made from the exception a test ended with.

pytest's reports speak pytest: assertion rewriting (``assert 'a' == 'b'``, "Use -v to get
more diff"), object reprs with addresses (``<function f at 0x7f...>``), hypothesis' notes
("Falsifying example: test_x(submission=<module ...>)") and "DID NOT RAISE". The learner needs
three things instead: what was expected, what happened, and where in *their* file. So:

- an exception raised in the learner's code names their file, line and function;
- a test's own message (``assert x, "message"`` or ``pytest.fail(message)``) is kept whole,
  newlines included, without pytest's introspection after it;
- a bare assertion is shown by its source line in the test, with the introspection cleaned;
- a test stopped at its time limit says where the test and the learner's code were.

Every function here is pure (exception in, text out), so each rule is tested on its own.
"""

from __future__ import annotations

import linecache
import re
import traceback
from collections.abc import Callable
from pathlib import Path

#: A message longer than this is cut: a verdict must stay readable.
MAX_MESSAGE = 2000

# Object reprs that carry an address or a path: ``<function f at 0x...>``, ``<module 'x' from
# '/path'>``, ``<Foo object at 0x...>``. Shown by name only.
_ADDRESSED = re.compile(
    r"<(?:bound method |function |class |built-in function )?([\w.]+)(?: object)? at 0x[0-9a-f]+>"
)
_MODULE = re.compile(r"<module '([\w.]+)'(?: from '[^']*')?>")
_PYTEST_NOISE = re.compile(
    r"^\s*(Use -v to get more diff|Use -vv to get more diff|Full diff:|"
    r"Omitting \d+ identical items.*|\.\.\.Full output truncated.*)\s*$"
)


def clean(text: str) -> str:
    """Remove pytest's internals from a message: addresses, module paths, "-v" hints."""
    text = _ADDRESSED.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    text = _MODULE.sub(
        lambda m: "your module" if m.group(1).startswith("submission_") else m.group(1), text
    )
    lines = [line.rstrip() for line in text.splitlines() if not _PYTEST_NOISE.match(line)]
    text = "\n".join(lines).strip()
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    return text


def _frames(error: BaseException) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(error.__traceback__))


def _place(frame: traceback.FrameSummary) -> str:
    """``ex01_accept_key.py, line 3, in accept_key: <source>`` (a bare ``raise`` line left
    out: the exception's message already says it)."""
    source = (frame.line or linecache.getline(frame.filename, frame.lineno or 0)).strip()
    where = f"{Path(frame.filename).name}, line {frame.lineno}, in {frame.name}"
    return f"{where}: {source}" if source and not source.startswith("raise ") else where


def learner_frame(
    error: BaseException, is_learner: Callable[[str], bool]
) -> traceback.FrameSummary | None:
    """The deepest frame of `error`'s traceback in the learner's file, if any."""
    if isinstance(error, SyntaxError) and error.filename and is_learner(error.filename):
        return traceback.FrameSummary(error.filename, error.lineno or 0, "<module>", line="")
    frames = [f for f in _frames(error) if is_learner(f.filename)]
    return frames[-1] if frames else None


def test_frame(error: BaseException, test_file: str | None) -> traceback.FrameSummary | None:
    """The deepest frame of `error`'s traceback in the test module."""
    frames = [f for f in _frames(error) if test_file and f.filename == test_file]
    return frames[-1] if frames else None


def _own_message(text: str) -> str | None:
    """The test's own message from a rewritten assertion ("message\\nassert ..."), if any."""
    if text.startswith("assert "):
        return None
    head, separator, _ = text.partition("\nassert ")
    return head if separator or text else None


def describe(
    error: BaseException,
    *,
    is_learner: Callable[[str], bool],
    test_file: str | None = None,
) -> str:
    """The message for a test that ended with `error` (any exception, learner's or test's)."""
    # Hypothesis adds "Falsifying example: test(submission=<module...>)" as notes: the test's
    # own message already says which input failed.
    name = type(error).__name__
    text = str(error)
    in_test = test_frame(error, test_file)
    if name == "Failed" or type(error).__module__.startswith("_pytest"):
        if text.startswith("DID NOT RAISE"):
            raised = re.sub(r"<class '(?:[\w.]+\.)?(\w+)'>", r"\1", text[13:]).strip(" ()")
            where = f"\n(the test's check at {_place(in_test)})" if in_test else ""
            return clean(
                f"expected your code to raise {raised} here, but it returned normally{where}"
            )
        return clean(text)
    mine = learner_frame(error, is_learner)
    deepest = _frames(error)[-1:]
    raised_by_learner = mine is not None and deepest and is_learner(deepest[0].filename)
    if isinstance(error, AssertionError) and not raised_by_learner:
        own = _own_message(text)
        if own:
            return clean(own)
        check = _place(in_test) if in_test else "a check of the test"
        return clean(f"this check failed: {check}\n{text}")
    headline = f"{name}: {text}" if text else name
    if isinstance(error, SyntaxError):
        headline = f"SyntaxError: {error.msg}"
    if mine is not None:
        return clean(f"{headline}\n(raised in {_place(mine)})")
    if in_test is not None:
        return clean(f"{headline}\n(in the test, {_place(in_test)})")
    return clean(headline)


def timed_out(
    limit: float,
    error: BaseException,
    *,
    is_learner: Callable[[str], bool],
    test_file: str | None = None,
) -> str:
    """The message for a test stopped at its time limit: where the test and the learner were."""
    lines = [f"did not finish within {limit:g} s (an infinite loop, or waiting for ever?)"]
    in_test = test_frame(error, test_file)
    if in_test is not None:
        lines.append(f"the test was at {_place(in_test)}")
    mine = learner_frame(error, is_learner)
    if mine is not None:
        lines.append(f"your code was at {_place(mine)}")
    return clean("\n".join(lines))
