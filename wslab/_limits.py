"""Raising this process's open-files limit, for measurements with a thousand connections.

The common soft limit is 1,024 files; a server with 1,000 clients (or the process holding those
clients) needs more. Child processes inherit the limit, so raising it in the process that starts
them is enough. On systems without `resource` (Windows) there is no such limit to raise.
"""

from __future__ import annotations

#: What `raise_open_files_limit()` asks for by default.
WANTED = 65536


def raise_open_files_limit(wanted: int = WANTED) -> int | None:
    """Raise the soft limit to `wanted` (at most the hard limit); return the soft limit now.

    Never fails: None where the platform has no such limit or refuses to change it.
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    except (ValueError, OSError):
        return None
    return soft
