"""``--parallel N``: one Transfer per URL on one AsyncCurlMulti, at most N at a time.

``await multi.perform(curl)`` (pycurl's AsyncCurlMulti shape) resolves to the
Curl or raises ``pycurlcb.error``.  Each transfer keeps its own SocketTrace;
the timelines share one origin, and one table of known fds, so a connection
reused by a later transfer is named by the fd that opened it.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from typing import Optional

import pycurlcb

from .failure import Failure
from .progress import ProgressMeter
from .transfer import Transfer, TransferOptions


@dataclass
class Batch:
    """The transfers of one run and how long they took (``elapsed``: seconds)."""

    transfers: list[Transfer]
    limit: int
    elapsed: float = 0.0
    interrupted: bool = False  # Ctrl-C came

    @property
    def failures(self) -> int:
        return sum(1 for t in self.transfers if t.result.failure is not None)

    @property
    def interruptions(self) -> int:
        return sum(1 for t in self.transfers if t.result.interrupted)

    @property
    def sockets(self) -> int:
        """How many sockets opensocket opened, over every transfer."""
        return sum(len(t.trace.opened) for t in self.transfers)

    def summary(self) -> str:
        """``20 transfers, 0 failed, 20 sockets opened, 12.3 ms in all, 1626 transfers/s ...``."""
        n = len(self.transfers)
        rate = n / self.elapsed if self.elapsed > 0 else 0.0
        stopped = f", {self.interruptions} interrupted" if self.interrupted else ""
        return (
            f"{n} transfers, {self.failures} failed{stopped}, {self.sockets} sockets opened, "
            f"{self.elapsed * 1000:.1f} ms in all, {rate:.0f} transfers/s "
            f"(at most {self.limit} at a time)"
        )


def make_batch(
    urls: list[str], options: TransferOptions, limit: int, meter: Optional[ProgressMeter]
) -> Batch:
    """A Transfer per URL, sharing one timeline origin and one table of known fds."""
    start = time.perf_counter()
    known_fds: dict[str, int] = {}
    transfers = [
        Transfer(
            url,
            options,
            progress=None if meter is None else meter.callback(n),
            start=start,
            known_fds=known_fds,
        )
        for n, url in enumerate(urls)
    ]
    return Batch(transfers, limit)


async def run_batch(batch: Batch, meter: Optional[ProgressMeter] = None) -> None:
    """Run every transfer of ``batch``; each ends finished or, on Ctrl-C, interrupted.

    Ctrl-C (SIGINT) sets ``batch.interrupted`` and cancels the transfers: every
    transfer in flight is interrupted, those not started keep an empty
    timeline, and this returns normally.
    """
    limit = asyncio.Semaphore(batch.limit)
    started = time.perf_counter()

    async def one(multi: pycurlcb.AsyncCurlMulti, n: int, transfer: Transfer) -> None:
        await limit.acquire()  # cancelled here: the transfer never started (no events)
        try:
            curl = transfer.prepare()
            try:
                await multi.perform(curl)
            except (pycurlcb.error, Failure) as exc:
                transfer.finish(curl, exc)
            except (asyncio.CancelledError, KeyboardInterrupt):
                transfer.interrupt(curl)
                raise
            except BaseException:
                transfer.abandon(curl)
                raise
            else:
                transfer.finish(curl)
            if meter is not None:
                meter.finished(n)
        finally:
            limit.release()

    watching = _on_ctrl_c(batch)
    try:
        async with pycurlcb.AsyncCurlMulti() as multi:
            await asyncio.gather(*(one(multi, n, t) for n, t in enumerate(batch.transfers)))
            for transfer in batch.transfers:  # the multi's connection cache closes the rest
                transfer.trace.phase = "at the multi's close"
    except asyncio.CancelledError:
        if not batch.interrupted:
            raise
    finally:
        batch.elapsed = time.perf_counter() - started
        if watching:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)


def _on_ctrl_c(batch: Batch) -> bool:
    """On SIGINT, note the time on every transfer and cancel the running task.

    The time is noted before the cancellation reaches the transfers (the
    AsyncCurlMulti then abandons them and libcurl closes their connections),
    so each timeline shows Ctrl-C before those closes.  Nothing is installed
    when SIGINT is ignored (a shell's background job).  True if installed.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return False
    task = asyncio.current_task()
    assert task is not None

    def on_sigint() -> None:
        batch.interrupted = True
        for transfer in batch.transfers:
            transfer.interrupted_ms = transfer.timeline.now()
        task.cancel()

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError, ValueError):  # no signals on this loop/thread
        return False
    return True
