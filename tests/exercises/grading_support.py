"""What exercise tests share: telling the learner where their code failed.

Imported as `grading_support` (this folder is on sys.path while its tests run); not a conftest,
because two conftest.py files would make `from conftest import ...` ambiguous.
"""

from __future__ import annotations

import traceback
from types import ModuleType


def where(error: BaseException, module: ModuleType | str | None) -> str:
    """`` (line N, in f)`` for the deepest frame of `error` in the learner's file, or ``""``."""
    path = module if module is None or isinstance(module, str) else module.__file__
    if isinstance(error, SyntaxError) and error.filename == path:
        return f" (line {error.lineno})"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == path]
    return f" (line {frames[-1].lineno}, in {frames[-1].name})" if frames else ""


def describe_error(error: BaseException | str, module: ModuleType | str | None) -> str:
    """One line a learner can act on: the exception, its message, and where in their file."""
    if isinstance(error, str):
        return error
    return f"{type(error).__name__}: {error}{where(error, module)}"
