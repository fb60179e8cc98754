"""Grading exercises: each submission's tests run in a subprocess with a time limit.

`grade()` grades one submission (a folder of ``exNN_topic.py`` files), `grade_class()` a folder
of submissions (one subfolder each) into a gradebook, and `check()` one exercise from a lesson.
"""

from .grader import check, grade, grade_class
from .results import ExerciseResult, Outcome, Report, Status, TestResult

__all__ = [
    "ExerciseResult",
    "Outcome",
    "Report",
    "Status",
    "TestResult",
    "check",
    "grade",
    "grade_class",
]
