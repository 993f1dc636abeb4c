"""The test process's open file descriptors, from /proc/self/fd (Linux)."""

from __future__ import annotations

import os


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
