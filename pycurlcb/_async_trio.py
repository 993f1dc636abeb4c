"""AsyncCurlMulti under trio (and AnyIO's trio backend): the epoll driver's fd waited on by one task.

Imported by async_multi only when an AsyncCurlMulti binds to a running trio
(``import pycurlcb`` does not import trio).  Everything but the waiting is
AsyncCurlMulti's own code, shared with asyncio: ``_on_epoll()`` (one call
into C, pcb_aio_drive, per wake-up), ``_resolve()``, ``_on_leave()``,
``remove_handle()``, ``aclose()``.  What differs:

* **The wait.**  asyncio calls ``_on_epoll`` from ``loop.add_reader``; under
  trio no callback can be registered, so one of the tasks in ``perform()`` —
  the *leader* — waits on the epoll fd with ``trio.lowlevel.wait_readable``
  and calls ``_on_epoll`` when it is readable; the others sleep on their own
  ``trio.Event``.  Only the leader ever waits on the fd (trio raises
  BusyResourceError for two waiters).  When its own transfer ends the leader
  wakes another waiting task to lead, so no background task exists and none
  outlives the transfers: ``perform()`` needs no nursery.
* **The timer.**  libcurl's deadline is a timerfd inside the epoll set
  (driver.c), so waiting on the epoll fd covers it.  A deadline already due
  after Python's own call into libcurl (0 ms after add_handle), which asyncio
  runs with ``call_soon``, wakes the leader (``run_soon``): it yields once, so
  other tasks add their transfers first, then drives.
* **The outcome.**  trio has no future: a transfer is a ``Transfer``, which
  has the methods the shared code calls on an asyncio.Future (``done``,
  ``set_result``, ``set_exception``, ``cancel``) and sets an Event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import trio

from .easy import Curl
from .errors import error

if TYPE_CHECKING:
    from typing import Protocol

    class _AsyncMulti(Protocol):
        """What this side uses of async_multi.AsyncCurlMulti: the loop-side seam
        (docs/internals.md).  A Protocol, so this module does not import
        async_multi, which imports it."""

        _closing: bool
        _futures: dict[Curl, Any]

        def _start(self, curl: Curl, pending: Any) -> None: ...
        def _on_future_done(self, curl: Curl, future: Any) -> None: ...
        def _on_epoll(self) -> None: ...

#: What ``perform()`` raises under trio when ``remove_handle()`` or
#: ``aclose()`` stopped its transfer (asyncio cancels the future instead;
#: trio lets no code raise its Cancelled): ``pycurlcb.error(TRANSFER_REMOVED)``.
TRANSFER_REMOVED = "transfer removed by remove_handle() or aclose() while it was running"

_PENDING, _DONE, _CANCELLED = 0, 1, 2


class Transfer:
    """One transfer's outcome under trio, with the asyncio.Future methods the shared code uses.

    ``wakeup`` is set when the transfer ends, and when its task is asked to
    take over the wait on the epoll fd (``TrioSide.promote``).
    """

    __slots__ = ("_side", "wakeup", "_state", "_result", "_exc")

    def __init__(self, side: TrioSide) -> None:
        self._side = side
        self.wakeup = trio.Event()
        self._state = _PENDING
        self._result: Optional[Curl] = None
        self._exc: Optional[BaseException] = None

    def done(self) -> bool:
        return self._state != _PENDING

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def set_result(self, result: Curl, /) -> None:
        self._result = result
        self._finish(_DONE)

    def set_exception(self, exception: BaseException, /) -> None:
        self._exc = exception
        self._finish(_DONE)

    def cancel(self, msg: Any = None) -> bool:
        """The transfer was stopped (remove_handle, aclose, a KeyboardInterrupt in its callback)."""
        if self._state != _PENDING:
            return False
        self._finish(_CANCELLED)
        return True

    def _finish(self, state: int) -> None:
        self._state = state
        self.wakeup.set()
        self._side.finished(self)

    def outcome(self) -> Curl:
        """The Curl, or raise what the transfer failed with (``error(TRANSFER_REMOVED)`` if stopped)."""
        if self._state == _CANCELLED:
            raise error(TRANSFER_REMOVED)
        if self._exc is not None:
            raise self._exc
        assert self._result is not None
        return self._result


class TrioSide:
    """An AsyncCurlMulti's binding to one trio run: who waits on the epoll fd ``fd``."""

    __slots__ = ("token", "fd", "leader", "wake", "due")

    def __init__(self, fd: int) -> None:
        self.token = trio.lowlevel.current_trio_token()
        self.fd = fd
        self.leader: Optional[Transfer] = None  # the transfer whose task waits on fd
        self.wake: Optional[trio.CancelScope] = None  # the leader's wait, while it waits
        self.due = False  # libcurl's timeout is due: the leader drives without waiting

    def finished(self, transfer: Transfer) -> None:
        """A transfer ended (from a drive, curl.close(), remove_handle() ...): if it was the
        leader's, the leader stops waiting and hands the wait on."""
        if transfer is self.leader:
            self.kick()

    def kick(self) -> None:
        if self.wake is not None:
            self.wake.cancel()

    def run_soon(self) -> None:
        """pcb_aio_settle said libcurl's timeout is due now (asyncio: call_soon)."""
        self.due = True
        self.kick()

    def closing(self) -> None:
        """The epoll fd is about to be closed: a waiter gets ClosedResourceError
        (trio.lowlevel.notify_closing; nothing to do outside the run)."""
        try:
            trio.lowlevel.notify_closing(self.fd)
        except RuntimeError:
            pass

    async def perform(self, multi: _AsyncMulti, curl: Curl) -> Curl:
        try:
            same_run = trio.lowlevel.current_trio_token() is self.token
        except RuntimeError:
            same_run = False
        if not same_run:
            raise RuntimeError("AsyncCurlMulti is bound to a different event loop")
        transfer = Transfer(self)
        multi._start(curl, transfer)
        try:
            while not transfer.done():
                if self.leader is None:
                    await self._lead(multi, transfer)
                else:
                    await transfer.wakeup.wait()
                    if not transfer.done():  # promoted: lead, or wait again if another task does
                        transfer.wakeup = trio.Event()
        except BaseException:
            # cancelled (a cancel scope, move_on_after, fail_after), or interrupted:
            # remove the Curl if the transfer is still running
            multi._on_future_done(curl, transfer)
            raise
        return transfer.outcome()

    async def _lead(self, multi: _AsyncMulti, transfer: Transfer) -> None:
        """Wait on the epoll fd and drive, until ``transfer`` ends; then hand the wait on."""
        self.leader = transfer
        try:
            while not transfer.done() and not multi._closing:
                if self.due:
                    self.due = False
                    await trio.lowlevel.checkpoint()  # the other tasks add their transfers first
                else:
                    with trio.CancelScope() as self.wake:
                        try:
                            await trio.lowlevel.wait_readable(self.fd)
                        except trio.ClosedResourceError:
                            pass  # aclose() or the CurlMulti's close() ended every transfer
                    self.wake = None
                multi._on_epoll()
            if not transfer.done():
                transfer.cancel()
        finally:
            self.wake = None
            self.leader = None
            self.promote(multi, transfer)

    def promote(self, multi: _AsyncMulti, leaving: Transfer) -> None:
        """Wake one other task still waiting for its transfer, to take over the wait on the fd."""
        for pending in multi._futures.values():
            if pending is not leaving and isinstance(pending, Transfer) and not pending.done():
                pending.wakeup.set()
                return
