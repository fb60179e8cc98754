"""A progress bar for measurements that take more than a second, wherever they run.

- in a Jupyter kernel: an ipywidgets bar (a dependency of the course already). Its stored
  output is the widget's text form at display time, ``HBox(children=(IntProgress(value=0,
  description='bench', max=N), Label(value='')))``: the same on every run for the same
  steps, which is what nbval compares;
- in a terminal: tqdm if it is installed, else a one-line text bar on stderr;
- anywhere else (output captured, a pipe, a test): nothing.

Never stdout: a table printed after the bar must be the only output of a command.

Use it as a context manager: how the block ends is what the bar says at the end, "done",
"interrupted" (KeyboardInterrupt: the kernel's stop button, Ctrl-C) or "failed".
"""

from __future__ import annotations

import enum
import sys
from types import TracebackType
from typing import Any, Self


class Outcome(enum.Enum):
    """How the measurement under a bar ended."""

    DONE = "done"
    INTERRUPTED = "interrupted"
    FAILED = "failed"

    @classmethod
    def of(cls, error: BaseException | None) -> Outcome:
        if error is None:
            return cls.DONE
        if isinstance(error, KeyboardInterrupt):
            return cls.INTERRUPTED
        return cls.FAILED


class Bar:
    """A progress bar: `update()` after each step; leaving the ``with`` block ends it."""

    def update(self, note: str = "") -> None:
        pass

    def finish(self, outcome: Outcome) -> None:
        """Show how it ended; the bar takes no more updates."""

    def close(self) -> None:
        self.finish(Outcome.DONE)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.finish(Outcome.of(error))


def progress(total: int, description: str = "bench", enabled: bool | None = None) -> Bar:
    """A bar over `total` steps; `enabled=None` shows one only in a kernel or a terminal."""
    if enabled is None:
        enabled = _in_kernel() or sys.stderr.isatty()
    if not enabled or total <= 0:
        return _NoBar()
    if _in_kernel():
        return _WidgetBar(total, description)
    try:
        from tqdm import tqdm  # optional: the text bar below does the same job
    except ImportError:
        return _TextBar(total, description)
    return _TqdmBar(tqdm(total=total, desc=description, leave=False, file=sys.stderr))


def _in_kernel() -> bool:
    if "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


class _NoBar(Bar):
    pass


class _WidgetBar(Bar):
    def __init__(self, total: int, description: str) -> None:
        import ipywidgets
        from IPython.display import display

        self._bar = ipywidgets.IntProgress(value=0, max=total, description=description)
        self._label = ipywidgets.Label(value="")
        display(ipywidgets.HBox([self._bar, self._label]))

    def update(self, note: str = "") -> None:
        self._bar.value += 1
        self._label.value = note

    STYLES = {Outcome.DONE: "success", Outcome.INTERRUPTED: "warning", Outcome.FAILED: "danger"}

    def finish(self, outcome: Outcome) -> None:
        self._bar.bar_style = self.STYLES[outcome]
        self._label.value = outcome.value


class _TqdmBar(Bar):
    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def update(self, note: str = "") -> None:
        self._bar.set_postfix_str(note, refresh=False)
        self._bar.update(1)

    def finish(self, outcome: Outcome) -> None:
        if outcome is not Outcome.DONE:
            self._bar.set_postfix_str(outcome.value)
        self._bar.close()


class _TextBar(Bar):
    WIDTH = 30

    def __init__(self, total: int, description: str) -> None:
        self._total, self._done, self._description = total, 0, description
        self._draw("")

    def update(self, note: str = "") -> None:
        self._done += 1
        self._draw(note)

    def finish(self, outcome: Outcome) -> None:
        if outcome is Outcome.DONE:
            sys.stderr.write("\r\033[K")  # erase the bar: what stays on screen is the result
        else:  # leave it, saying where it stopped
            self._draw(outcome.value)
            sys.stderr.write("\n")
        sys.stderr.flush()

    def _draw(self, note: str) -> None:
        filled = self.WIDTH * self._done // self._total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stderr.write(f"\r\033[K{self._description} [{bar}] {self._done}/{self._total} {note}")
        sys.stderr.flush()
