"""The test process's open file descriptors, from /proc/self/fd (Linux)."""

from __future__ import annotations

import os
import sys


def open_fds() -> set[int]:
    """The fds open now.  The listing also shows the fd listdir used, closed
    by the time it returns: only fds fstat still accepts count."""
    out = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            os.fstat(int(name))
        except OSError:
            continue
        out.add(int(name))
    return out


def fd_target(fd: int) -> str:
    """What ``fd`` refers to ("socket:[123]", "anon_inode:[timerfd]" ...), or "?"."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "?"


def collect_garbage() -> None:
    """A collection that frees every garbage cycle, finalisers included: one
    gc.collect() on CPython; several on PyPy, which finalises an object that
    another finalisable object references only in the collection after."""
    import gc

    for _ in range(1 if hasattr(sys, "getrefcount") else 4):
        gc.collect()


def forget_last_exception() -> None:
    """Drop the exception pycurlcb (as pycurl) leaves where pdb.pm() looks:
    sys.last_type, last_value, last_traceback and, from Python 3.12, last_exc.
    Its traceback holds the frames that raised it and what they referenced
    (a socket a callback returned, a handle): a leak check must drop it first."""
    sys.last_type = sys.last_value = sys.last_traceback = None
    if sys.version_info >= (3, 12):
        sys.last_exc = None
