"""The project's own files agree with each other: dependencies, sanitizer, notebooks."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from nbval.plugin import get_sanitize_patterns

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
#: conda-forge's names for packages PyPI names otherwise ("redis" there is a stale old client).
CONDA_NAMES = {"redis-py": "redis"}


def requirement(spec: str) -> tuple[str, str]:
    """Split 'name>=1,<2' into a normalised (name, ranges) pair, as pip and conda both read it."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", spec)
    assert match, spec
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    name = CONDA_NAMES.get(name, name)
    return name, ",".join(sorted(part.strip() for part in match.group(2).split(",") if part))


def test_environment_yml_and_pyproject_name_the_same_dependencies():
    """environment.yml lists exactly the packages and ranges of pyproject.toml (course + tests)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_side = dict(
        requirement(spec)
        for spec in project["dependencies"] + project["optional-dependencies"]["test"]
    )
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_side = dict(
        requirement(spec)
        for spec in environment["dependencies"]
        if isinstance(spec, str) and requirement(spec)[0] not in ("python", "pip")
    )
    assert conda_side == pip_side
    python = next(
        s
        for s in environment["dependencies"]
        if isinstance(s, str) and requirement(s)[0] == "python"
    )
    assert requirement(python)[1] == project["requires-python"]


@pytest.mark.parametrize(
    "package, required",
    [
        ("websockets", ">=17,<18"),
        ("ipywidgets", ">=8,<9"),
        ("ipykernel", ">=7.1,<8"),
        ("jupyterlab", ">=4,<5"),
    ],
)
def test_pins_are_the_ranges_the_course_is_tested_with(package, required):
    """The core packages are pinned to the ranges the course is written and tested for."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = dict(requirement(spec) for spec in project["dependencies"])
    assert pins[package] == requirement(package + required)[1]


class TestSanitizer:
    """The sanitize file, read exactly the way nbval reads it."""

    patterns = dict(get_sanitize_patterns(SANITIZE.read_text()))

    def sanitize(self, text: str) -> str:
        for regex, replace in self.patterns.items():
            text = re.sub(regex, replace, text)
        return text

    def test_every_section_yields_a_pattern(self):
        """Every [section] holds one regex/replace pair that nbval picks up (no stray spaces)."""
        sections = re.findall(r"^\[(.+)\]$", SANITIZE.read_text(), flags=re.MULTILINE)
        assert len(self.patterns) == len(sections) > 0
        for regex, replace in self.patterns.items():
            re.compile(regex)
            assert regex == regex.strip() and replace == replace.strip()

    @pytest.mark.parametrize(
        "varying, same",
        [
            ("ws://127.0.0.1:41234/", "ws://127.0.0.1:50000/"),
            (
                "<Server 'echo' ws://127.0.0.1:33333/ running>",
                "<Server 'echo' ws://127.0.0.1:4/ running>",
            ),
            ("at 0x7f3a2b1c4d50>", "at 0x7f0000000000>"),
            ("mask 0x37fa213d", "mask 0x00000000"),
            ("      12.3 ms  INFO", "       0.4 ms  INFO"),
            ("echo in 0.31 ms", "echo in 12.00 ms"),
            (
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==",
            ),
            (
                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
            ("/tmp/tmpab12_x/file", "/tmp/tmpzz99/file"),
            ("Date: Thu, 26 Nov 2026 20:18:00 GMT", "Date: Fri, 01 Jan 2027 00:00:59 GMT"),
            ("User-Agent: Python/3.11 websockets/17.4", "User-Agent: Python/3.12 websockets/17.10"),
        ],
    )
    def test_varying_values_compare_equal(self, varying, same):
        """Values that differ from run to run are replaced by the same placeholder."""
        assert self.sanitize(varying) == self.sanitize(same)

    @pytest.mark.parametrize(
        "text, other",
        [
            ("len=5", "len=6"),
            ("1000 'bye'", "1001 'bye'"),
            ("'Hello'", "'Hellp'"),
            ("    11  'Hello'", "    12  'Hello'"),
        ],
    )
    def test_teaching_values_still_compare(self, text, other):
        """Values that teach something (lengths, codes, payloads, sizes) are not sanitized away."""
        assert self.sanitize(text) != self.sanitize(other)


def tags(cell) -> set[str]:
    """A cell's tags: nbval, nbclient and JupyterLab all read these, and nothing else."""
    return set(cell.get("metadata", {}).get("tags", []))


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


# Words of the course's test tooling. Lessons speak to learners, who never meet these tools.
TOOLING = re.compile(
    r"nbval|\bchecker\b|\bsanitiz|not\s+compared|output\s+is\s+compared|\bpytest\b", re.IGNORECASE
)


def checked_exercises(path: Path) -> set[str]:
    """The exercises a lesson grades with `wslab.check("exNN")`."""
    return {
        m
        for c in code_cells(path)
        for m in re.findall(r'wslab\.check\("(ex\d\d)"\)', "".join(c["source"]))
    }


def test_every_exercise_is_checked_in_a_lesson():
    """Each exercise in exercises/ is introduced and graded by a lesson's wslab.check() cell."""
    exercises = {p.name[:4] for p in (ROOT / "exercises").glob("ex*.py")}
    checked = set().union(*(checked_exercises(path) for path in NOTEBOOKS))
    assert len(exercises) >= 10 and checked == exercises


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lessons_link_the_exercises_they_check(path):
    """A lesson that grades an exercise links its file with a relative link that resolves, so
    one click in JupyterLab opens it in the editor."""
    text = "".join(
        "".join(c["source"])
        for c in json.loads(path.read_text())["cells"]
        if c["cell_type"] == "markdown"
    )
    links = re.findall(r"\]\((\.\./exercises/ex\d\d_\w+\.py)\)", text)
    for link in links:
        assert (path.parent / link).resolve().is_file(), link
    assert {Path(link).name[:4] for link in links} >= checked_exercises(path)


LESSONS_WITH_PICTURES = [p for p in NOTEBOOKS if p.name[:2] not in ("00",)]


@pytest.mark.parametrize("path", LESSONS_WITH_PICTURES, ids=lambda p: p.name)
def test_lessons_store_their_pictures(path):
    """Every lesson after the welcome stores at least one picture (PNG) in its outputs."""
    notebook = json.loads(path.read_text())
    pictures = [
        output
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell["outputs"]
        if "image/png" in output.get("data", {})
    ]
    assert pictures


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
class TestNotebooks:
    def test_kernelspec_is_python3(self, path):
        """Every notebook runs on the kernelspec named python3."""
        notebook = json.loads(path.read_text())
        assert notebook["metadata"]["kernelspec"]["name"] == "python3"

    def test_outputs_are_stored(self, path):
        """Every code cell has been executed, in order, so nbval has outputs to compare."""
        notebook = json.loads(path.read_text())
        counts = [c["execution_count"] for c in notebook["cells"] if c["cell_type"] == "code"]
        assert counts == list(range(1, len(counts) + 1))

    def test_no_fixed_ports(self, path):
        """No code cell binds or connects to a fixed port (servers bind port 0)."""
        notebook = json.loads(path.read_text())
        fixed = re.compile(r"(port\s*=\s*[1-9]\d{3,4}\b|wss?://[\w.\[\]:]+:[1-9]\d{3,4}\b)")
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert not fixed.search("".join(cell["source"]))

    def test_at_least_half_of_the_outputs_are_compared(self, path):
        """At least half of the code cells that produce output have that output checked by nbval."""
        notebook = json.loads(path.read_text())
        with_output = [c for c in notebook["cells"] if c["cell_type"] == "code" and c["outputs"]]
        ignored = [c for c in with_output if "nbval-ignore-output" in tags(c)]
        assert len(ignored) <= len(with_output) / 2, f"{len(ignored)} of {len(with_output)} ignored"

    def test_no_cell_is_skipped(self, path):
        """No cell is skipped by nbval: every cell runs when the notebook is validated."""
        for cell in code_cells(path):
            assert "nbval-skip" not in tags(cell)

    def test_no_nbval_comments(self, path):
        """Cells are marked with tags, never with `# NBVAL_...` comments (JupyterLab ignores
        comments: Run All would stop at an expected error)."""
        for cell in code_cells(path):
            assert not re.search(r"#\s*NBVAL_", "".join(cell["source"])), "".join(cell["source"])

    def test_expected_errors_are_tagged(self, path):
        """A cell stores an error exactly when it carries the raises-exception tag, so Run All in
        JupyterLab continues past every error the lesson shows on purpose."""
        for cell in code_cells(path):
            failed = any(output["output_type"] == "error" for output in cell["outputs"])
            assert failed == ("raises-exception" in tags(cell)), "".join(cell["source"])

    def test_lessons_speak_to_learners(self, path):
        """No text or code a learner sees names our test tooling ("nbval", "the checker", ...)."""
        for cell in json.loads(path.read_text())["cells"]:
            found = TOOLING.search("".join(cell["source"]))
            assert not found, f"{found.group()!r} in: {''.join(cell['source'])[:200]}"

    def test_ends_by_stopping_everything(self, path):
        """The last code cell stops every server, so nothing is left running."""
        notebook = json.loads(path.read_text())
        last = [c for c in notebook["cells"] if c["cell_type"] == "code"][-1]
        assert "wslab.stop_all()" in "".join(last["source"])


def test_test_modules_have_unique_names():
    """pytest imports test modules by their file name (no packages under tests/), so two
    folders holding a test_server.py stop the whole run at collection."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
