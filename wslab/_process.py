"""`serve_process()`: a wslab server in a child process, for measurements.

A server on a loop thread of the kernel shares the GIL with the client in the cell: good for
seeing frames, wrong for measuring speed, because the client and the server then take turns
on one core. A `ProcessServer` runs the same server in a child Python process instead and has
the same surface as `Server` (.url .host .port .running .stop(), a context manager, a name in
the registry so that re-running a cell replaces it, stopped by `wslab.stop_all()` and at exit).

What runs in the child is named, not passed: a subprocess cannot receive a closure. A target is
a built-in name ("echo", "push", "http", "room", "tcp-echo", "bench") or "package.module:attr"
naming either a handler (``async def handler(websocket)``, served by `wslab.serve` in the
child) or a factory that starts a service (called with ``name=`` and the options, like
`wslab.http_server`). Options travel as JSON.

How parent and child talk, and why the child can never outlive the parent:

- the child reports ``{"host", "port", "scheme", "pid"}`` as one JSON line on a pipe, then
  answers one JSON line per request (``stats``, ``log``, ``wait_idle``) read from its stdin;
- end of file on its stdin means "stop": when the parent stops the server, or dies, the pipe
  closes and the child shuts its server down and exits;
- a child that does not exit within `stop_grace` seconds (a handler that blocks its loop, a
  stopped process) gets SIGTERM, then SIGKILL;
- the child's stdout and stderr (tracebacks, a handler's print()) go to the service's log,
  never to the notebook.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import inspect
import json
import os
import subprocess
import sys
import threading
import traceback
from importlib import import_module
from pathlib import Path
from typing import Any

from ._handlers import check_handler
from ._limits import raise_open_files_limit
from ._log import LogEntry, LogView
from ._service import START_TIMEOUT, Service

#: What the child calls to serve a handler: found by name, like every target the child runs.
#: The parent never needs it (and `wslab.server` imports this module for the older
#: ``serve(..., process=True)`` spelling).
HANDLER_SERVER = "wslab.server:serve"

#: Built-in servers by name, as "module:factory". Each factory takes ``name=`` and options.
BUILTINS: dict[str, str] = {
    "echo": "wslab.builtin:echo_server",
    "push": "wslab.builtin:push_server",
    "http": "wslab.http_server:http_server",
    "room": "wslab.bench.servers:room_server",
    "tcp-echo": "wslab.bench.servers:tcp_echo_server",
    "bench": "wslab.bench.servers:bench_server",
}

#: Seconds a child may take to exit after its stdin closes, before SIGTERM (then SIGKILL).
STOP_GRACE = 3.0
#: stop() must end within Service's STOP_TIMEOUT: grace, then 2 s for SIGTERM, 2 for SIGKILL.
MAX_STOP_GRACE = 5.0
#: Seconds a request to the child (stats, log) may take.
CALL_TIMEOUT = 10.0
#: Seconds the child gives its own server to stop before exiting anyway.
CHILD_STOP_TIMEOUT = 10.0

# The child is started with `python -c`, not `-m`, so that importing wslab first (as the
# package __init__ does) triggers no runpy warning; it is the same interpreter as ours.
_CHILD_COMMAND = "from wslab._process import _child_main; _child_main()"
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


class ProcessServer(Service):
    """A wslab server running in a child process; see `serve_process()`."""

    kind = "process server"

    def __init__(
        self, target: str, name: str, options: dict[str, Any], stop_grace: float = STOP_GRACE
    ) -> None:
        super().__init__(name)
        self.target = target
        """What the child runs: a built-in name or "module:attr"."""
        self.options = options
        self.stop_grace = min(stop_grace, MAX_STOP_GRACE)
        self.pid: int | None = None
        """The child's process id (never this process's)."""
        self.scheme = "ws"
        self._process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task | None = None
        self._ask_lock = asyncio.Lock()
        self._out_of_step = False
        self._child_log: list[LogEntry] = []

    # --- public API ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True from a successful start until `stop()`, and while the child is alive."""
        return super().running and self.returncode is None

    @property
    def returncode(self) -> int | None:
        """The child's exit status once it has ended (negative: killed by that signal)."""
        return None if self._process is None else self._process.returncode

    @property
    def connections(self) -> int:
        """Connections open right now in the child (0 when stopped)."""
        return int(self.stats().get("connections", 0)) if self.running else 0

    @property
    def connections_total(self) -> int:
        """Connections the child has accepted since it started (0 when stopped)."""
        return int(self.stats().get("connections_total", 0)) if self.running else 0

    def stats(self) -> dict[str, Any]:
        """The child's counters: pid, rss (resident memory, bytes) and what its service
        counts (connections...)."""
        if not self.running:
            raise RuntimeError(f"{self.kind} {self.name!r} is stopped")
        return self._call("stats")

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every connection's handler in the child has finished."""
        self._call("wait_idle", timeout=timeout, call_timeout=timeout + CALL_TIMEOUT)

    def log(self, level: str | None = None) -> LogView:
        """The child's service log followed by what the child wrote to stdout and stderr."""
        if self.running:
            with contextlib.suppress(Exception):  # a child that no longer answers has no news
                self._child_log = [LogEntry(*entry) for entry in self._call("log")["entries"]]
        entries = self._child_log + list(self._log.view())
        if level is not None:
            entries = [e for e in entries if e.level == level.upper()]
        return LogView(sorted(entries, key=lambda e: e.t))

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ProcessServer {self.name!r} {self.url} pid {self.pid} {state}>"

    # --- lifecycle -------------------------------------------------------------------------

    async def _start(self) -> tuple[str, int]:
        config = {
            "target": self.target,
            "name": self.name,
            "options": self.options,
            "path": [p for p in sys.path if p],
            "clock": self._log_origin(),
        }
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD_COMMAND,
            json.dumps(config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            # Its own session: a Ctrl-C in a terminal reaches us, and we decide what the child does.
            start_new_session=True,
            limit=2**24,  # one JSON line may carry the whole log
        )
        self.pid = self._process.pid
        self._stderr_task = asyncio.create_task(self._read_stderr(self._process.stderr))
        try:
            async with asyncio.timeout(START_TIMEOUT - 2):
                line = await self._process.stdout.readline()
            hello = json.loads(line) if line else {"error": "exited before reporting its port"}
        except BaseException:
            await self._end_child(grace=0)
            raise
        if "error" in hello:
            await self._end_child(grace=1.0)
            # An error the child could name says it all; otherwise its stderr may.
            output = None if "type" in hello else self._log.view("ERROR")
            raise _child_error(
                hello, f"{self.kind} {self.name!r} ({self.target}) did not start", output
            )
        self.scheme = hello["scheme"]
        self._log.info(f"child process {self.pid} runs {self.target}")
        return hello["host"], hello["port"]

    async def _stop(self) -> None:
        with contextlib.suppress(Exception):  # keep the child's log; a hung child has none
            async with asyncio.timeout(1.0):
                self._child_log = [LogEntry(*e) for e in (await self._ask("log"))["entries"]]
        await self._end_child(self.stop_grace)

    async def _end_child(self, grace: float) -> None:
        """Close the child's stdin (its signal to stop); after `grace` s, SIGTERM, then SIGKILL."""
        process = self._process
        if process is None:
            return
        with contextlib.suppress(Exception):
            process.stdin.close()
        for signal_child in (None, process.terminate, process.kill):
            if signal_child is not None:
                with contextlib.suppress(ProcessLookupError):
                    signal_child()
            try:
                async with asyncio.timeout(grace if signal_child is None else 2.0):
                    await process.wait()
                break
            except TimeoutError:
                self._log.error(
                    f"child process {process.pid} still running: "
                    f"{'SIGKILL' if signal_child else 'SIGTERM'}"
                )
        if self._stderr_task is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self._stderr_task
        self._log.info(f"child process {process.pid} exited with {process.returncode}")

    # --- talking to the child --------------------------------------------------------------

    def _call(self, op: str, call_timeout: float = CALL_TIMEOUT, **fields: Any) -> dict[str, Any]:
        reply = self._loop.run(self._ask(op, **fields), timeout=call_timeout)
        if "error" in reply:
            raise _child_error(reply, f"{op} failed in {self.name!r}")
        return reply

    async def _ask(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self._process is not None
        async with self._ask_lock:
            if self._out_of_step:
                raise RuntimeError(f"the child process of {self.name!r} stopped answering")
            try:
                self._process.stdin.write(json.dumps({"op": op, **fields}).encode() + b"\n")
                await self._process.stdin.drain()
                line = await self._process.stdout.readline()
            except BaseException:
                # Given up on mid-request (a timeout): its answer may still come and would be
                # taken for the next one's. Ask nothing more of this child.
                self._out_of_step = True
                raise
        if not line:
            raise RuntimeError(f"the child process of {self.name!r} is gone")
        return json.loads(line)

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        # Whatever the child writes (a handler's print(), a traceback) ends up in our log.
        while line := await stream.readline():
            self._log.error(f"child: {line.decode(errors='replace').rstrip()}")

    def _log_origin(self) -> float:
        # perf_counter() reads a clock shared by all processes of the machine (CLOCK_MONOTONIC
        # on Linux, mach_absolute_time on macOS, QueryPerformanceCounter on Windows): the
        # child sends its log times on our log's time axis, so log() interleaves both.
        return self._log._start


def serve_process(
    target: Any, name: str | None = None, *, stop_grace: float = STOP_GRACE, **options: Any
) -> ProcessServer:
    """Run a server in a child process and return a `ProcessServer` once it listens.

    `target`: a built-in name ("echo", "push", "http", "room", "tcp-echo", "bench"), a string
    "module:attr", or an importable handler or factory function (not one defined in a notebook
    cell: the child cannot import that). Options go to the child's `wslab.serve` (handlers) or
    to the factory (e.g. ``serve_process("push", interval=0.1)``); they must be JSON values.
    A server running under `name` (default: the target's name) is stopped first.
    """
    spec = target_spec(target)
    if inspect.iscoroutinefunction(target):
        check_handler(target)  # the mistakes learners make, caught before a process starts
    try:
        json.dumps(options)
    except TypeError as exc:
        raise TypeError(f"options of a process server must be JSON values: {exc}") from None
    name = name or spec.rsplit(":", 1)[-1].rsplit(".", 1)[-1].removesuffix("_server")
    return ProcessServer(spec, name, options, stop_grace).start()


def target_spec(target: Any) -> str:
    """The name a child process can import `target` by, or TypeError/ValueError saying why not."""
    if isinstance(target, str):
        if target in BUILTINS or ":" in target:
            return target
        raise ValueError(
            f"unknown server {target!r}: use one of {sorted(BUILTINS)} or 'module:function'"
        )
    if not callable(target):
        raise TypeError(f"a process server needs a handler or a name, got {target!r}")
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname:
        raise TypeError(
            f"{qualname or target!r} cannot run in another process: the child imports what it "
            "runs by name, and a function defined in a notebook cell or inside another function "
            "has none. Put it in a .py file and pass it (or 'module:function') instead."
        )
    return f"{module}:{qualname}"


def _child_error(reply: dict[str, Any], context: str, log: LogView | None = None) -> Exception:
    """Rebuild the child's exception as the same built-in type where there is one."""
    kind = getattr(builtins, reply.get("type", ""), RuntimeError)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = RuntimeError
    details = f"\n{log}" if log else ""
    return kind(f"{context}: {reply['error']}{details}")


# --- the child side -------------------------------------------------------------------------


def _child_main() -> None:
    """Entry point of the child process: start the service, answer requests until EOF."""
    config = json.loads(sys.argv[1])
    # Our replies go to the original stdout; anything else printed goes to stderr, which the
    # parent logs, so that a handler's print() cannot break the conversation.
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path[:0] = [p for p in config["path"] if p not in sys.path]
    raise_open_files_limit()  # a server measured with 1,000 clients

    def reply(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message) + "\n")

    try:
        service = _start_service(config["target"], config["name"], config["options"])
        hello = {"host": service.host, "port": service.port, "scheme": service.scheme}
    except BaseException as exc:  # noqa: BLE001 -- reported to the parent, which raises it
        traceback.print_exc()
        reply({"error": f"{type(exc).__name__}: {exc}", "type": type(exc).__name__})
        sys.stderr.flush()
        os._exit(1)
    reply({**hello, "pid": os.getpid()})
    for line in sys.stdin:  # until EOF: the parent stopped us, or is gone
        request = json.loads(line)
        try:
            reply(_answer(service, request, config["clock"]))
        except Exception as exc:  # noqa: BLE001 -- a failed request must not kill the server
            reply({"error": f"{type(exc).__name__}: {exc}", "type": type(exc).__name__})
    # Stop gracefully if the server lets us, but exit in any case: a handler stuck in a loop
    # must not keep the process alive after its parent has gone.
    stopper = threading.Thread(target=service.stop, daemon=True)
    stopper.start()
    stopper.join(CHILD_STOP_TIMEOUT)
    sys.stderr.flush()
    os._exit(0)


def _start_service(target: str, name: str, options: dict[str, Any]) -> Any:
    obj = _resolve(BUILTINS.get(target, target))
    if inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(
        getattr(obj, "__call__", None)  # noqa: B004 -- an object with an async __call__
    ):
        return _resolve(HANDLER_SERVER)(obj, name=name, **options)
    if not callable(obj):
        raise TypeError(f"{target} is neither a handler nor a factory of a server")
    return obj(name=name, **options)


def _resolve(spec: str) -> Any:
    """The object "package.module:attr.attr" names."""
    module_name, _, attr = spec.partition(":")
    obj: Any = import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _answer(service: Any, request: dict[str, Any], clock: float) -> dict[str, Any]:
    op = request["op"]
    if op == "stats":
        counters = {"pid": os.getpid(), "rss": rss_bytes()}
        for attr in (
            "connections",
            "connections_total",
            "open_connections",
            "requests_total",
            "waiting",
            "last_seq",
        ):
            value = getattr(service, attr, None)
            if isinstance(value, int):
                counters[attr] = value
        counters["errors"] = [repr(e) for e in getattr(service, "errors", [])]
        return counters
    if op == "log":
        # Times on the parent's axis: see ProcessServer._log_origin.
        offset = service._log._start - clock
        return {"entries": [(e.t + offset, e.level, e.message) for e in service.log()]}
    if op == "wait_idle":
        service.wait_idle(request["timeout"])
        return {"idle": True}
    raise ValueError(f"unknown request {op!r}")


def rss_bytes() -> int:
    """The memory this process has resident now, in bytes, on Linux, macOS and Windows.

    POSIX: ``ps -o rss=`` (KiB; XSI, on Linux and macOS alike), not /proc (Linux only) and not
    `resource.getrusage`, whose peak figure a child inherits from its parent across fork and
    exec on Linux. Windows: the working set, from psapi.
    """
    if sys.platform == "win32":
        return _windows_working_set()
    ps = subprocess.run(
        ["ps", "-o", "rss=", "-p", str(os.getpid())],
        capture_output=True,
        text=True,
        check=True,
        timeout=CALL_TIMEOUT,
    )
    return int(ps.stdout.strip()) * 1024


def _windows_working_set() -> int:
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):  # PROCESS_MEMORY_COUNTERS, psapi.h
        _fields_ = [
            ("cb", wintypes.DWORD),
            ("PageFaultCount", wintypes.DWORD),
            ("PeakWorkingSetSize", ctypes.c_size_t),
            ("WorkingSetSize", ctypes.c_size_t),
            ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
            ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
            ("PagefileUsage", ctypes.c_size_t),
            ("PeakPagefileUsage", ctypes.c_size_t),
        ]

    counters = Counters()
    counters.cb = ctypes.sizeof(counters)
    windll = ctypes.WinDLL  # type: ignore[attr-defined]
    process = windll("kernel32").GetCurrentProcess()
    if not windll("psapi").GetProcessMemoryInfo(process, ctypes.byref(counters), counters.cb):
        raise OSError("GetProcessMemoryInfo failed")
    return int(counters.WorkingSetSize)
