"""Scans of wslab's source: what its structure must never become.

- No import cycles: a module never imports, directly or through others, a module that imports
  it. Function-level imports count (they are how cycles hide); imports under
  ``if TYPE_CHECKING:`` do not, since they never run (they name a type, not a dependency).
- No private parts of a dependency: wslab uses what websockets, ipywidgets and the others
  document, so that their next release does not break the course.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import wslab

PACKAGE = Path(wslab.__file__).resolve().parent


def modules() -> dict[str, ast.Module]:
    """Every module of wslab by dotted name, parsed."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = ast.parse(path.read_text(), str(path))
    return found


def is_package(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()


# --- the import graph ---------------------------------------------------------------------------


def runtime_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except those under ``if TYPE_CHECKING:``."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        pending.extend(ast.iter_child_nodes(node))


def imported_modules(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The wslab modules that module `name` imports."""
    package = name if is_package(name) else name.rpartition(".")[0]
    targets = set()
    for node in runtime_imports(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in known else base)
    return {t for t in targets if t in known and t != name}


def import_graph() -> dict[str, set[str]]:
    trees = modules()
    return {name: imported_modules(name, tree, set(trees)) for name, tree in trees.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_is_read_whole():
    """The scan sees module-level, function-level and relative imports (its own check)."""
    graph = import_graph()
    assert "wslab._service" in graph["wslab.server"]  # module level, relative
    assert "wslab._process" in graph["wslab.server"]  # inside a function
    assert (
        "wslab.protocol" in graph["wslab.chat.server"]
        or "wslab.chat.protocol" in (graph["wslab.chat.server"])
    )
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_wslab_has_no_import_cycles():
    """No module of wslab imports, directly or not, a module that imports it."""
    found = cycles(import_graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


# --- private parts of dependencies --------------------------------------------------------------

#: Names websockets 17 does not document, which wslab once used to change its behaviour. Never
#: again: they may change in any release (see the issue "public APIs of our dependencies only").
UNDOCUMENTED = {
    "send_eof",  # ServerProtocol: patched to answer 400 to requests that are not HTTP
    "writes",  # Protocol: its output buffer
    "parser",
    "recv_messages",  # sync Connection: the assembler behind recv()
    "recv_flow_control",
    "mutex",  # sync Assembler: flow control state
    "paused",
    "resume",
    "high",
    "low",
    "all_connections",  # asyncio Server: also connections that are closing
}

#: Underscore names that are documented public API, and where.
DOCUMENTED_UNDERSCORE = {
    "_exit",  # os._exit: "the standard way to exit a child process" (os docs)
    "_fields_",  # ctypes.Structure fields (ctypes docs)
    "_repr_pretty_",  # IPython's display protocol (IPython docs)
    "_repr_mimebundle_",
    "_ipython_display_",
}


def defined_names(trees: dict[str, ast.Module]) -> set[str]:
    """Every name wslab itself binds: functions, classes, variables, attributes it assigns."""
    names = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return names


def dependency_imports(tree: ast.Module) -> Iterator[tuple[ast.AST, str]]:
    """Imports of modules from outside wslab and the standard library: (node, module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, node.module


def is_dependency(module: str) -> bool:
    top = module.partition(".")[0]
    return top != "wslab" and top not in sys.stdlib_module_names


def private_uses(trees: dict[str, ast.Module]) -> list[str]:
    """Each use of a dependency's private part in `trees`, as "module:line: what"."""
    ours = defined_names(trees)
    found = []
    for name, tree in trees.items():
        for node, module in dependency_imports(tree):
            if not is_dependency(module):
                continue
            hidden = [p for p in module.split(".") if p.startswith("_")]
            if isinstance(node, ast.ImportFrom):
                hidden += [a.name for a in node.names if a.name.startswith("_")]
            if hidden:
                found.append(f"{name}:{node.lineno}: imports {module} {hidden}")
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            attr = node.attr
            if attr in UNDOCUMENTED:
                found.append(f"{name}:{node.lineno}: .{attr} (undocumented in websockets)")
            elif (
                attr.startswith("_")
                and not attr.startswith("__")
                and attr not in DOCUMENTED_UNDERSCORE
                and attr not in ours
            ):
                found.append(f"{name}:{node.lineno}: .{attr} (a private name wslab never defines)")
    return found


def test_the_private_names_scan_finds_what_it_should():
    """The scan flags a dependency's private attribute, an undocumented websockets name and an
    import of a private module, and not wslab's own private attributes (its own check)."""
    source = (
        "import websockets.legacy._internal\n"
        "from websockets.asyncio.server import _private\n"
        "def f(connection, protocol):\n"
        "    connection._never_defined_by_wslab.append(1)\n"
        "    protocol.send_eof()\n"
        "    connection.recv_messages.mutex\n"
    )
    ours = (
        "class Mine:\n"
        "    def __init__(self):\n"
        "        self._lock = make()\n"
        "        self._lock.acquire()\n"  # ours: not flagged
    )
    trees = {"wslab.example": ast.parse(source), "wslab.ours": ast.parse(ours)}
    assert sorted(private_uses(trees)) == [
        "wslab.example:1: imports websockets.legacy._internal ['_internal']",
        "wslab.example:2: imports websockets.asyncio.server ['_private']",
        "wslab.example:4: ._never_defined_by_wslab (a private name wslab never defines)",
        "wslab.example:5: .send_eof (undocumented in websockets)",
        "wslab.example:6: .mutex (undocumented in websockets)",
        "wslab.example:6: .recv_messages (undocumented in websockets)",
    ]


def test_wslab_uses_no_private_part_of_its_dependencies():
    """No attribute that only a dependency could define as private (``x._y``), none of the
    websockets internals wslab once patched, no import of a private module or name."""
    found = private_uses(modules())
    assert found == [], "\n".join(found)
