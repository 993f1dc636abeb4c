"""AsyncCurlMulti: libcurl's multi socket interface driven by an asyncio loop.

The interface of pycurl 7.49's AsyncCurlMulti::

    async with pycurlcb.AsyncCurlMulti() as multi:
        curl = await multi.perform(curl)      # or: fut = multi.add_handle(curl)

How it drives libcurl (curl_multi_socket_action(3)):

* the socket callback only (un)registers fds with ``loop.add_reader`` /
  ``loop.add_writer``, keeping the events watched per socket in an object
  given to ``curl_multi_assign``, and changes a registration only when the
  wanted events change;
* the timer callback only schedules: -1 cancels, 0 is ``call_soon``, N is
  ``call_later(N / 1000)``;
* libcurl is entered only from the loop's reader/writer/timer handlers, never
  from inside a libcurl callback; there is no polling loop.

Each Curl's future resolves to the Curl, or fails with what Curl.perform()
would raise: ``pycurlcb.error`` whose ``__cause__`` is what that Curl's own
callbacks raised, failing that future alone.  Cancelling a future (or the
task awaiting perform()) removes that Curl cleanly; it can be used again.

It is built on CurlMulti's public methods only (socket_action, assign,
info_read, handles, remove_handle): another driver can do the same.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Optional

from . import errors
from ._ffi import lib
from .constants import MOpt
from .easy import Curl
from .errors import error
from .multi import CurlMulti

_SOCKET_TIMEOUT = lib.CURL_SOCKET_TIMEOUT
_IN, _OUT = lib.CURL_CSELECT_IN, lib.CURL_CSELECT_OUT
#: CURL_POLL_* -> the CSELECT bits to watch.
_WANT = {
    lib.CURL_POLL_NONE: 0,
    lib.CURL_POLL_IN: _IN,
    lib.CURL_POLL_OUT: _OUT,
    lib.CURL_POLL_INOUT: _IN | _OUT,
}
_OWN_OPTIONS = (int(MOpt.SOCKETFUNCTION), int(MOpt.TIMERFUNCTION))


class _Watch:
    """Per-socket state kept with curl_multi_assign: the events watched now."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events = 0


def _check_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Refuse a loop that cannot watch file descriptors (Windows' proactor)."""
    a, b = socket.socketpair()
    try:
        loop.add_reader(a.fileno(), lambda: None)
        loop.remove_reader(a.fileno())
    except NotImplementedError:
        raise RuntimeError(
            f"AsyncCurlMulti needs an event loop that watches file descriptors "
            f"(add_reader/add_writer); {type(loop).__name__} cannot. On Windows use "
            "asyncio.WindowsSelectorEventLoopPolicy()."
        ) from None
    finally:
        a.close()
        b.close()


class AsyncCurlMulti:
    """Run many Curl transfers concurrently on the running asyncio loop.

    ``close_handles``: when true, aclose() also closes the Curls still added.
    Bound to the loop it is first used on.
    """

    def __init__(self, close_handles: bool = False) -> None:
        self._multi = CurlMulti()
        self._multi.setopt(lib.CURLMOPT_SOCKETFUNCTION, self._on_socket)
        self._multi.setopt(lib.CURLMOPT_TIMERFUNCTION, self._on_timer)
        self.close_handles = close_handles
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._futures: dict[Curl, asyncio.Future[Curl]] = {}
        self._watched: dict[int, int] = {}  # fd -> CSELECT bits registered with the loop
        self._timer: Optional[asyncio.Handle] = None

    # --- public interface ------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._multi.closed

    def setopt(self, option: int, value: Any) -> None:
        """CurlMulti.setopt; M_SOCKETFUNCTION and M_TIMERFUNCTION belong to the driver."""
        if option in _OWN_OPTIONS:
            raise ValueError("AsyncCurlMulti drives the socket and timer callbacks itself")
        self._multi.setopt(option, value)

    def add_handle(self, curl: Curl) -> asyncio.Future[Curl]:
        """Start ``curl``'s transfer; returns the future it resolves.

        Must be called with a running loop.  Raises as CurlMulti.add_handle.
        """
        loop = self._bind_loop()
        future: asyncio.Future[Curl] = loop.create_future()
        self._multi.add_handle(curl)
        self._futures[curl] = future
        future.add_done_callback(lambda f: self._on_future_done(curl, f))
        return future

    async def perform(self, curl: Curl) -> Curl:
        """Transfer ``curl``; returns it, or raises what Curl.perform() would."""
        return await self.add_handle(curl)

    def remove_handle(self, curl: Curl) -> None:
        """Stop ``curl``'s transfer and cancel its future; error if it is not added."""
        if curl not in self._multi:
            raise error(lib.CURLE_BAD_FUNCTION_ARGUMENT, "curl object not on this multi-stack")
        future = self._futures.get(curl)
        if future is not None:
            future.cancel()  # _on_future_done removes it
        self._detach(curl)

    def futures(self) -> list[asyncio.Future[Curl]]:
        """The futures of the transfers still running."""
        return list(self._futures.values())

    async def aclose(self) -> None:
        """Cancel what is running, stop watching fds, curl_multi_cleanup(3); idempotent."""
        if self._multi.closed:
            return
        curls = self._multi.handles()
        for curl in curls:
            self.remove_handle(curl)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            self._multi.close()
        finally:
            for fd in list(self._watched):
                self._watch(fd, 0)
        if self.close_handles:
            for curl in curls:
                curl.close()

    async def __aenter__(self) -> AsyncCurlMulti:
        self._bind_loop()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- loop side ----------------------------------------------------------------

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            _check_loop(loop)
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("this AsyncCurlMulti is bound to another event loop")
        return loop

    def _watch(self, fd: int, events: int) -> None:
        """Make the loop watch exactly ``events`` (CSELECT bits) on ``fd``."""
        loop = self._loop
        assert loop is not None
        old = self._watched.get(fd, 0)
        if old == events:
            return
        if (old ^ events) & _IN:
            if events & _IN:
                loop.add_reader(fd, self._on_ready, fd, _IN)
            else:
                loop.remove_reader(fd)
        if (old ^ events) & _OUT:
            if events & _OUT:
                loop.add_writer(fd, self._on_ready, fd, _OUT)
            else:
                loop.remove_writer(fd)
        if events:
            self._watched[fd] = events
        else:
            self._watched.pop(fd, None)

    def _on_socket(self, what: int, fd: int, multi: Any, watch: Optional[_Watch]) -> None:
        # CURLMOPT_SOCKETFUNCTION: register/unregister only, never call libcurl.
        if what == lib.CURL_POLL_REMOVE:
            self._watch(fd, 0)
            return
        if watch is None:
            watch = _Watch()
            self._multi.assign(fd, watch)
        watch.events = _WANT[what]
        self._watch(fd, watch.events)

    def _on_timer(self, timeout_ms: int) -> None:
        # CURLMOPT_TIMERFUNCTION: schedule only.
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        loop = self._loop
        if timeout_ms < 0 or loop is None:
            return
        if timeout_ms == 0:
            self._timer = loop.call_soon(self._on_ready, _SOCKET_TIMEOUT, 0)
        else:
            self._timer = loop.call_later(timeout_ms / 1000, self._on_ready, _SOCKET_TIMEOUT, 0)

    def _on_ready(self, fd: int, events: int) -> None:
        if fd == _SOCKET_TIMEOUT:
            self._timer = None
        if self._multi.closed:
            return
        try:
            self._multi.socket_action(fd, events)
        except errors.MultiError as exc:
            # The driver's own socket/timer callback failed (add_reader ...):
            # the multi removed the transfer whose socket callback failed; for
            # the timer's, every transfer is failed.
            self._collect()
            running = set(self._multi.handles())
            gone = [c for c in self._futures if c not in running] or list(self._futures)
            for curl in gone:
                future = self._futures.pop(curl, None)
                self._detach(curl)
                if future is not None and not future.done():
                    future.set_exception(exc)
            return
        self._collect()

    def _collect(self) -> None:
        """Resolve the futures of the transfers libcurl reports done."""
        while True:
            _, ok, err = self._multi.info_read()
            if not ok and not err:
                return
            for curl in ok:
                self._finish(curl, lib.CURLE_OK, None)
            for curl, code, message in err:
                self._finish(curl, code, message)

    def _finish(self, curl: Curl, code: int, message: Optional[str]) -> None:
        future = self._futures.pop(curl, None)
        outcome = errors.outcome(code, None, curl.callback_error, message=message)
        self._detach(curl)
        if future is None or future.done():
            return
        if outcome is None:
            future.set_result(curl)
        else:
            future.set_exception(outcome)

    def _detach(self, curl: Curl) -> None:
        if curl in self._multi:
            self._multi.remove_handle(curl)

    def _on_future_done(self, curl: Curl, future: asyncio.Future[Curl]) -> None:
        if future.cancelled():
            self._futures.pop(curl, None)
            self._detach(curl)
