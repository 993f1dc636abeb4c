"""What the trampolines share: this build's rows, the per-handle state, the decorator.

Every row of ``_cbtable.ROWS`` is an ``extern "Python"`` function; its body
(in its family's module of this package) is attached with ``@trampoline(name)``.  libcurl calls it with the
clientp that the owning handle installed: a key (``_lifetime.register()``) under which
``_lifetime.STATES`` holds a weak reference to the handle's state object
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
closesocket trampolines (``sockets.py``) are therefore installed together and count
the sockets they open and close (``fds``); the state of a Curl closed while
sockets it opened are still alive is kept in ``_lifetime.ORPHANS``, registered, until
the last of them is closed.  A Curl that is garbage in a running collection
(weak reference cleared, ``__del__`` still to come) whose connection a
CurlMulti of the same collection closes gets its fd later, from its
``__del__`` (``take_unclosed``); what no ``__del__`` takes is closed when the
collection ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Protocol

from .._cbtable import Row, rows_for
from .._failure import State, park, post_mortem
from .._ffi import ffi, lib
from .._lifetime import (
    ORPHANS,
    STATES,
    socket_inode,
    unregister,
)

if TYPE_CHECKING:
    import datetime  # imported on first use at run time (HSTS callbacks)

#: The rows this build has: declared by build_ffi.py for the header's version.
ROWS: dict[str, Row] = {
    r.trampoline: r for r in rows_for(lib.LIBCURL_VERSION_NUM) if hasattr(lib, r.trampoline)
}



class OptionRow(Protocol):
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
        key = STATES.get(clientp)
        if key is not None:
            # libcurl 7.88.1 closes the socket of a transfer removed while it
            # connects without calling CLOSESOCKETFUNCTION: forget the sockets
            # that are gone (the fd closed, or its number now another socket's).
            key.fds = {fd: ino for fd, ino in key.fds.items() if socket_inode(fd) == ino}
        if key is not None and key.fds:
            self._orphan = clientp
            ORPHANS.add(self)
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

def _backstop(abort: Any) -> Callable[..., Any]:
    """cffi's onerror: an exception that escaped the decorator's ``try``.

    A signal handler's KeyboardInterrupt can be raised at the trampoline's
    first bytecode, before its state is known.  Fail closed and park it.
    """

    def onerror(exc_type: Any, exc_value: Any, tb: Any) -> Any:
        if exc_value is not None:
            park(exc_value)
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
        "get": STATES.get, "disabled": _DISABLED, "after": row.after_failure, "halts": row.halts,
        "abort": abort_value(row), "body": body, "post_mortem": post_mortem,
    }
    exec(compile(source, f"<trampoline {row.trampoline}>", "exec"), scope)  # noqa: S102 - our text
    return scope[row.trampoline]  # type: ignore[no-any-return]
