"""What the command prints on stdout: a header, each transfer's timeline and result line."""

from __future__ import annotations

from typing import TextIO

import pycurlcb

from .failure import PROG
from .transfer import Transfer
from .version import libcurl_version


def print_header(what: str, out: TextIO) -> None:
    """``pycurlcb 0.1.0 (libcurl/7.88.1): <what>``, flushed: it shows before the transfer runs."""
    print(f"{PROG} {pycurlcb.__version__} ({libcurl_version(short=True)}): {what}", file=out, flush=True)


def print_transfer(transfer: Transfer, out: TextIO, timeline: bool = True) -> None:
    """The timeline (unless ``timeline`` is False), then ``status 200, N bytes, total T ms``
    for a transfer that succeeded; failures are reported on stderr, by the caller."""
    if timeline:
        if not transfer.timeline.events:
            print("(not started)", file=out)
        for line in transfer.timeline.lines():
            print(line, file=out)
    result = transfer.result
    if result.failure is None and not result.interrupted and transfer.timeline.events:
        print(
            f"status {result.status}, {result.size} bytes, total {result.total_ms:.3f} ms",
            file=out,
        )
    out.flush()
