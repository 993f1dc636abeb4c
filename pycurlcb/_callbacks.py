"""Every ``@ffi.def_extern`` trampoline, and the one decorator they share.

libcurl calls a trampoline with the ``clientp`` that shim.c installed: an
``ffi.new_handle`` of an ``EasyCallbacks`` (per Curl) or ``MultiCallbacks``
(per CurlMulti).  The decorator turns it back into that object, calls the body
(which calls the user's callable and converts its return value), and on any
``BaseException`` -- KeyboardInterrupt included -- stores the exception on the
owner and returns that callback's abort value, so libcurl fails the transfer
at once (fail closed) and the driving call re-raises the same object.  Nothing
is printed.

Lifetimes: libcurl may call CLOSESOCKETFUNCTION after the Curl is closed, from
the connection cache of a multi handle (curl/curl#17816).  The opensocket and
closesocket trampolines are therefore always installed together, count the
sockets they open and close (``live``), and an ``EasyCallbacks`` whose Curl is
closed while sockets it opened are still alive is kept in ``_ORPHANS`` until
the last of them is closed.
"""

from __future__ import annotations

import os
import socket
import threading
import warnings
from typing import Any, Callable, Optional

from . import sockaddr
from ._ffi import c_range, ffi, lib
from .constants import InfoType, Poll, SockType

SOCKET_BAD: int = lib.CURL_SOCKET_BAD
_SOCKOPT_OK: int = lib.CURL_SOCKOPT_OK
_SEEKFUNC_OK: int = lib.CURL_SEEKFUNC_OK
_SOCKTYPE = {m.value: m for m in SockType}
_INFOTYPE = {m.value: m for m in InfoType}
_POLL = {m.value: m for m in Poll}
_SOCKOPT_VALUES = (lib.CURL_SOCKOPT_OK, lib.CURL_SOCKOPT_ERROR, lib.CURL_SOCKOPT_ALREADY_CONNECTED)
_ALREADY_CONNECTED_BROKEN = bool(lib.pcb_sockopt_already_connected_broken())
_warned_already_connected = False

#: Callback states of closed Curls that still have sockets open in libcurl.
_ORPHANS: set[EasyCallbacks] = set()


#: The user's callables an EasyCallbacks holds, one per callback option.
CALLABLES = (
    "opensocket", "sockopt", "closesocket", "write", "header", "read",
    "seek", "xferinfo", "progress", "debug",
)


class EasyCallbacks:
    """What an easy handle's clientp points at: the callables and the pending error."""

    __slots__ = ("handle", "exc", "sink", "home", "live", "orphan", "__weakref__", *CALLABLES)

    # The user's callables (None when unset); a trampoline is installed only while
    # its callable is set, so the bodies below call them without a check.
    opensocket: Any
    sockopt: Any
    closesocket: Any
    write: Any
    header: Any
    read: Any
    seek: Any
    xferinfo: Any
    progress: Any
    debug: Any

    def __init__(self) -> None:
        self.handle = ffi.new_handle(self)
        self.exc: Optional[BaseException] = None
        #: The failure list of the CurlMulti driving this handle now, if any.
        self.sink: Optional[list[EasyCallbacks]] = None
        #: The failure list of the last CurlMulti it was added to: its cache may
        #: hold our sockets, so an orphan's closesocket failure is reported there.
        self.home: Optional[list[EasyCallbacks]] = None
        self.live = 0
        self.orphan = False
        self.clear()

    def clear(self) -> None:
        """Forget every callable (curl_easy_reset)."""
        for name in CALLABLES:
            setattr(self, name, None)

    def copy_from(self, other: EasyCallbacks) -> None:
        """Share ``other``'s callables (curl_easy_duphandle)."""
        for name in CALLABLES:
            setattr(self, name, getattr(other, name))

    def fail(self, exc: BaseException) -> None:
        """Record the first exception of this transfer, and tell the multi."""
        if self.exc is None:
            self.exc = exc
            sink = self.home if self.orphan else self.sink
            if sink is not None:
                sink.append(self)

    def take(self) -> Optional[BaseException]:
        """The pending exception, cleared."""
        exc, self.exc = self.exc, None
        return exc

    def release(self) -> None:
        """The Curl is closed: keep this alive while libcurl holds its sockets."""
        if self.live > 0:
            self.orphan = True
            _ORPHANS.add(self)


class MultiCallbacks:
    """What a multi handle's clientp points at: socket and timer callables."""

    __slots__ = ("handle", "exc", "multi", "socket", "timer", "assigned", "doomed", "__weakref__")

    def __init__(self, multi: Callable[[], Any]) -> None:
        self.handle = ffi.new_handle(self)
        self.exc: Optional[BaseException] = None
        self.multi = multi  # a weakref to the CurlMulti, passed to socket()
        self.socket: Optional[Callable[..., Any]] = None
        self.timer: Optional[Callable[..., Any]] = None
        #: fd -> (object, its ffi handle) given to curl_multi_assign().
        self.assigned: dict[int, tuple[Any, Any]] = {}
        #: CURL* of the transfers whose socket callback raised: the driving
        #: call removes them from the multi (they are failed, the others go on).
        self.doomed: list[Any] = []

    def fail(self, exc: BaseException) -> None:
        if self.exc is None:
            self.exc = exc

    def take(self) -> Optional[BaseException]:
        exc, self.exc = self.exc, None
        return exc


class _Stray(threading.local):
    exc: Optional[BaseException] = None


_stray = _Stray()


def _backstop(abort: int) -> Callable[..., int]:
    """cffi's onerror: an exception that escaped the decorator's ``try``.

    A signal handler's KeyboardInterrupt can be raised at the trampoline's
    first bytecode, before its state is known (or pycurlcb has a bug).  Fail
    closed, and park the exception for this thread's driving call to raise.
    """

    def onerror(exc_type: Any, exc_value: Any, tb: Any) -> int:
        if _stray.exc is None:
            _stray.exc = exc_value
        return abort

    return onerror


def has_stray() -> bool:
    """Whether the backstop parked an exception in this thread."""
    return _stray.exc is not None


def take_stray() -> Optional[BaseException]:
    """The exception parked by the backstop in this thread, cleared."""
    exc = _stray.exc
    if exc is not None:
        _stray.exc = None
    return exc


def trampoline(
    name: str, abort: int, clientp_index: int, *, after_failure: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach ``body(state, *c_args)`` as the extern "Python" function ``name``.

    ``clientp_index`` is the position of the clientp argument.  Once a
    callback of the transfer has raised, the others return ``abort`` without
    calling Python, unless ``after_failure`` (closesocket must still close).
    """

    def decorate(body: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            state = ffi.from_handle(args[clientp_index])
            if state.exc is not None and not after_failure:
                return abort
            try:
                return body(state, *args)
            except BaseException as exc:  # noqa: B036 - KeyboardInterrupt aborts too
                state.fail(exc)
                return abort

        call.__name__ = call.__qualname__ = name
        ffi.def_extern(name=name, onerror=_backstop(abort))(call)
        return body

    return decorate


# --- socket callbacks -----------------------------------------------------------


def _fd_of(result: Any) -> int:
    """An fd for libcurl from what opensocket returned (socket object or int)."""
    if type(result) is bool:
        raise TypeError("opensocket must return a socket, an int fd or None, not bool")
    if isinstance(result, int):
        if result < 0 and result != SOCKET_BAD:
            raise ValueError(f"opensocket returned a negative fd {result}")
        return _c_int(result, "opensocket")
    fileno = getattr(result, "fileno", None)
    if fileno is None:
        raise TypeError(
            "opensocket must return a socket object, an int fd, None, or a "
            f"(socket_or_fd, address) tuple, not {type(result).__name__}"
        )
    fd = fileno()
    if type(fd) is not int:
        raise TypeError(f"fileno() of the socket opensocket returned is {fd!r}, not an int")
    if fd < 0:
        raise ValueError("opensocket returned a closed socket")
    return os.dup(fd)


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _open_fd(result: Any, address: Any) -> int:
    if result is None:
        return SOCKET_BAD
    if not isinstance(result, tuple):
        return _fd_of(result)
    if len(result) != 2:
        raise TypeError(
            f"opensocket's tuple must be (socket_or_fd, address), got {len(result)} items"
        )
    sock, new_addr = result
    try:
        family = sockaddr.family_of(new_addr)
        sock_family = getattr(sock, "family", family)
        if sock_family != family:
            raise ValueError(
                f"opensocket returned a socket of family {sock_family!r} with an address "
                f"of family {socket.AddressFamily(family)!r}: {new_addr!r}"
            )
        sockaddr.to_c(address, family, new_addr)
    except BaseException:
        if type(sock) is int and sock >= 0:
            _close_quietly(sock)  # its ownership had passed to us
        raise
    fd = _fd_of(sock)
    if fd == SOCKET_BAD:
        raise ValueError("opensocket returned an address with no socket")
    return fd


@trampoline("pcb_opensocket", SOCKET_BAD, 0)
def _opensocket(state: EasyCallbacks, clientp: Any, purpose: int, address: Any) -> int:
    fn = state.opensocket
    if fn is None:
        fd = int(lib.pcb_socket(address.family, address.socktype, address.protocol))
    else:
        fd = _open_fd(fn(_SOCKTYPE.get(purpose, purpose), sockaddr.from_c(address)), address)
    if fd != SOCKET_BAD:
        state.live += 1
    return fd


def _warn_already_connected() -> None:
    global _warned_already_connected
    if not _warned_already_connected:
        _warned_already_connected = True
        warnings.warn(
            "libcurl 7.88.0 and 7.88.1 ignore CURL_SOCKOPT_ALREADY_CONNECTED and call "
            "connect() anyway, failing with CURLE_COULDNT_CONNECT (curl/curl#10626, "
            "fixed in libcurl 8.0.0)",
            RuntimeWarning,
            stacklevel=2,
        )


@trampoline("pcb_sockopt", lib.CURL_SOCKOPT_ERROR, 0)
def _sockopt(state: EasyCallbacks, clientp: Any, fd: int, purpose: int) -> int:
    fn = state.sockopt
    if fn is None:
        return _SOCKOPT_OK
    rv = fn(fd, _SOCKTYPE.get(purpose, purpose))
    if rv is None:
        return _SOCKOPT_OK
    if type(rv) is bool or not isinstance(rv, int):
        raise TypeError(f"sockopt must return SOCKOPT_OK, _ERROR or _ALREADY_CONNECTED, not {rv!r}")
    if rv not in _SOCKOPT_VALUES:
        raise ValueError(f"sockopt must return SOCKOPT_OK, _ERROR or _ALREADY_CONNECTED, not {rv}")
    if rv == lib.CURL_SOCKOPT_ALREADY_CONNECTED and _ALREADY_CONNECTED_BROKEN:
        _warn_already_connected()
    return int(rv)


@trampoline("pcb_closesocket", 1, 0, after_failure=True)
def _closesocket(state: EasyCallbacks, clientp: Any, fd: int) -> int:
    try:
        fn = state.closesocket
        if fn is None:
            return int(lib.pcb_close(fd))
        try:
            rv = fn(fd)
        except BaseException:
            _close_quietly(fd)  # libcurl forgets this fd now: never leak it
            raise
        return 0 if rv is None else _c_int(rv, "closesocket")
    finally:
        state.live -= 1
        if state.orphan and state.live <= 0:
            _ORPHANS.discard(state)


# --- data callbacks ---------------------------------------------------------------


_SIZE_MAX = c_range("size_t", signed=False)[1]
_INT_MIN, _INT_MAX = c_range("int")


def _c_int(rv: Any, what: str) -> int:
    """``rv`` as a C int return value; TypeError/ValueError naming the callback."""
    if type(rv) is bool or not isinstance(rv, int):
        raise TypeError(f"{what} must return None or an int, not {type(rv).__name__}")
    if not _INT_MIN <= rv <= _INT_MAX:
        raise ValueError(f"{what} returned {rv}, which does not fit a C int")
    return int(rv)


def _written(rv: Any, n: int, what: str) -> int:
    if rv is None:
        return n
    if type(rv) is bool or not isinstance(rv, int):
        raise TypeError(f"{what} must return None or an int, not {type(rv).__name__}")
    if not 0 <= rv <= _SIZE_MAX:
        raise ValueError(f"{what} returned {rv}: expected None or a byte count from 0 to {n}")
    return int(rv)


@trampoline("pcb_write", lib.PCB_WRITEFUNC_ERROR, 3)
def _write(state: EasyCallbacks, ptr: Any, size: int, nmemb: int, userdata: Any) -> int:
    n = size * nmemb
    return _written(state.write(ffi.unpack(ptr, n)), n, "the write callback")


@trampoline("pcb_header", lib.PCB_WRITEFUNC_ERROR, 3)
def _header(state: EasyCallbacks, ptr: Any, size: int, nmemb: int, userdata: Any) -> int:
    n = size * nmemb
    return _written(state.header(ffi.unpack(ptr, n)), n, "the header callback")


@trampoline("pcb_read", lib.CURL_READFUNC_ABORT, 3)
def _read(state: EasyCallbacks, buffer: Any, size: int, nitems: int, userdata: Any) -> int:
    n = size * nitems
    rv = state.read(n)
    if isinstance(rv, str):
        rv = rv.encode("ascii")
    if isinstance(rv, (bytes, bytearray, memoryview)):
        data = memoryview(rv).cast("B")
        if len(data) > n:
            raise ValueError(f"the read callback returned {len(data)} bytes, more than the {n} asked for")
        ffi.memmove(buffer, data, len(data))
        return len(data)
    if type(rv) is int and rv in (lib.CURL_READFUNC_ABORT, lib.CURL_READFUNC_PAUSE):
        return rv
    raise TypeError(
        "the read callback must return bytes, an ASCII str, READFUNC_ABORT or READFUNC_PAUSE, "
        f"not {rv!r}"
    )


@trampoline("pcb_seek", lib.CURL_SEEKFUNC_FAIL, 0)
def _seek(state: EasyCallbacks, userp: Any, offset: int, origin: int) -> int:
    rv = state.seek(offset, origin)
    if rv is None:
        return _SEEKFUNC_OK
    if type(rv) is not int or rv not in (0, 1, 2):
        raise ValueError(f"the seek callback must return SEEKFUNC_OK, _FAIL or _CANTSEEK, not {rv!r}")
    return rv


def _progress_rv(rv: Any) -> int:
    if rv is None or rv is False:
        return 0
    if rv is True:
        return 1
    return _c_int(rv, "the progress callback")


@trampoline("pcb_xferinfo", 1, 0)
def _xferinfo(state: EasyCallbacks, clientp: Any, dt: int, dn: int, ut: int, un: int) -> int:
    return _progress_rv(state.xferinfo(dt, dn, ut, un))


@trampoline("pcb_progress", 1, 0)
def _progress(state: EasyCallbacks, clientp: Any, dt: float, dn: float, ut: float, un: float) -> int:
    return _progress_rv(state.progress(dt, dn, ut, un))


@trampoline("pcb_debug", 0, 4)
def _debug(state: EasyCallbacks, handle: Any, kind: int, data: Any, size: int, userp: Any) -> int:
    state.debug(_INFOTYPE.get(kind, kind), ffi.unpack(data, size))
    return 0


# --- multi callbacks ----------------------------------------------------------------
#
# Neither multi trampoline hands libcurl -1 for an exception: on libcurl 7.88.1 a
# timer callback returning -1 from curl_multi_add_handle leaves the multi so that a
# later curl_multi_socket_action crashes, and -1 from the socket callback marks the
# whole multi dead for good.  The exception is raised by the driving call instead;
# a raising socket callback's transfer is removed from the multi (failed), the
# other transfers go on.  An explicit -1 *returned* by the socket callback is
# passed on: libcurl then aborts every transfer (CURLMOPT_SOCKETFUNCTION(3)).


@trampoline("pcb_multi_socket", 0, 3, after_failure=True)
def _multi_socket(
    state: MultiCallbacks, easy: Any, fd: int, what: int, clientp: Any, socketp: Any
) -> int:
    obj = ffi.from_handle(socketp) if socketp != ffi.NULL else None
    try:
        if state.socket is None:
            return 0
        rv = state.socket(_POLL.get(what, what), fd, state.multi(), obj)
        if rv is None:
            return 0
        if type(rv) is not int or rv not in (0, -1):
            raise ValueError(f"the socket callback must return None, 0 or -1, not {rv!r}")
        return rv
    except BaseException:
        state.doomed.append(easy)
        raise
    finally:
        if what == lib.CURL_POLL_REMOVE:
            entry = state.assigned.get(fd)
            if entry is not None and entry[1] == socketp:
                del state.assigned[fd]  # libcurl has forgotten it too


@trampoline("pcb_multi_timer", 0, 2, after_failure=True)
def _multi_timer(state: MultiCallbacks, multi: Any, timeout_ms: int, clientp: Any) -> int:
    if state.timer is None:
        return 0
    rv = state.timer(timeout_ms)
    if rv is not None and rv != 0:
        raise ValueError(
            f"the timer callback must return None or 0, not {rv!r} (a -1 from it can crash libcurl 7.88)"
        )
    return 0
