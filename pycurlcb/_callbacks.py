"""The trampolines of the easy and multi interfaces, and the decorator they share.

Every row of ``_cbtable.ROWS`` is an ``extern "Python"`` function; its body
here is attached with ``@trampoline(name)``.  libcurl calls it with the
clientp that the owning handle installed: a key (``register()``) under which
``_STATES`` holds a weak reference to the handle's state object
(``EasyCallbacks`` for a Curl, ``MultiCallbacks`` for a CurlMulti).  The
decorator looks the state up, calls the body (which calls the user's callable
and converts what it returns), and on any ``BaseException`` records it on the
state and returns the row's abort value, so that libcurl fails the transfer
at once (fail closed).  Nothing is printed.  The driving call then raises
through ``errors.outcome``: ``pycurlcb.error`` with the recorded exception as
``__cause__``, or a ``KeyboardInterrupt``/``SystemExit`` as itself (those are
also parked per thread, so that whatever call is driving libcurl raises them
at once).

A key with no live state (the handle was collected, or is being released
without running Python: a finaliser) maps to a state whose callables are all
None, and every body then does what libcurl would do without a callback
(close(2) for closesocket ...).  Keys are never reused, and are plain numbers:
libcurl may hold one long after its handle is gone without it pointing at
freed memory.

Lifetimes: libcurl may call CLOSESOCKETFUNCTION after the Curl is closed, from
the connection cache of a multi handle (curl/curl#17816).  The opensocket and
closesocket trampolines are therefore installed together and count the
sockets they open and close (``fds``); the state of a Curl closed while
sockets it opened are still alive is kept in ``_ORPHANS``, registered, until
the last of them is closed.  A Curl that is garbage in a running collection
(weak reference cleared, ``__del__`` still to come) whose connection a
CurlMulti of the same collection closes gets its fd later, from its
``__del__`` (``take_unclosed``); what no ``__del__`` takes is closed when the
collection ends.
"""

from __future__ import annotations

import gc
import itertools
import os
import sys
import threading
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional

from . import sockaddr
from ._cbtable import Row, rows_for
from ._ffi import c_range, ffi, lib
from .constants import InfoType, Poll, SockType
from .errors import ReturnOverflow, error

if TYPE_CHECKING:
    import datetime  # imported on first use at run time (HSTS callbacks)

#: The rows this build has: declared by build_ffi.py for the header's version.
ROWS: dict[str, Row] = {
    r.trampoline: r for r in rows_for(lib.LIBCURL_VERSION_NUM) if hasattr(lib, r.trampoline)
}

if TYPE_CHECKING:
    from typing import Protocol

    from .multi import CurlMulti

    class _OptionRow(Protocol):
        """A row that setopt installs (owner easy or multi): its option and data are set."""

        @property
        def attr(self) -> str: ...
        @property
        def option(self) -> str: ...
        @property
        def data(self) -> str: ...
        @property
        def trampoline(self) -> str: ...
        @property
        def default(self) -> Optional[str]: ...


SOCKET_BAD: int = lib.CURL_SOCKET_BAD
_SOCKOPT_OK: int = lib.CURL_SOCKOPT_OK
_INT_MIN, _INT_MAX = c_range("int")
_LONG_MIN, _LONG_MAX = c_range("long")
_SIZE_MAX = c_range("size_t", signed=False)[1]
#: The small enums callables get instead of bare ints (IntEnum: == and int() as pycurl's ints).
_SOCKTYPE = {m.value: m for m in SockType}
_INFOTYPE = {m.value: m for m in InfoType}
_POLL = {m.value: m for m in Poll}
_ALREADY_CONNECTED_BROKEN = bool(lib.pcb_sockopt_already_connected_broken())
_warned_already_connected = False


class KhKey(NamedTuple):
    """An SSH host key given to SSH_KEYFUNCTION (struct curl_khkey): key bytes, CURLKHTYPE_*."""

    key: bytes
    keytype: int


class HstsEntry(NamedTuple):
    """An HSTS cache entry (struct curl_hstsentry, CURLOPT_HSTSREADFUNCTION(3)).

    host: bytes; expire: an aware UTC datetime, or None for "never";
    include_subdomains: bool.
    """

    host: bytes
    expire: Optional[datetime.datetime]
    include_subdomains: bool


class HstsIndex(NamedTuple):
    """Where an entry stands in the cache being saved (struct curl_index); ``idx``
    as in pycurl (``index`` would shadow tuple.index)."""

    idx: int
    total: int


class FileInfo(NamedTuple):
    """What CHUNK_BGN_FUNCTION is told about the next file (struct curl_fileinfo)."""

    filename: Optional[bytes]
    filetype: int
    perm: int
    uid: int
    gid: int
    size: int
    hardlinks: int
    flags: int


# --- the state objects clientp points at --------------------------------------------
#
# A Curl (CurlMulti) is its own callback state: its callables live in slots of
# the handle object itself, so libcurl's clientp stands for the handle and the
# handle is what refers to the user's callables (as in pycurl, where
# gc.get_referrers(callback) is the Curl).  The slots and methods are
# underscored so that they never meet the attributes users set on handles.


def slot(attr: str) -> str:
    """The slot of a state object that holds the callable of the row with ``attr``."""
    return "_cb_" + attr


def _slots(owner: str) -> tuple[str, ...]:
    return tuple(sorted({slot(r.attr) for r in ROWS.values() if r.owner == owner}))


EASY_SLOTS = _slots("easy")
MULTI_SLOTS = _slots("multi")


class State:
    """A recorded failure: the first exception raised by a callback of the owner."""

    __slots__ = ("_exc",)

    _exc: Optional[BaseException]

    def _fail(self, exc: BaseException) -> None:
        if self._exc is None:
            self._exc = exc
        if not isinstance(exc, Exception):
            _park(exc)

    def _take(self) -> Optional[BaseException]:
        """The recorded exception, cleared."""
        exc, self._exc = self._exc, None
        return exc


#: What a ``_cb_*`` slot holds: the user's callable, or None.
Callback = Optional[Callable[..., Any]]


class EasyCallbacks(State):
    """A Curl's callables (one slot per easy row of the table), its failure and sockets."""

    __slots__ = (*EASY_SLOTS, "_write_mv", "_header_mv", "_orphan", "_bulk_write", "_bulk_mv",
                 "_read_into", "_guard", "_refused")

    def _halt(self) -> None:
        """A callback libcurl does not listen to (Row.halts) failed: perform()'s
        C loop returns after the current curl_multi_perform, and perform() steps
        libcurl no further."""
        self._e.stop = 1

    if TYPE_CHECKING:  # the slots EASY_SLOTS makes from the table (tests/test_typing.py checks)
        _e: Any  # the Curl's struct pcb_easy
        _cb_write: Callback
        _cb_header: Callback
        _cb_read: Callback
        _cb_seek: Callback
        _cb_ioctl: Callback
        _cb_progress: Callback
        _cb_xferinfo: Callback
        _cb_debug: Callback
        _cb_opensocket: Callback
        _cb_sockopt: Callback
        _cb_closesocket: Callback
        _cb_ssh_key: Callback
        _cb_ssh_hostkey: Callback
        _cb_prereq: Callback
        _cb_fnmatch: Callback
        _cb_chunk_bgn: Callback
        _cb_chunk_end: Callback
        _cb_resolver_start: Callback
        _cb_trailer: Callback
        _cb_hstsread: Callback
        _cb_hstswrite: Callback

    def _init_callbacks(self) -> None:
        self._exc = None
        self._orphan: Any = None  # the clientp, while closed with sockets alive
        #: The SSRF policies' ssrf.Guard while one is attached (Curl._guard_changed), else None.
        self._guard: Any = None
        #: The ssrf.Refusal list of the current transfer, None until the guard refuses one.
        self._refused: Optional[list[Any]] = None
        self._clear_callbacks()

    def _clear_callbacks(self) -> None:
        """Forget every callable (curl_easy_reset, close)."""
        for name in EASY_SLOTS:
            setattr(self, name, None)
        self._write_mv = self._header_mv = False
        #: setopt(WRITEDATA, obj): obj.write, also in _cb_write (bulk bodies, bulk.h)
        self._bulk_write: Callback = None
        #: obj copies what it is given (io.BytesIO, binary files): flushes pass a memoryview
        self._bulk_mv = False
        #: setopt(READDATA, obj) with obj an io.BytesIO or binary file: obj.readinto,
        #: which the read trampoline calls on libcurl's buffer instead of obj.read
        self._read_into: Callback = None

    def _copy_callbacks(self, other: EasyCallbacks) -> None:
        """Share ``other``'s callables (curl_easy_duphandle)."""
        for name in (*EASY_SLOTS, "_write_mv", "_header_mv", "_bulk_write", "_bulk_mv", "_read_into"):
            setattr(self, name, getattr(other, name))

    def _release_callbacks(self, clientp: Any) -> None:
        """The Curl is closed: stay registered while libcurl holds sockets it opened."""
        key = _STATES.get(clientp)
        if key is not None:
            # libcurl 7.88.1 closes the socket of a transfer removed while it
            # connects without calling CLOSESOCKETFUNCTION: forget the sockets
            # that are gone (the fd closed, or its number now another socket's).
            key.fds = {fd: ino for fd, ino in key.fds.items() if _socket_inode(fd) == ino}
        if key is not None and key.fds:
            self._orphan = clientp
            _ORPHANS.add(self)
        else:
            unregister(clientp)


class MultiCallbacks(State):
    """A CurlMulti's callables, its assigned objects, and the transfers to fail."""

    __slots__ = (*MULTI_SLOTS, "_assigned", "_doomed", "_aborted")

    if TYPE_CHECKING:  # the slots MULTI_SLOTS makes from the table (tests/test_typing.py checks)
        _cb_socket: Callback
        _cb_timer: Callback
        _cb_notify: Callback  # a slot only with libcurl >= 8.17.0's headers

    def _init_callbacks(self) -> None:
        self._exc = None
        for name in MULTI_SLOTS:
            setattr(self, name, None)
        #: fd -> (object, its ffi handle) given to curl_multi_assign().
        self._assigned: dict[int, tuple[Any, Any]] = {}
        #: CURL* of the transfers whose socket callback failed: the driving call
        #: removes them (they fail, the others go on).
        self._doomed: list[Any] = []
        #: The timer callback asked to abort (returned -1).
        self._aborted = False


#: Closed Curls that still have sockets open in libcurl.
_ORPHANS: set[Any] = set()


class _Disabled:
    """A state without callables: what a key with no live state stands for."""

    __slots__ = ("_exc", "_orphan", "_write_mv", "_header_mv", "_bulk_write", "_bulk_mv",
                 "_read_into", "_guard", "_refused", "_assigned", "_doomed", "_aborted",
                 *EASY_SLOTS, *MULTI_SLOTS)

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, None)
        self._write_mv = self._header_mv = self._bulk_mv = self._aborted = False
        self._assigned: dict[int, tuple[Any, Any]] = {}
        self._doomed = _Discard()

    def _fail(self, exc: BaseException) -> None:
        pass  # nobody is left to raise it to

    def _halt(self) -> None:
        pass


class _Discard(list):  # type: ignore[type-arg]
    def append(self, item: Any) -> None:
        pass


_DISABLED = _Disabled()

class Key:
    """What a clientp stands for: a weak reference to its state, and the sockets
    opened through it that libcurl has not closed yet (``fds``).

    They live here, in the registry, not on the state: the collector may clear
    the weak reference of a state in a garbage cycle before a multi or share
    of the same cycle closes the state's sockets, and the set must still empty
    then (or the Curl would wait for them as an orphan forever).
    """

    __slots__ = ("ref", "fds")

    def __init__(self, state: State) -> None:
        self.ref = weakref.ref(state)
        #: fd -> the socket's inode when opened (which socket the number was)
        self.fds: dict[int, int] = {}


def _socket_inode(fd: int) -> int:
    """The inode of the socket ``fd`` is now (sockets have unique ones), -1 if closed."""
    try:
        return os.fstat(fd).st_ino
    except OSError:
        return -1


#: clientp -> its Key.
_STATES: dict[Any, Key] = {}
_keys = itertools.count(1)


def register(state: State) -> Any:
    """A new clientp for ``state``: a key, never reused, cast to void *."""
    clientp = ffi.cast("void *", next(_keys))
    _STATES[clientp] = Key(state)
    return clientp


def _ignore(ref: Any) -> None:
    pass


def live_ref(obj: Any) -> Any:
    """A weak reference to ``obj`` that refers to it now, also from a finaliser.

    ``weakref.ref(obj)`` hands back the reference ``obj`` already has.  The
    collector clears that one when ``obj`` is garbage, before the finalisers
    run; CPython then makes a new one, PyPy hands back the cleared one (it
    keeps ``obj`` alive for a finaliser that references it, to run one
    collection later).  A reference with a callback is always a new one.
    """
    ref = weakref.ref(obj)
    return ref if ref() is not None else weakref.ref(obj, _ignore)


def reactivate(clientp: Any, state: State) -> None:
    """Point ``clientp`` at ``state`` again (a finaliser closing with callbacks:
    the collector has already cleared the weak references to garbage)."""
    key = _STATES.get(clientp)
    if key is not None:
        key.ref = live_ref(state)


def unregister(clientp: Any) -> None:
    """From now on ``clientp`` calls no Python: libcurl's defaults apply."""
    _STATES.pop(clientp, None)


def state_of(clientp: Any) -> Any:
    """The live state registered under ``clientp``, else the disabled one."""
    key = _STATES.get(clientp)
    state = None if key is None else key.ref()
    return _DISABLED if state is None else state


class _Parked(threading.local):
    exc: Optional[BaseException] = None


_parked = _Parked()


def _park(exc: BaseException) -> None:
    if _parked.exc is None:
        _parked.exc = exc


def has_parked() -> bool:
    """Whether a callback parked a KeyboardInterrupt/SystemExit in this thread."""
    return _parked.exc is not None


def take_parked() -> Optional[BaseException]:
    """A KeyboardInterrupt/SystemExit a callback raised in this thread, cleared."""
    exc = _parked.exc
    if exc is not None:
        _parked.exc = None
    return exc


def _post_mortem(exc: BaseException) -> None:
    """Leave ``exc`` where pdb.pm() looks (sys.last_value ...), as pycurl's
    callback errors are; nothing is printed."""
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, exc.__traceback__
    if sys.version_info >= (3, 12):
        sys.last_exc = exc


def take_failure(state: State) -> Optional[BaseException]:
    """What the driving call that just returned must raise for ``state``: a parked
    KeyboardInterrupt/SystemExit first, else the state's recorded exception.
    Both are cleared."""
    parked = take_parked()
    exc = state._take()
    return parked if parked is not None else exc


def _backstop(abort: Any) -> Callable[..., Any]:
    """cffi's onerror: an exception that escaped the decorator's ``try``.

    A signal handler's KeyboardInterrupt can be raised at the trampoline's
    first bytecode, before its state is known.  Fail closed and park it.
    """

    def onerror(exc_type: Any, exc_value: Any, tb: Any) -> Any:
        if exc_value is not None:
            _park(exc_value)
        return abort

    return onerror


def abort_value(row: Row) -> Any:
    """What ``row``'s trampoline returns when its callable raised."""
    if row.decl.startswith("void "):
        return None
    return getattr(lib, row.abort) if isinstance(row.abort, str) else row.abort


def trampoline(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach ``body(state, *c_args)`` as the extern "Python" function ``name``.

    Once a callback of the owner has raised, the others return the abort
    value without calling Python, unless the row says ``after_failure``.  A
    row this build lacks (an older libcurl) attaches nothing.
    """

    def decorate(body: Callable[..., Any]) -> Callable[..., Any]:
        row = ROWS.get(name)
        if row is None:
            return body
        call = _wrapper(row, body)
        ffi.def_extern(name=name, onerror=_backstop(abort_value(row)))(call)
        return body

    return decorate


#: The trampolines' shared body, specialised per row: positional parameters
#: named after the C declaration, so no *args packing on the hot path.
_WRAPPER = """\
def {name}({params}):
    key = get({clientp})
    state = None if key is None else key.ref()
    if state is None:
        state = disabled
    elif state._exc is not None and not after:
        return abort
    try:
        return body(state, {params})
    except BaseException as exc:
        state._fail(exc)
        if halts:
            state._halt()
        if isinstance(exc, Exception):
            post_mortem(exc)
        return abort
"""


def _wrapper(row: Row, body: Callable[..., Any]) -> Callable[..., Any]:
    """The function cffi attaches for ``row``: look up the state, call ``body``, fail closed."""
    params = [p.split()[-1].lstrip("*") for p in row.decl.split("(", 1)[1].rstrip(")").split(",")]
    source = _WRAPPER.format(name=row.trampoline, params=", ".join(params), clientp=params[row.clientp])
    scope = {
        "get": _STATES.get, "disabled": _DISABLED, "after": row.after_failure, "halts": row.halts,
        "abort": abort_value(row), "body": body, "post_mortem": _post_mortem,
    }
    exec(compile(source, f"<trampoline {row.trampoline}>", "exec"), scope)  # noqa: S102 - our text
    return scope[row.trampoline]  # type: ignore[no-any-return]


# --- return values ---------------------------------------------------------------------


def c_int(rv: Any, what: str, direct: bool = True) -> int:
    """An int return value that must fit a C int, as pycurl checks it.

    Too large: errors.ReturnOverflow (raised by the driving call as itself),
    or with ``direct=False`` an OverflowError (the cause of a pycurl.error).
    """
    if not isinstance(rv, int):
        raise TypeError(f"{what} callback returned {_repr(rv)} which is not an integer")
    if not _INT_MIN <= rv <= _INT_MAX:
        cls = ReturnOverflow if direct else OverflowError
        raise cls(f"{what} callback returned {rv} which does not fit in an int")
    return int(rv)


def _repr(value: Any) -> str:
    try:
        return repr(value).encode("ascii", "backslashreplace").decode("ascii")
    except Exception:
        return "a value"


def _as_bytes(value: Any, what: str) -> bytes:
    """str (ASCII only) or bytes, as pycurl's callbacks accept text."""
    if isinstance(value, str):
        return value.encode("ascii")
    if isinstance(value, bytes):
        return value
    raise TypeError(f"{what} must be a byte string or an ASCII-only str, not {type(value).__name__}")


# --- data callbacks --------------------------------------------------------------------


def _written(rv: Any, n: int, what: str) -> int:
    """What a write/header callable returned, as libcurl's size_t count."""
    if rv is None:
        return n
    if not isinstance(rv, int):
        raise error(f"{what} callback must return int or None")
    if not _LONG_MIN <= rv <= _LONG_MAX:
        raise OverflowError(f"{what} callback returned {rv} which does not fit in a C long")
    return rv & _SIZE_MAX  # as pycurl: (size_t)value; anything but n fails the transfer


def _deliver_view(fn: Any, ptr: Any, n: int, what: str) -> int:
    view = memoryview(ffi.buffer(ptr, n)).toreadonly()
    try:
        rv = fn(view)
    finally:
        view.release()  # valid during the call only: libcurl reuses the buffer
    return _written(rv, n, what)


_unpack = ffi.unpack


@trampoline("pcb_write")
def _write(state: Any, ptr: Any, size: int, nmemb: int, userdata: Any) -> int:
    n = size * nmemb
    fn = state._cb_write
    if fn is None:
        return n
    if state._write_mv:
        return _deliver_view(fn, ptr, n, "write")
    rv = fn(_unpack(ptr, n))
    return n if rv is None or (type(rv) is int and rv == n) else _written(rv, n, "write")


def _bulk_flush(clientp: Any, data: Any, n: int) -> int:
    """pcb_bulk_flush (bulk.h): one ``obj.write`` call with ``n`` buffered body bytes.

    Not a row of ``_cbtable``: libcurl never calls it (bulk.c's C write
    callback does, and perform() through pcb_bulk_drain), no option installs
    it, and the callable it calls is the write row's.  It still fails closed
    as the rows' trampolines do: what ``obj.write`` raises is recorded on the
    Curl (the ``__cause__`` of perform()'s E_WRITE_ERROR), and a return
    value other than None or ``n`` fails the transfer, as pycurl does with
    a short write.  It runs after another callback of the transfer failed
    too: bytes libcurl delivered before the failure still reach ``obj``.
    """
    key = _STATES.get(clientp)
    state: Any = None if key is None else key.ref()
    fn = None if state is None else state._cb_write
    if fn is None:
        return 0  # no live Curl: discard, as the write trampoline does
    try:
        if state._bulk_mv:
            rv = _deliver_view(fn, data, n, "write")
        else:
            rv = fn(_unpack(data, n))
            rv = n if rv is None else _written(rv, n, "write")
        return 0 if rv == n else -1
    except BaseException as exc:
        state._fail(exc)
        if isinstance(exc, Exception):
            _post_mortem(exc)
        return -1


ffi.def_extern(name="pcb_bulk_flush", onerror=_backstop(-1))(_bulk_flush)


def in_write_callback(state: Any) -> bool:
    """True if this thread is inside ``state``'s WRITEFUNCTION (pycurl's
    ws_write_cb_running: ws_send()/ws_close() are allowed there).  Looks for
    the write trampoline's frame with this state on the calling stack."""
    frame = sys._getframe(1)
    code = _write.__code__
    while frame is not None:
        if frame.f_code is code and frame.f_locals.get("state") is state:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


@trampoline("pcb_header")
def _header(state: Any, ptr: Any, size: int, nmemb: int, userdata: Any) -> int:
    n = size * nmemb
    fn = state._cb_header
    if fn is None:
        return n
    if state._header_mv:
        return _deliver_view(fn, ptr, n, "header")
    rv = fn(_unpack(ptr, n))
    return n if rv is None or (type(rv) is int and rv == n) else _written(rv, n, "header")


def fill(buffer: Any, n: int, rv: Any, what: str) -> int:
    """Copy what a read callable returned into libcurl's ``buffer`` of ``n`` bytes."""
    if isinstance(rv, str):
        rv = rv.encode("ascii")
    elif isinstance(rv, int) and type(rv) is not bool:
        if rv in (lib.CURL_READFUNC_ABORT, lib.CURL_READFUNC_PAUSE):
            return int(rv)
        raise ValueError(
            f"{what} callback returned {rv}, which is not a byte string, READFUNC_ABORT "
            f"({lib.CURL_READFUNC_ABORT}) or READFUNC_PAUSE ({lib.CURL_READFUNC_PAUSE})"
        )
    try:
        view = memoryview(rv)
    except TypeError:
        raise TypeError(
            f"{what} callback returned {_repr(rv)}, which is not an object supporting the "
            "buffer protocol (e.g. a byte string) or an ASCII-only Unicode string"
        ) from None
    with view:
        if not view.c_contiguous:
            raise BufferError(f"{what} callback returned a buffer that is not C-contiguous")
        size = view.nbytes
        if size > n:
            raise ValueError(
                f"invalid return value for {what} callback ({size} bytes returned when at most "
                f"{n} bytes were wanted)"
            )
        if size:
            ffi.memmove(buffer, view, size)
    return size


@trampoline("pcb_read")
def _read(state: EasyCallbacks, buffer: Any, size: int, nitems: int, userdata: Any) -> int:
    fn = state._cb_read
    if fn is None:
        return int(lib.CURL_READFUNC_ABORT)
    n = size * nitems
    into = state._read_into
    if into is not None:  # READDATA is a BytesIO or binary file: straight into libcurl's buffer
        got = into(ffi.buffer(buffer, n))
        if got is not None:
            return int(got)
        return fill(buffer, n, None, "read")  # non-blocking, nothing there: read()'s error
    return fill(buffer, n, fn(n), "read")


def seek_result(rv: Any) -> int:
    """A seek callable's return: None is SEEKFUNC_OK, else 0, 1 or 2."""
    if rv is None:
        return 0
    code = c_int(rv, "seek", direct=False)
    if not 0 <= code <= 2:
        raise ValueError(
            f"seek callback returned {code}, which is not SEEKFUNC_OK (0), SEEKFUNC_FAIL (1), "
            "SEEKFUNC_CANTSEEK (2) or None"
        )
    return code


@trampoline("pcb_seek")
def _seek(state: EasyCallbacks, userp: Any, offset: int, origin: int) -> int:
    fn = state._cb_seek
    if fn is None:
        return int(lib.CURL_SEEKFUNC_CANTSEEK)
    return seek_result(fn(offset, origin))


@trampoline("pcb_ioctl")
def _ioctl(state: EasyCallbacks, handle: Any, cmd: int, clientp: Any) -> int:
    fn = state._cb_ioctl
    if fn is None:
        return int(lib.CURLIOE_UNKNOWNCMD)
    rv = fn(cmd)
    if rv is None:
        return int(lib.CURLIOE_OK)
    code = c_int(rv, "ioctl", direct=False)
    if not 0 <= code < lib.CURLIOE_LAST:
        raise ValueError(
            f"ioctl callback returned {code}, which is not IOE_OK (0), IOE_UNKNOWNCMD (1), "
            "IOE_FAILRESTART (2) or None"
        )
    return code


def _progress_result(rv: Any, what: str) -> int:
    if rv is None:
        return 0
    if isinstance(rv, int):
        return c_int(rv, what, direct=False)
    return 1 if rv else 0


@trampoline("pcb_xferinfo")
def _xferinfo(state: EasyCallbacks, clientp: Any, dt: int, dn: int, ut: int, un: int) -> int:
    fn = state._cb_xferinfo
    return 1 if fn is None else _progress_result(fn(dt, dn, ut, un), "xferinfo")


@trampoline("pcb_progress")
def _progress(state: EasyCallbacks, clientp: Any, dt: float, dn: float, ut: float, un: float) -> int:
    fn = state._cb_progress
    return 1 if fn is None else _progress_result(fn(dt, dn, ut, un), "progress")


@trampoline("pcb_debug")
def _debug(state: EasyCallbacks, handle: Any, kind: int, data: Any, size: int, userp: Any) -> int:
    fn = state._cb_debug
    if fn is not None:
        fn(_INFOTYPE.get(kind, kind), ffi.unpack(data, size))  # its return is ignored, as libcurl does
    return 0


# --- socket callbacks ------------------------------------------------------------------


def _fd_of(result: Any) -> int:
    """An fd for libcurl from what opensocket returned: an int as is, a socket dup()ed."""
    if isinstance(result, int):
        if type(result) is bool:
            raise TypeError("opensocket callback must return a socket, an int fd or None, not bool")
        if result < 0 and result != SOCKET_BAD:
            raise ValueError(f"opensocket callback returned a negative fd {result}")
        return c_int(result, "opensocket")
    if getattr(result, "fileno", None) is None:
        raise TypeError(
            "Open socket callback's return value must be a socket (an object with fileno()), "
            f"an int fd, None, or a (socket_or_fd, address) tuple, not {type(result).__name__}"
        )
    fd = result.fileno()
    if not isinstance(fd, int):
        raise TypeError(
            "Open socket callback returned an object whose fileno method did not return an integer"
        )
    if fd < 0:
        raise ValueError("opensocket callback returned a closed socket")
    return os.dup(fd)


def _open_fd(result: Any, address: Any) -> int:
    if result is None:
        return SOCKET_BAD
    if not isinstance(result, tuple):
        return _fd_of(result)
    if len(result) != 2:
        raise TypeError(
            f"opensocket callback's tuple must be (socket_or_fd, address), got {len(result)} items"
        )
    sock, new_addr = result
    try:
        family = sockaddr.family_of(new_addr)
        sock_family = getattr(sock, "family", family)
        if sock_family != family:
            raise ValueError(
                f"opensocket callback returned a socket of family {sock_family!r} with an "
                f"address of family {_family_name(family)}: {new_addr!r}"
            )
        sockaddr.to_c(address, family, new_addr)
    except BaseException:
        if type(sock) is int and sock >= 0:
            _close_quietly(sock)  # its ownership had passed to us
        raise
    fd = _fd_of(sock)
    if fd == SOCKET_BAD:
        raise ValueError("opensocket callback returned an address with no socket")
    return fd


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _refuses(state: EasyCallbacks, guard: Any, address: Any) -> bool:
    """Whether the SSRF guard refuses connecting to ``address`` (a struct curl_sockaddr *);
    a refusal is recorded on the Curl (ssrf.Refusal) for the error its transfer ends with."""
    family, raw, port = sockaddr.packed(address)
    reason = guard.refuse(family, raw, port)
    if reason is None:
        return False
    _record_refusal(state, sockaddr.packed_text(family, raw), port, reason)
    return True


def _record_refusal(state: EasyCallbacks, address: str, port: int, reason: str) -> None:
    from .ssrf import Refusal  # loaded by whoever attached the policy

    if state._refused is None:
        state._refused = []
    state._refused.append(Refusal(address, port, reason))


@trampoline("pcb_opensocket")
def _opensocket(state: EasyCallbacks, clientp: Any, purpose: int, address: Any) -> int:
    guard = state._guard
    if guard is not None and _refuses(state, guard, address):
        return SOCKET_BAD  # libcurl tries the next address, if any
    fn = state._cb_opensocket
    if fn is None:
        fd = int(lib.pcb_socket(address.family, address.socktype, address.protocol))
        if state._cb_closesocket is None:
            return fd  # installed for the SSRF guard alone: libcurl closes it (close(2))
    else:
        fd = _open_fd(fn(_SOCKTYPE.get(purpose, purpose), sockaddr.from_c(address)), address)
        if guard is not None and fd != SOCKET_BAD and _refuses(state, guard, address):
            _close_quietly(fd)  # rewritten to a refused address: libcurl never gets the socket
            return SOCKET_BAD
    if fd != SOCKET_BAD:
        key = _STATES.get(clientp)
        if key is not None:
            key.fds[fd] = _socket_inode(fd)
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


@trampoline("pcb_sockopt")
def _sockopt(state: EasyCallbacks, clientp: Any, fd: int, purpose: int) -> int:
    fn = state._cb_sockopt
    if fn is None:
        return _SOCKOPT_OK
    rv = fn(fd, _SOCKTYPE.get(purpose, purpose))
    if rv is None:
        return _SOCKOPT_OK
    code = c_int(rv, "sockopt")
    if not 0 <= code <= 2:  # libcurl would take any other value for SOCKOPT_ERROR
        raise ValueError(
            f"sockopt callback returned {code}, which is not SOCKOPT_OK (0), "
            "SOCKOPT_ERROR (1) or SOCKOPT_ALREADY_CONNECTED (2)"
        )
    if code == lib.CURL_SOCKOPT_ALREADY_CONNECTED and _ALREADY_CONNECTED_BROKEN:
        _warn_already_connected()
    return code


#: [True while the cyclic garbage collector runs] (set by _handle's gc callback).
collecting = [False]
#: CPython: gc.callbacks tell when a collection runs (``collecting``).  PyPy has
#: none: there a registered clientp whose weak reference is dead always means a
#: garbage Curl whose ``__del__`` is still to come, or came without closing it
#: (a Curl released without Python is unregistered first: easy._release), so
#: its fds always wait, for that ``__del__`` or for the release, which closes them.
_GC_HOOKED = hasattr(gc, "callbacks")
#: clientp -> the fds whose closing waits for that Curl's __del__ (_closesocket).
_UNCLOSED: dict[Any, list[int]] = {}


def take_unclosed(clientp: Any) -> list[int]:
    """The fds libcurl closed through ``clientp`` while its Curl was garbage:
    Curl.close() (its __del__) hands each to the trampoline again, now with
    the Curl's closesocket."""
    return _UNCLOSED.pop(clientp, [])


def close_unclosed_of(clientp: Any) -> None:
    """Close what libcurl closed through ``clientp`` while its Curl was garbage
    and no ``__del__`` took (easy._release: the Curl went without close())."""
    for fd in _UNCLOSED.pop(clientp, ()):
        _close_quietly(fd)


def close_unclosed() -> None:
    """The end of a collection: close what no Curl's __del__ took (a subclass
    __del__ that does not call super())."""
    while _UNCLOSED:
        for fd in _UNCLOSED.popitem()[1]:
            _close_quietly(fd)


@trampoline("pcb_closesocket")
def _closesocket(state: EasyCallbacks, clientp: Any, fd: int) -> int:
    try:
        fn = state._cb_closesocket
        if fn is None:
            key = _STATES.get(clientp) if collecting[0] or not _GC_HOOKED else None
            if key is not None and key.ref() is None:
                # Still registered, but the collector cleared the weak
                # reference: the Curl is garbage in this collection and its
                # __del__ is still to come (a CurlMulti of the same cycle is
                # closing the Curl's cached connection first).  libcurl is done
                # with the fd; leave it open for that __del__ to close it with
                # the Curl's closesocket.
                _UNCLOSED.setdefault(clientp, []).append(fd)
                return 0
            return int(lib.pcb_close(fd))
        # Once the callable ran it owns the fd, even if it raised: closing it
        # here could close a descriptor that was meanwhile reused.  libcurl
        # ignores what it returns, so pycurlcb does not check it either.
        fn(fd)
        return 0
    except Exception as exc:
        if state._orphan is None:
            raise
        # The Curl is closed: nobody is left to raise this to.
        report_unraisable(exc, "the closesocket callback of a closed Curl")
        return 1
    finally:
        key = _STATES.get(clientp)
        if key is not None:
            key.fds.pop(fd, None)
            if state._orphan is not None and not key.fds:
                _ORPHANS.discard(state)
                unregister(state._orphan)
                state._orphan = None


_hook_args: Any = None
#: The fields of sys.UnraisableHookArgs beyond the five CPython has, as the
#: probe had them: PyPy's hook also reads ``extra_line`` and refuses None.
_hook_extra: dict[str, Any] = {}


def _unraisable_args(exc: BaseException, err_msg: str, obj: Any) -> Any:
    """sys.UnraisableHookArgs for ``exc``: the type CPython's own hook requires.

    It is not importable; it is learnt once from a real unraisable exception
    caught by a temporary hook.  CPython finalises the probe at once; PyPy
    would finalise it only in a later collection (and not from inside a
    finaliser), its exception then printed by the real hook, so there the
    exception is handed to PyPy's own ``__pypy__.write_unraisable``, which
    calls the hook the same way.
    """
    global _hook_args
    if _hook_args is None:
        seen: list[Any] = []
        saved, sys.unraisablehook = sys.unraisablehook, seen.append
        try:
            try:
                import __pypy__  # type: ignore[import-not-found]
            except ImportError:  # CPython

                class _Probe:
                    def __del__(self) -> None:
                        raise RuntimeError("probe")

                _Probe()
            else:  # a probe would raise from a later collection, to the real hook
                __pypy__.write_unraisable("probe", RuntimeError("probe"), None)
        finally:
            sys.unraisablehook = saved
        _hook_args = type(seen[0])
        n_extra = getattr(_hook_args, "n_fields", 5) - getattr(_hook_args, "n_sequence_fields", 5)
        if n_extra > 0 and hasattr(seen[0], "extra_line"):
            _hook_extra["extra_line"] = ""
        # The probe's traceback reaches this frame, whose ``seen`` holds the
        # args: a cycle through an object the collector cannot see (the args
        # are not GC-tracked), which would keep every caller's frame forever.
        seen.clear()
    return _hook_args((type(exc), exc, exc.__traceback__, err_msg, obj), _hook_extra)


def report_unraisable(exc: BaseException, where: str, obj: Any = None) -> None:
    """Hand ``exc`` to sys.unraisablehook (teardown has nobody to raise it to)."""
    sys.unraisablehook(_unraisable_args(exc, f"Exception ignored in {where}", obj))



# --- protocol callbacks ----------------------------------------------------------------


def _khkey(key: Any) -> Optional[KhKey]:
    if key == ffi.NULL:
        return None
    n = key.len
    raw = ffi.unpack(key.key, n) if n else ffi.string(key.key)
    return KhKey(raw, int(lib.pcb_khkey_type(key)))


@trampoline("pcb_ssh_key")
def _ssh_key(state: EasyCallbacks, easy: Any, known: Any, found: Any, match: int, clientp: Any) -> int:
    fn = state._cb_ssh_key
    if fn is None:
        return int(lib.CURLKHSTAT_REJECT)
    code = c_int(fn(_khkey(known), _khkey(found), match), "ssh key")
    if not 0 <= code < lib.CURLKHSTAT_LAST:
        raise ValueError(
            f"ssh key callback returned {code}, which is not a KHSTAT_* code "
            f"(0 to {lib.CURLKHSTAT_LAST - 1})"
        )
    return code


@trampoline("pcb_ssh_hostkey")
def _ssh_hostkey(state: EasyCallbacks, clientp: Any, keytype: int, key: Any, keylen: int) -> int:
    fn = state._cb_ssh_hostkey
    if fn is None:
        return int(lib.CURLKHMATCH_MISMATCH)
    return c_int(fn(keytype, ffi.unpack(key, keylen)), "ssh hostkey")


def _str(p: Any) -> str:
    return "" if p == ffi.NULL else ffi.string(p).decode("ascii", "replace")


@trampoline("pcb_prereq")
def _prereq(state: EasyCallbacks, clientp: Any, primary: Any, local: Any, pport: int, lport: int) -> int:
    guard = state._guard
    if guard is not None:
        # Every transfer, on a new or a reused connection: the SSRF guard's
        # check of a connection libcurl did not open through opensocket now.
        peer = _str(primary)
        reason = guard.refuse_peer(peer, pport)
        if reason is not None:
            _record_refusal(state, peer, pport, reason)
            return int(lib.CURL_PREREQFUNC_ABORT)
    fn = state._cb_prereq
    if fn is None:
        return int(lib.CURL_PREREQFUNC_OK)
    return c_int(fn(_str(primary), _str(local), pport, lport), "prereq")


@trampoline("pcb_fnmatch")
def _fnmatch(state: EasyCallbacks, ptr: Any, pattern: Any, string: Any) -> int:
    fn = state._cb_fnmatch
    if fn is None:
        return int(lib.CURL_FNMATCHFUNC_FAIL)
    return c_int(fn(ffi.string(pattern), ffi.string(string)), "fnmatch")


@trampoline("pcb_chunk_bgn")
def _chunk_bgn(state: EasyCallbacks, transfer_info: Any, ptr: Any, remains: int) -> int:
    fn = state._cb_chunk_bgn
    if fn is None:
        return int(lib.CURL_CHUNK_BGN_FUNC_OK)
    info = ffi.cast("struct curl_fileinfo *", transfer_info)
    entry = FileInfo(
        None if info.filename == ffi.NULL else ffi.string(info.filename),
        int(info.filetype), info.perm, info.uid, info.gid, info.size, info.hardlinks, info.flags,
    )
    rv = fn(entry, remains)
    return int(lib.CURL_CHUNK_BGN_FUNC_OK) if rv is None else c_int(rv, "chunk_bgn", direct=False)


@trampoline("pcb_chunk_end")
def _chunk_end(state: EasyCallbacks, ptr: Any) -> int:
    fn = state._cb_chunk_end
    if fn is None:
        return int(lib.CURL_CHUNK_END_FUNC_OK)
    rv = fn()
    return int(lib.CURL_CHUNK_END_FUNC_OK) if rv is None else c_int(rv, "chunk_end", direct=False)


@trampoline("pcb_resolver_start")
def _resolver_start(state: EasyCallbacks, resolver_state: Any, reserved: Any, userdata: Any) -> int:
    fn = state._cb_resolver_start
    if fn is None:
        return 0
    rv = fn()
    return 0 if rv is None else c_int(rv, "resolver_start")


@trampoline("pcb_trailer")
def _trailer(state: EasyCallbacks, slist: Any, userdata: Any) -> int:
    slist[0] = ffi.NULL  # libcurl passes it uninitialised
    fn = state._cb_trailer
    rv = None if fn is None else fn()
    if rv is None:
        return int(lib.CURL_TRAILERFUNC_OK)
    if not isinstance(rv, (list, tuple)):
        raise TypeError(
            f"trailer callback returned {_repr(rv)}, which is not None or a list/tuple of "
            "header strings"
        )
    items = [_as_bytes(item, "a trailer header") for item in rv]
    slist[0] = make_slist(items)
    return int(lib.CURL_TRAILERFUNC_OK)


def make_slist(items: list[bytes]) -> Any:
    """A struct curl_slist of ``items`` (the caller, or libcurl, frees it)."""
    slist = ffi.NULL
    for item in items:
        if b"\0" in item:
            lib.curl_slist_free_all(slist)
            raise ValueError("list items must not contain NUL bytes")
        new = lib.curl_slist_append(slist, item)
        if new == ffi.NULL:
            lib.curl_slist_free_all(slist)
            raise MemoryError("curl_slist_append failed")
        slist = new
    return slist


def _family_name(family: int) -> str:
    import socket  # only for this message: socket costs import time

    return repr(socket.AddressFamily(family))


def _expire_from_c(stamp: bytes) -> Optional[datetime.datetime]:
    import datetime  # on first use: it costs import time

    if stamp in (b"", b"unlimited"):
        return None
    return datetime.datetime.strptime(stamp.decode("ascii") + "+0000", "%Y%m%d %H:%M:%S%z")


def _expire_to_c(value: Any) -> bytes:
    import datetime

    if value is None:
        return b""  # never expires
    if not isinstance(value, datetime.datetime):
        raise TypeError("hstsread callback: expire must be a datetime or None")
    utc: datetime.datetime = value if value.tzinfo is None else value.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y%m%d %H:%M:%S").encode("ascii")


@trampoline("pcb_hstsread")
def _hstsread(state: EasyCallbacks, easy: Any, entry: Any, userp: Any) -> int:
    fn = state._cb_hstsread
    rv = None if fn is None else fn()
    if rv is None:
        return int(lib.CURLSTS_DONE)
    if not isinstance(rv, tuple) or len(rv) != 3:
        raise TypeError(
            f"hstsread callback returned {_repr(rv)}, which is not None or a 3-tuple "
            "(host, expire, include_subdomains)"
        )
    host = _as_bytes(rv[0], "hstsread callback: host")
    if len(host) > entry.namelen:
        raise ValueError(
            f"hstsread callback: host length {len(host)} exceeds libcurl maximum {entry.namelen}"
        )
    expire = _expire_to_c(rv[1])
    if len(expire) >= ffi.sizeof(entry.expire):
        raise ValueError("hstsread callback: formatted expire does not fit in libcurl's buffer")
    include = bool(rv[2])
    ffi.memmove(entry.name, host + b"\0", len(host) + 1)
    entry.namelen = len(host)
    ffi.memmove(entry.expire, expire + b"\0", len(expire) + 1)
    entry.includeSubDomains = 1 if include else 0
    return int(lib.CURLSTS_OK)


@trampoline("pcb_hstswrite")
def _hstswrite(state: EasyCallbacks, easy: Any, entry: Any, index: Any, userp: Any) -> int:
    fn = state._cb_hstswrite
    if fn is None:
        return int(lib.CURLSTS_OK)
    item = HstsEntry(
        ffi.unpack(entry.name, entry.namelen),
        _expire_from_c(ffi.string(entry.expire)),
        bool(entry.includeSubDomains),
    )
    rv = fn(item, HstsIndex(index.index, index.total))
    if rv is None:
        return int(lib.CURLSTS_OK)
    code = c_int(rv, "hstswrite")
    if not 0 <= code <= lib.CURLSTS_FAIL:
        raise ValueError(
            f"hstswrite callback returned {code}, which is not CURLSTS_OK (0), CURLSTS_DONE (1), "
            "CURLSTS_FAIL (2) or None"
        )
    return code


# --- multi callbacks -------------------------------------------------------------------
#
# Neither multi trampoline hands libcurl -1 for an exception: on libcurl 7.88.1 a
# timer callback returning -1 from curl_multi_add_handle leaves the multi so that a
# later curl_multi_socket_action crashes, and -1 from the socket callback marks the
# whole multi dead for good.  The driving call raises instead; a failing socket
# callback's transfer is removed from the multi (failed), the others go on.  A -1
# *returned* by the socket callable is passed on: libcurl then aborts every transfer
# (CURLMOPT_SOCKETFUNCTION(3)); one returned by the timer callable is handled like an
# exception (pycurl's contract: the driving call raises pycurl.error).


@trampoline("pcb_multi_socket")
def _multi_socket(
    state: MultiCallbacks, easy: Any, fd: int, what: int, clientp: Any, socketp: Any
) -> int:
    obj = ffi.from_handle(socketp) if socketp != ffi.NULL else None
    try:
        fn = state._cb_socket
        rv = None if fn is None else fn(_POLL.get(what, what), fd, state, obj)
        if rv is None:
            return 0
        return -1 if c_int(rv, "multi socket", direct=False) == -1 else 0
    except BaseException:
        state._doomed.append(easy)
        raise
    finally:
        if what == lib.CURL_POLL_REMOVE:
            entry = state._assigned.get(fd)
            if entry is not None and entry[1] == socketp:
                del state._assigned[fd]  # libcurl has forgotten it too


@trampoline("pcb_multi_timer")
def _multi_timer(state: MultiCallbacks, multi: Any, timeout_ms: int, clientp: Any) -> int:
    fn = state._cb_timer
    rv = None if fn is None else fn(timeout_ms)
    if rv is not None and c_int(rv, "multi timer", direct=False) == -1:
        state._aborted = True
    return 0


@trampoline("pcb_multi_notify")
def _multi_notify(state: CurlMulti, multi: Any, notification: int, easy: Any, user: Any) -> None:
    fn = state._cb_notify
    if fn is not None:
        fn(notification, state.curl_of(easy))
