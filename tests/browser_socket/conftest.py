"""Fixtures of the browser-socket tests: Chromium as the learner-path tests launch it."""

from learner_path.conftest import browser  # noqa: F401  (the same Chromium fixture)
