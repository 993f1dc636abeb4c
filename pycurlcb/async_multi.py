"""AsyncCurlMulti: libcurl transfers driven by an asyncio event loop (pycurl 7.49's interface),
or by trio (and AnyIO on either backend): pycurlcb/_async_trio.py, docs/event-loop.md.

::

    async with pycurlcb.AsyncCurlMulti() as multi:
        curl = await multi.perform(curl)            # or: future = multi.add_handle(curl)
        results = await asyncio.gather(*multi.futures())

A transfer's future resolves to its Curl, or fails with what Curl.perform()
would raise: ``pycurlcb.error`` (``args == (code, message)``) whose
``__cause__`` is the exception one of that Curl's callbacks raised, if one
did.  A failure is that transfer's own: the others go on.  Cancelling a
future (or the task awaiting ``perform()``) removes its Curl, which can be
used again; ``remove_handle()`` and ``aclose()`` cancel the futures of the
transfers they stop.  A KeyboardInterrupt or SystemExit raised in a callback
leaves the event loop at once.

No future is left pending when its transfer goes away: ``curl.close()``
fails it with ``pycurlcb.error(CURL_CLOSED)`` (``args == (message,)``, as
pycurl's errors for a closed handle), closing the CurlMulti underneath
(``curl.multi().close()``) fails every one with ``pycurlcb.error(MULTI_CLOSED)``.
A Curl is not collected while it transfers (the CurlMulti holds it).  A
stopped loop only pauses the transfers; on a closed loop, ``curl.close()``
and ``aclose()`` (run on another loop) still end the futures, whose
callbacks that loop can no longer run.

Two drivers, with the same behaviour (docs/event-loop.md):

``"epoll"`` (Linux; the default there)
    libcurl's socket and timer callbacks are C functions (ffi/src/driver.c)
    that keep libcurl's sockets in one epoll set and its next timeout in a
    timerfd inside that set.  The loop watches only the epoll fd; when it is
    readable, one call into C runs curl_multi_socket_action(3) for every ready
    socket (and for the timeout when it is due), and Python collects the
    finished transfers with ``info_read()``: Python runs once per wake-up of
    the loop, not once per socket event.
``"python"`` (elsewhere, or ``AsyncCurlMulti(driver="python")``)
    pycurl's driver: the socket callback registers each fd with
    ``loop.add_reader``/``add_writer`` (per-socket state kept with
    ``CurlMulti.assign``), the timer callback only schedules (-1 cancels, 0 is
    ``call_soon``, N is ``call_later``), and each readiness calls
    ``socket_action``.

Neither enters libcurl from inside a libcurl callback, neither polls.
Under trio only the epoll driver runs: one task in ``perform()`` waits on
its fd with ``trio.lowlevel.wait_readable`` and calls the same drive as
asyncio's reader (``_on_epoll``); a trio transfer has no future
(``add_handle``/``futures`` raise RuntimeError), ``await perform(curl)`` is
the interface.  The running library is told by sniffio, once, when the
multi binds; trio is imported only then.
``PYCURLCB_ASYNC_DRIVER=python`` (or ``epoll``) in the environment sets the
default.  Both are built on CurlMulti's public methods and on multi.py's
driver seam (``c_multi``, ``drive_function``, ``take_done``: docs/internals.md).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import weakref
from asyncio import _get_running_loop
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, cast

from . import _features, errors
from ._ffi import ffi, lib
from .constants import MOpt
from .easy import Curl, added_to_multi, refused_error
from .errors import MULTI_ABORTED_BY_CALLBACK, MultiError, error
from .multi import CurlMulti, c_multi, drive_function, take_done

if TYPE_CHECKING:
    from ._async_trio import TrioSide

__all__ = ["AsyncCurlMulti", "CURL_CLOSED", "DEFAULT_DRIVER", "DRIVERS", "MULTI_CLOSED"]

CSELECT_IN: int = lib.CURL_CSELECT_IN
CSELECT_OUT: int = lib.CURL_CSELECT_OUT
POLL_NONE: int = lib.CURL_POLL_NONE
POLL_IN: int = lib.CURL_POLL_IN
POLL_OUT: int = lib.CURL_POLL_OUT
POLL_REMOVE: int = lib.CURL_POLL_REMOVE
SOCKET_TIMEOUT: int = lib.CURL_SOCKET_TIMEOUT
_AIO_DUE: int = lib.PCB_AIO_DUE
_AIO_FAILED: int = lib.PCB_AIO_FAILED
M_SOCKETFUNCTION = int(MOpt.SOCKETFUNCTION)
M_TIMERFUNCTION = int(MOpt.TIMERFUNCTION)
M_NOTIFYFUNCTION: Optional[int] = (
    int(MOpt.NOTIFYFUNCTION) if "NOTIFYFUNCTION" in MOpt.__members__ else None
)

#: The Python driver asks libcurl to say when info_read() has something (libcurl
#: 8.17.0, CURLMOPT_NOTIFYFUNCTION) instead of calling it after every socket_action.
_NOTIFY_SUPPORTED = (
    M_NOTIFYFUNCTION is not None
    and _features.available("CURLMNOTIFY_INFO_READ")
    and _features.available("notify_loaded")
)
_BLOCKED_OPTIONS = (M_SOCKETFUNCTION, M_TIMERFUNCTION) + (
    (M_NOTIFYFUNCTION,) if M_NOTIFYFUNCTION is not None else ()
)
_BLOCKED_OPTIONS_MSG = "AsyncCurlMulti owns M_SOCKETFUNCTION/M_TIMERFUNCTION" + (
    "/M_NOTIFYFUNCTION" if M_NOTIFYFUNCTION is not None else ""
)

#: The drivers this build has, best first.
DRIVERS: tuple[str, ...] = ("epoll", "python") if lib.PCB_HAS_EPOLL else ("python",)
#: The driver of ``AsyncCurlMulti()`` without ``driver=``: $PYCURLCB_ASYNC_DRIVER, else the best.
DEFAULT_DRIVER: str = os.environ.get("PYCURLCB_ASYNC_DRIVER") or DRIVERS[0]

_NEEDS_SELECTOR = (
    "AsyncCurlMulti requires a selector-style event loop, one that watches file descriptors "
    "(add_reader/add_writer); {name} does not. On Windows use "
    "asyncio.WindowsSelectorEventLoopPolicy() or asyncio.SelectorEventLoop()."
)


def _check_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Refuse a loop that cannot watch fds (Windows' proactor) with a clear RuntimeError."""
    proactor = getattr(asyncio, "ProactorEventLoop", None)
    message = _NEEDS_SELECTOR.format(name=type(loop).__name__)
    if proactor is not None and isinstance(loop, proactor):
        raise RuntimeError(message)
    a, b = socket.socketpair()
    try:
        loop.add_reader(a.fileno(), lambda: None)
        loop.remove_reader(a.fileno())
    except NotImplementedError:
        raise RuntimeError(message) from None
    finally:
        a.close()
        b.close()


_NO_FUTURES_UNDER_TRIO = (
    "AsyncCurlMulti under trio has no futures (add_handle, futures): use `await multi.perform(curl)`"
)


def _running_library() -> Optional[str]:
    """``"asyncio"``, ``"trio"`` (another name for another library), or None outside one.

    sniffio's answer when sniffio is imported (trio imports it, as AnyIO's trio
    backend does through trio); without it, no trio runs, and asyncio is
    asked directly.  Called once per AsyncCurlMulti, when it binds.
    """
    sniffio = sys.modules.get("sniffio")
    if sniffio is not None:
        try:
            return str(sniffio.current_async_library())
        except sniffio.AsyncLibraryNotFoundError:
            return None
    return "asyncio" if _get_running_loop() is not None else None


class _Pending(Protocol):
    """A transfer's outcome as the shared code sees it: an asyncio.Future
    (``_TransferFuture``), or a ``_async_trio.Transfer`` under trio."""

    def done(self) -> bool: ...
    def cancelled(self) -> bool: ...
    def cancel(self, msg: Any = None) -> bool: ...
    def set_result(self, result: Curl, /) -> None: ...
    def set_exception(self, exception: BaseException, /) -> None: ...


class _SocketState:
    """The Python driver's per-socket state, given to ``CurlMulti.assign``.

    Changed in place: libcurl hands the same object back as ``socketp`` on
    every callback for that socket, so ``assign`` runs once per socket.
    """

    __slots__ = ("read_registered", "write_registered")

    def __init__(self, read_registered: bool = False, write_registered: bool = False) -> None:
        self.read_registered = read_registered
        self.write_registered = write_registered

    def __repr__(self) -> str:
        return f"_SocketState(read={self.read_registered}, write={self.write_registered})"


class _Epoll:
    """The C driver (driver.c) of one CurlMulti: its ``struct pcb_aio``, owned through ffi.gc."""

    __slots__ = ("d", "fd", "running", "_easy", "_fds")

    def __init__(self, multi: CurlMulti) -> None:
        d = lib.pcb_aio_new(c_multi(multi))
        if d == ffi.NULL:
            err = ffi.errno
            raise OSError(err, f"AsyncCurlMulti's epoll driver could not start: {os.strerror(err)}")
        self.d = ffi.gc(d, lib.pcb_aio_free)
        self.fd: int = d.epfd
        self.running = ffi.new("int *")
        self._easy = ffi.new("CURL **")
        self._fds = ffi.new("int[]", 64)

    def fds(self) -> set[int]:
        """The sockets libcurl asked to watch and has not removed."""
        n = lib.pcb_aio_fds(self.d, self._fds, len(self._fds))
        if n > len(self._fds):
            self._fds = ffi.new("int[]", 2 * n)
            n = lib.pcb_aio_fds(self.d, self._fds, len(self._fds))
        return set(self._fds[0:n])

    def take_failures(self) -> list[tuple[Any, int]]:
        """``(CURL* or NULL, errno)`` for each failure of the driver's callbacks."""
        out: list[tuple[Any, int]] = []
        while True:
            err = lib.pcb_aio_take_failure(self.d, self._easy)
            if not err:
                return out
            out.append((self._easy[0], err))

    def detach(self) -> None:
        lib.pcb_aio_detach(self.d)


#: What the future of a transfer whose Curl was closed while it ran fails with:
#: ``pycurlcb.error(CURL_CLOSED)`` (``args == (message,)``, as pycurl's other
#: errors for closed handles).
CURL_CLOSED = "curl object closed while its transfer was running"
#: ... and one whose CurlMulti was closed (``curl.multi().close()``) other than by aclose().
MULTI_CLOSED = "multi-stack closed while the transfer was running"


def _on_leave_of(ref: weakref.ref[AsyncCurlMulti]) -> Callable[[Optional[Curl], bool], None]:
    """The CurlMulti's ``_on_leave`` for the AsyncCurlMulti ``ref``: a weak reference, so
    the CurlMulti does not keep its AsyncCurlMulti alive (no reference cycle)."""

    def on_leave(curl: Optional[Curl], removed: bool = False) -> None:
        owner = ref()
        if owner is not None:
            owner._on_leave(curl, removed)

    return on_leave


def _end(future: _Pending, exc: Optional[error] = None) -> None:
    """Cancel a transfer's future (``exc`` None) or fail it with ``exc``.  Also one
    whose loop is closed: the future is done afterwards, though asyncio cannot
    schedule its callbacks there (RuntimeError "Event loop is closed")."""
    if future.done():
        return
    try:
        if exc is None:
            future.cancel()
        else:
            future.set_exception(exc)
    except RuntimeError:
        if not isinstance(future, asyncio.Future) or not future.get_loop().is_closed():
            raise


class _TransferFuture(asyncio.Future[Curl]):
    """A transfer's future: cancelling it removes its Curl from the multi.

    The removal runs from the loop (call_soon) after ``cancel()``, which may be
    called inside a libcurl callback (a write callback cancelling a task),
    where libcurl cannot be entered.  A future that completes costs no
    done-callback.
    """

    __slots__ = ("_owner", "_curl")  # set by add_handle: no __init__ of our own on the hot path
    _owner: Optional[AsyncCurlMulti]
    _curl: Curl

    def cancel(self, msg: Any = None) -> bool:
        if not super().cancel(msg):
            return False
        owner, self._owner = self._owner, None
        loop = self.get_loop()
        if owner is not None and not owner._closing and not loop.is_closed():
            loop.call_soon(owner._on_future_done, self._curl, self)
        return True


class AsyncCurlMulti:
    """AsyncCurlMulti(close_handles=False, *, driver=None): Curl transfers on the running asyncio loop.

    Each Curl's transfer is an ``asyncio.Future`` that resolves to the Curl,
    or fails with ``pycurlcb.error``.  The instance binds to the loop of its
    first ``add_handle()`` and stays bound to it.  It needs a loop that
    watches file descriptors (not Windows' proactor loop: RuntimeError).
    Close it with ``aclose()`` or ``async with``.  ``curl.close()`` while
    ``curl``'s transfer runs here fails its future with
    ``pycurlcb.error(CURL_CLOSED)``; ``remove_handle(curl)`` cancels it.

    ``close_handles``: when true, ``aclose()`` also closes the Curls whose
    transfers it cancels.  ``driver``: ``"epoll"`` or ``"python"`` (module
    docstring); None takes ``DEFAULT_DRIVER``.  ValueError for another name,
    OSError if the epoll driver cannot start (no epoll fd left).
    """

    def __init__(self, close_handles: bool = False, *, driver: Optional[str] = None) -> None:
        name = DEFAULT_DRIVER if driver is None else driver
        if name not in DRIVERS:
            raise ValueError(f"driver must be one of {', '.join(map(repr, DRIVERS))}, not {name!r}")
        self._multi: CurlMulti = CurlMulti(close_handles=close_handles)
        self._multi._on_leave = _on_leave_of(weakref.ref(self))
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._futures: dict[Curl, _Pending] = {}
        self._py_fds: set[int] = set()  # the Python driver's watched fds
        self._timer: Optional[asyncio.Handle] = None
        self._closing = False
        self._notify_handle: Optional[asyncio.Handle] = None
        self._epoll: Optional[_Epoll] = None
        self._reading_epoll = False  # the epoll fd is registered with self._loop
        self._trio: Optional[TrioSide] = None  # bound to a trio run instead (_async_trio.py)
        if name == "epoll":
            self._epoll = _Epoll(self._multi)
            self._drive_c = drive_function(self._multi)
            return
        self._multi.setopt(M_SOCKETFUNCTION, self._on_socket)
        self._multi.setopt(M_TIMERFUNCTION, self._on_timer)
        if _NOTIFY_SUPPORTED:
            self._multi.setopt(M_NOTIFYFUNCTION, self._on_notify)  # type: ignore[arg-type]
            self._multi.notify_enable(lib.CURLMNOTIFY_INFO_READ)

    # --- the public interface (pycurl 7.49) -------------------------------------------

    @property
    def driver(self) -> str:
        """``"epoll"`` or ``"python"``: which driver runs this multi."""
        return "python" if self._epoll is None else "epoll"

    @property
    def close_handles(self) -> bool:
        """Whether aclose() closes the Curls whose transfers it cancels."""
        return self._multi.close_handles

    @property
    def closed(self) -> bool:
        """True once aclose() has run (the CurlMulti is closed)."""
        return self._multi.closed

    def setopt(self, option: int, value: Any) -> None:
        """setopt(option, value): CurlMulti.setopt(), except the options the driver owns.

        M_SOCKETFUNCTION, M_TIMERFUNCTION (and M_NOTIFYFUNCTION where the build
        has it) raise ValueError; everything else is CurlMulti.setopt (M_MAXCONNECTS,
        M_MAX_HOST_CONNECTIONS ...), with its errors.
        """
        if option in _BLOCKED_OPTIONS:
            raise ValueError(_BLOCKED_OPTIONS_MSG)
        self._multi.setopt(option, value)

    def add_handle(self, curl: Curl) -> asyncio.Future[Curl]:
        """add_handle(curl) -> asyncio.Future: start ``curl``'s transfer.

        The future resolves to ``curl``, or fails with ``pycurlcb.error``;
        cancelling it removes ``curl``.  Must run on the loop this multi is bound
        to (the first call binds it).  RuntimeError outside a running loop, on
        another loop, under trio (no futures there: ``await perform(curl)``),
        after aclose(), or if ``curl`` is already added here; what
        CurlMulti.add_handle raises (``pycurlcb.error``) otherwise.
        """
        self._admit(curl)
        loop = self._loop
        if loop is None or loop is not _get_running_loop():
            loop = self._ensure_loop()
        future = _TransferFuture(loop=loop)
        future._owner = self
        future._curl = curl
        self._start(curl, future)
        return future

    def _admit(self, curl: Curl) -> None:
        """RuntimeError if no transfer of ``curl`` can start here now."""
        if self._closing:  # aclose() has begun
            raise RuntimeError("AsyncCurlMulti is closed")
        old = self._futures.get(curl)
        if old is not None:
            if not old.cancelled():
                raise RuntimeError("Curl handle is already registered")
            self._on_future_done(curl, old)  # cancelled; its clean-up has not run yet

    def _start(self, curl: Curl, pending: _Pending) -> None:
        """Start ``curl``'s transfer, whose outcome goes to ``pending`` (either loop)."""
        self._futures[curl] = pending
        epoll = self._epoll
        if epoll is not None:
            epoll.d.defer = 1
        try:
            self._multi.add_handle(curl)
        except BaseException:
            self._futures.pop(curl, None)
            raise
        finally:
            if epoll is not None:
                self._settle()

    def _set_policy(self, policy: Any) -> None:
        """Policy.attach()/detach()'s seam: the CurlMulti's."""
        self._multi._set_policy(policy)

    async def perform(self, curl: Curl) -> Curl:
        """perform(curl) -> Curl: ``await self.add_handle(curl)`` on asyncio.

        Under trio (or AnyIO's trio backend) the transfer has no future: this
        task waits for it (module docstring).  Cancelling the task (a cancel
        scope, ``move_on_after``, ``fail_after``) removes ``curl``;
        ``remove_handle(curl)`` or ``aclose()`` from elsewhere makes it raise
        ``pycurlcb.error(TRANSFER_REMOVED)``.  RuntimeError as add_handle's.
        """
        side = self._trio
        if side is None and self._loop is None and _running_library() == "trio":
            side = self._bind_trio()
        if side is not None:
            self._admit(curl)
            return await side.perform(self, curl)
        return await self.add_handle(curl)

    def remove_handle(self, curl: Curl) -> None:
        """remove_handle(curl): stop ``curl``'s transfer and cancel its future.

        RuntimeError after aclose() or if ``curl`` is not added here;
        ``pycurlcb.error`` if libcurl refuses the removal.
        """
        if self.closed:
            raise RuntimeError("AsyncCurlMulti is closed")
        future = self._futures.pop(curl, None)
        if future is None:
            raise RuntimeError("Curl handle is not registered")
        epoll = self._epoll
        if epoll is not None:
            epoll.d.defer = 1
        try:
            self._multi.remove_handle(curl)
        finally:
            if epoll is not None:
                self._settle()
            _end(future)

    def futures(self, curls: Optional[Iterable[Curl]] = None) -> tuple[asyncio.Future[Curl], ...]:
        """futures(curls=None) -> tuple of the futures of transfers still running.

        Without ``curls``: all of them, in the order they were added.  With an
        iterable of Curls: theirs, in that order (a Curl twice gives its future
        twice); KeyError(curl) for a Curl not running here.  RuntimeError under
        trio, which has no futures.
        """
        if self._trio is not None:
            raise RuntimeError(_NO_FUTURES_UNDER_TRIO)
        if curls is None:
            return cast("tuple[asyncio.Future[Curl], ...]", tuple(self._futures.values()))
        out: list[_Pending] = []
        for curl in curls:
            try:
                out.append(self._futures[curl])
            except KeyError:
                raise KeyError(curl) from None
        return cast("tuple[asyncio.Future[Curl], ...]", tuple(out))

    async def aclose(self) -> None:
        """Cancel every transfer, stop watching fds, curl_multi_cleanup(3); idempotent.

        With ``close_handles`` the cancelled transfers' Curls are closed too.
        """
        if self.closed:
            return
        self._closing = True
        self._cancel_scheduled()
        cancelled = list(self._futures)
        for curl, future in list(self._futures.items()):
            self._futures.pop(curl, None)
            try:
                self._multi.remove_handle(curl)
            except error:
                pass
            _end(future)
        self._unwatch_fds()
        try:
            self._multi.close()
        finally:
            self._stop_epoll()
        if self.close_handles:
            for curl in cancelled:
                curl.close()

    def _cancel_scheduled(self) -> None:
        if self._notify_handle is not None:
            self._notify_handle.cancel()
            self._notify_handle = None
        self._cancel_timer()

    def _unwatch_fds(self) -> None:
        """The Python driver: stop watching any fd libcurl did not say POLL_REMOVE for."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            for fd in self._py_fds:
                loop.remove_reader(fd)
                loop.remove_writer(fd)
        self._py_fds.clear()

    def _stop_epoll(self) -> None:
        """The epoll driver, once the CurlMulti is closed: the loop stops watching the
        epoll fd, which is closed (idempotent)."""
        epoll = self._epoll
        if epoll is None:
            return
        loop = self._loop
        if self._reading_epoll and loop is not None and not loop.is_closed():
            loop.remove_reader(epoll.fd)
        self._reading_epoll = False
        if self._trio is not None:
            self._trio.closing()
        epoll.detach()

    def _on_leave(self, curl: Optional[Curl], removed: bool = False) -> None:
        """The CurlMulti's ``_on_leave``: a transfer left it other than through this object.

        ``curl.close()`` took ``curl`` out (``curl`` given): its future fails
        with ``error(CURL_CLOSED)``.  The CurlMulti's own remove_handle() took
        it out (``removed``): its future ends as this object's remove_handle()
        ends it (cancelled).  The CurlMulti was closed (None) other than by
        aclose(): every future fails with ``error(MULTI_CLOSED)``, and this
        multi is closed as aclose() leaves it.
        """
        if curl is not None:
            future = self._futures.pop(curl, None)
            if future is not None:
                _end(future, None if removed else error(CURL_CLOSED))
            return
        if self._closing:
            return  # aclose() closed it
        self._closing = True
        self._cancel_scheduled()
        self._unwatch_fds()
        self._stop_epoll()
        futures = list(self._futures.values())
        self._futures.clear()
        for future in futures:
            _end(future, error(MULTI_CLOSED))

    async def __aenter__(self) -> AsyncCurlMulti:
        if self._loop is None and self._trio is None:
            if _running_library() == "trio":
                self._bind_trio()
            else:
                _check_loop(asyncio.get_running_loop())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def _assigned_fds(self) -> set[int]:
        """The fds libcurl asked to watch and has not removed (either driver)."""
        if self._epoll is None:
            return self._py_fds
        return self._py_fds | self._epoll.fds()

    # --- the loop ---------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None and _get_running_loop() is None and _running_library() == "trio":
            raise RuntimeError(_NO_FUTURES_UNDER_TRIO)  # add_handle() under trio
        if self._trio is not None:
            raise RuntimeError("AsyncCurlMulti is bound to a different event loop")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            if self._epoll is None:
                _check_loop(loop)
            else:
                proactor = getattr(asyncio, "ProactorEventLoop", None)
                try:
                    if proactor is not None and isinstance(loop, proactor):
                        raise NotImplementedError
                    loop.add_reader(self._epoll.fd, self._on_epoll)
                except NotImplementedError:
                    raise RuntimeError(_NEEDS_SELECTOR.format(name=type(loop).__name__)) from None
                self._reading_epoll = True
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("AsyncCurlMulti is bound to a different event loop")
        return loop

    def _bind_trio(self) -> TrioSide:
        """Bind to the running trio: its tasks in perform() wait on the epoll fd (_async_trio.py)."""
        if self._epoll is None:
            raise RuntimeError(
                "AsyncCurlMulti under trio needs the epoll driver (Linux); "
                "the python driver runs on asyncio only (AnyIO: its asyncio backend)"
            )
        from ._async_trio import TrioSide

        self._trio = TrioSide(self._epoll.fd)
        return self._trio

    # --- the epoll driver: one call into C per wake-up ---------------------------------

    def _on_epoll(self) -> None:
        if self._closing:
            return
        epoll = self._epoll
        assert epoll is not None
        d = epoll.d
        d.defer = 1
        failed: Optional[error] = None
        try:
            try:
                self._drive_c(lib.pcb_aio_drive, d, epoll.running)
            except error as exc:
                failed = exc
            finally:  # also under KeyboardInterrupt: what the driver removed is resolved
                self._resolve_done(*take_done(self._multi, d))
            if failed is not None:
                self._fail_all_pending(failed)
            elif d.done_more:
                self._drain()
        finally:
            self._settle()

    def _settle(self) -> None:
        """The epoll driver, after Python's calls into libcurl (made with ``defer`` set):
        arm the timer for libcurl's timeout, or run it soon if it is due now; fail
        the transfers whose socket the driver could not watch."""
        epoll = self._epoll
        assert epoll is not None
        flags = lib.pcb_aio_settle(epoll.d)
        if not flags:
            return
        if flags & _AIO_DUE and self._timer is None:
            loop = self._loop
            if self._trio is not None:
                self._trio.run_soon()
            elif loop is not None and not self._closing and not loop.is_closed():
                self._timer = loop.call_soon(self._fire_timeout)
        if flags & _AIO_FAILED:
            self._take_driver_failures()

    def _take_driver_failures(self) -> None:
        """Fail the transfers whose socket the C driver could not watch (epoll_ctl failed)."""
        assert self._epoll is not None
        for easy, err in self._epoll.take_failures():
            cause = OSError(err, os.strerror(err))
            exc = MultiError(
                MULTI_ABORTED_BY_CALLBACK,
                f"AsyncCurlMulti's epoll driver could not follow a socket or timer: {cause.strerror}",
            )
            exc.__cause__ = cause
            curl = None if easy == ffi.NULL else self._multi.curl_of(easy)
            if curl is None:
                self._fail_all_pending(exc)
            else:
                self._resolve(curl, exc)

    # --- the Python driver: libcurl's callbacks (they never call libcurl) ----------------

    def _on_socket(self, what: int, fd: int, multi: CurlMulti, socketp: Optional[_SocketState]) -> None:
        if what == POLL_REMOVE:
            if socketp is not None:
                self._unregister_fd(fd, socketp)
            else:
                self._py_fds.discard(fd)
            return
        if what == POLL_NONE:
            # no interest for now: drop the watchers, keep the assignment
            if socketp is not None:
                self._unregister_watchers(fd, socketp)
            return
        if self._closing:
            return  # no new watchers while tearing down
        if socketp is None:
            state = _SocketState()
            first = True
            self._py_fds.add(fd)
        else:
            state = socketp
            first = False
        want_read = bool(what & POLL_IN)
        want_write = bool(what & POLL_OUT)
        loop = self._loop
        assert loop is not None, "socket callback before the loop was bound"
        if want_read and not state.read_registered:
            loop.add_reader(fd, self._on_readable, fd, state)
        elif not want_read and state.read_registered:
            loop.remove_reader(fd)
        if want_write and not state.write_registered:
            loop.add_writer(fd, self._on_writable, fd, state)
        elif not want_write and state.write_registered:
            loop.remove_writer(fd)
        state.read_registered = want_read
        state.write_registered = want_write
        if first:
            multi.assign(fd, state)

    def _unregister_watchers(self, fd: int, state: _SocketState) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            if state.read_registered:
                loop.remove_reader(fd)
            if state.write_registered:
                loop.remove_writer(fd)
        state.read_registered = state.write_registered = False

    def _unregister_fd(self, fd: int, state: _SocketState) -> None:
        self._unregister_watchers(fd, state)
        try:
            self._multi.unassign(fd)
        except error:
            pass
        self._py_fds.discard(fd)

    def _on_timer(self, timeout_ms: int) -> None:
        if self._closing:
            return
        self._schedule_timer(timeout_ms)

    def _on_notify(self, _notification: int, _curl: Optional[Curl]) -> None:
        if self._closing or self._loop is None or self._notify_handle is not None:
            return
        self._notify_handle = self._loop.call_soon(self._drain_from_notify)

    def _drain_from_notify(self) -> None:
        self._notify_handle = None
        if not self._closing:
            self._drain()

    def _schedule_timer(self, timeout_ms: int) -> None:
        self._cancel_timer()
        loop = self._loop
        if timeout_ms < 0 or loop is None or loop.is_closed():
            return
        if timeout_ms == 0:
            # call_soon: runs after the call into libcurl that set it has returned
            self._timer = loop.call_soon(self._fire_timeout)
        else:
            self._timer = loop.call_later(timeout_ms / 1000.0, self._fire_timeout)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # --- the Python driver: the loop's handlers ----------------------------------------

    def _on_readable(self, fd: int, state: _SocketState) -> None:
        if state.read_registered:
            self._drive(fd, CSELECT_IN)

    def _on_writable(self, fd: int, state: _SocketState) -> None:
        if state.write_registered:
            self._drive(fd, CSELECT_OUT)

    def _fire_timeout(self) -> None:
        self._timer = None
        self._drive(SOCKET_TIMEOUT, 0)

    def _drive(self, fd: int, mask: int) -> None:
        if self._closing:
            return
        epoll = self._epoll
        if epoll is not None:
            epoll.d.defer = 1
        try:
            try:
                self._multi.socket_action(fd, mask)
            except MultiError as exc:
                if exc.__cause__ is None:
                    self._fail_all_pending(exc)
                else:
                    self._own_callback_failed(exc)
                return
            except error as exc:
                self._fail_all_pending(exc)
                return
            if epoll is not None or not _NOTIFY_SUPPORTED:
                self._drain()
        finally:
            if epoll is not None:
                self._settle()

    def _own_callback_failed(self, exc: MultiError) -> None:
        """This driver's socket or timer callback raised (the loop refused an fd ...).

        CurlMulti removed the transfer whose socket callback raised: that one
        fails with ``exc``; a failed timer callback fails every transfer.
        """
        self._drain()
        running = set(self._multi.handles())
        gone = [curl for curl in self._futures if curl not in running] or list(self._futures)
        for curl in gone:
            self._resolve(curl, exc)

    # --- finished transfers -------------------------------------------------------------

    def _fail_all_pending(self, exc: BaseException) -> None:
        for curl in list(self._futures):
            self._resolve(curl, exc)

    def _drain(self) -> None:
        self._resolve_done(*self._multi.info_read()[1:])

    def _resolve_done(self, ok: list[Curl], err: list[tuple[Curl, int, str]]) -> None:
        """Resolve the futures of finished transfers: info_read()'s ok and err lists.
        Those the C driver removed already (no multi any more) are not removed again."""
        for curl in ok:
            self._resolve(curl, None, added_to_multi(curl))
        for curl, code, message in err:
            exc: Optional[BaseException] = refused_error(curl, code)  # its SSRF policy refused it
            if exc is None:
                exc = errors.outcome(code, None, curl.callback_error, message=message)
            self._resolve(curl, exc, added_to_multi(curl))

    def _resolve(self, curl: Curl, exc: Optional[BaseException], remove: bool = True) -> None:
        future = self._futures.pop(curl, None)
        if future is None:
            return
        if remove:
            try:
                self._multi.remove_handle(curl)
            except error:
                pass
        if future.done():
            return
        if exc is None:
            future.set_result(curl)
        elif isinstance(exc, Exception):
            future.set_exception(exc)
        else:
            # KeyboardInterrupt/SystemExit: the driving call raised it out of the
            # loop already; awaiting the interrupted transfer must not raise it again
            future.cancel()

    def _on_future_done(self, curl: Curl, future: _Pending) -> None:
        # Scheduled when a transfer's future is cancelled (_TransferFuture.cancel):
        # one cancelled by its user (or its task) is still in _futures.
        if self._closing or self._futures.get(curl) is not future:
            return
        self._futures.pop(curl, None)
        epoll = self._epoll
        if epoll is not None:
            epoll.d.defer = 1
        try:
            self._multi.remove_handle(curl)
        except error:
            pass
        finally:
            if epoll is not None:
                self._settle()
