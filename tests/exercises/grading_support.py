"""What exercise tests share: telling the learner where their code failed, and known mistakes.

Imported as `grading_support` (this folder is on sys.path while its tests run); not a conftest,
because two conftest.py files would make `from conftest import ...` ambiguous.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from types import ModuleType

import pytest


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


def must_raise(error: type[BaseException], function, *args, why: str) -> BaseException:
    """Call ``function(*args)``, which must raise `error`; return it.

    If it returns instead, fail saying which call should have been refused and `why`: a
    learner reads "parse_close(b'\\x03\\xf7') returned (1015, ''); it must raise ProtocolError
    because 1015 may not be sent", never pytest's bare "DID NOT RAISE".
    """
    try:
        got = function(*args)
    except error as exc:
        return exc
    call = f"{function.__name__}({', '.join(map(repr, args))})"
    pytest.fail(f"{call} returned {got!r}; it must raise {error.__name__} because {why}")


@dataclass(frozen=True)
class Mistake:
    """A real mistake, as a small change to the solution, and the tests that must catch it.

    ``variants/exNN_topic/mistakes.py`` lists them (``MISTAKES = [Mistake(...), ...]``); the
    exercise tests' conftest runs each test in `fails` on the solution changed by this mistake,
    and that test must fail, with a message containing `says` (what the learner reads) when it
    is given. With `only`, every other test of the exercise must pass: the mistake is all that
    is wrong with that answer.

    The change is `edits`, pairs ``(old, new)`` each replacing the one occurrence of `old` in
    the solution: a mistake of one line is stated in one line, and the rest of the answer is
    the solution's, whatever it becomes.
    """

    name: str
    description: str
    fails: tuple[str, ...]
    edits: tuple[tuple[str, str], ...] = ()
    says: str = ""
    only: bool = False

    def apply(self, solution: str) -> str:
        """The solution with this mistake; an error if an `old` is not exactly once in it."""
        if not self.edits:
            raise ValueError(f"mistake {self.name}: no edits, so no mistake")
        for old, new in self.edits:
            count = solution.count(old)
            if count != 1:
                raise ValueError(
                    f"mistake {self.name}: the solution has {count} copies of {old!r}, not 1"
                )
            solution = solution.replace(old, new)
        return solution
