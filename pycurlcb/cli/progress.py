"""The progress display: one line on a terminal, fed by libcurl's CURLOPT_XFERINFOFUNCTION.

libcurl calls the xferinfo callback with (dltotal, dlnow, ultotal, ulnow),
bytes, about once a second and whenever data moves
(CURLOPT_XFERINFOFUNCTION(3)).  ``ProgressMeter`` turns those into one line
on stderr, redrawn in place::

    1.2 MiB of 4.0 MiB (30%), 612.0 KiB/s, 1.9 s
    3 of 20 done, 1.2 MiB, 612.0 KiB/s, 1.9 s          (several transfers)

It draws nothing during the first ``delay`` seconds (a quick transfer shows
no flicker) and at most every ``interval`` seconds after that.  ``clear()``
erases the line before the timeline is printed.  The command uses it only
when stderr is a terminal.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Optional, TextIO

#: The xferinfo callback's shape: (dltotal, dlnow, ultotal, ulnow) -> 0 to continue.
XferInfo = Callable[[int, int, int, int], int]

_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")


def human(n: float) -> str:
    """``512 bytes``, ``1.5 KiB``, ``3.2 MiB`` (powers of 1024)."""
    for unit in _UNITS:
        if abs(n) < 1024 or unit == _UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class ProgressMeter:
    """One progress line for one or more transfers on ``stream`` (a terminal).

    ``callback(key)`` is the XFERINFOFUNCTION of the transfer ``key``;
    ``finished(key)`` counts it done.  ``clock`` is seconds (time.monotonic).
    """

    def __init__(
        self,
        stream: TextIO,
        transfers: int = 1,
        delay: float = 1.0,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.transfers = transfers
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.start = clock()
        self._now: dict[int, int] = {}  # key -> dlnow
        self._total: dict[int, int] = {}  # key -> dltotal (0: not known yet)
        self._done = 0
        self._drawn_at: Optional[float] = None  # when the line was last drawn
        self.shown = False  # a line is on the terminal now

    def callback(self, key: int) -> XferInfo:
        """The xferinfo callback for transfer ``key``."""

        def xferinfo(dltotal: int, dlnow: int, ultotal: int, ulnow: int) -> int:
            self.update(key, dltotal, dlnow)
            return 0

        return xferinfo

    def update(self, key: int, dltotal: int, dlnow: int) -> None:
        """Record libcurl's figures for ``key``; redraw if it is time to."""
        self._now[key] = dlnow
        self._total[key] = dltotal
        self._maybe_draw()

    def finished(self, key: int) -> None:
        self._done += 1
        self._maybe_draw()

    def _maybe_draw(self) -> None:
        now = self.clock()
        if now - self.start < self.delay:
            return
        if self._drawn_at is not None and now - self._drawn_at < self.interval:
            return
        self._drawn_at = now
        width = shutil.get_terminal_size((80, 24)).columns - 1
        try:
            self.stream.write("\r" + self.line(now)[:width] + "\x1b[K")
            self.stream.flush()
        except OSError:  # the terminal went away: the transfer goes on without a display
            self.delay = float("inf")
            return
        self.shown = True

    def line(self, now: float) -> str:
        """The text of the progress line at ``now`` (seconds, the clock's)."""
        elapsed = max(now - self.start, 1e-9)
        received = sum(self._now.values())
        parts = []
        if self.transfers > 1:
            parts.append(f"{self._done} of {self.transfers} done")
        total = sum(self._total.values())
        if self.transfers == 1 and total > 0:
            parts.append(f"{human(received)} of {human(total)} ({100 * received // total}%)")
        else:
            parts.append(human(received))
        parts.append(f"{human(received / elapsed)}/s")
        parts.append(f"{elapsed:.1f} s")
        return ", ".join(parts)

    def clear(self) -> None:
        """Erase the line, if one is shown (before the timeline is printed)."""
        if self.shown:
            self.shown = False
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except OSError:
                pass
