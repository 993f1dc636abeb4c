"""The timeline: timestamped lines, in milliseconds since a transfer started."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Event:
    """One line of the timeline."""

    ms: float  # milliseconds since Timeline.start
    kind: str  # "start", "open", "refused", "sockopt", "connected", "close", "debug" ...
    text: str


class Timeline:
    """Events, printed in time order; ``start`` is a ``time.perf_counter()`` value."""

    def __init__(self, start: Optional[float] = None) -> None:
        self.start = time.perf_counter() if start is None else start
        self.events: list[Event] = []

    def now(self) -> float:
        """Milliseconds since start."""
        return (time.perf_counter() - self.start) * 1000.0

    def add(self, kind: str, text: str, ms: Optional[float] = None) -> None:
        """Record an event at ``ms`` (default: now)."""
        self.events.append(Event(self.now() if ms is None else ms, kind, text))

    def lines(self) -> list[str]:
        """``   12.345 ms  kind       text``, sorted by time (ties keep their order)."""
        ordered = sorted(self.events, key=lambda e: e.ms)
        return [f"{e.ms:9.3f} ms  {e.kind:<10} {e.text}".rstrip() for e in ordered]
