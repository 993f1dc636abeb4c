"""Curl: one libcurl easy handle (curl_easy_init(3)), pycurl 7.49's interface.

Options are looked up in the run-time table of the loaded libcurl
(``constants.OPTIONS``) and converted by their type, so every option that
libcurl knows is settable without a hand-written list.  Callback options
install the trampoline of their row in ``_cbtable`` with this handle's
clientp; other handle types (CurlShare, CurlMime, CurlUrl) register the
setter of the option that takes them (``register_setter``).

Errors follow the exception contract (``errors.outcome``): what a callback
raised during perform() comes out as ``pycurlcb.error`` with that exception as
``__cause__``; KeyboardInterrupt and SystemExit as themselves.
"""

from __future__ import annotations

import errno
import io
import os
import threading
import warnings
from typing import TYPE_CHECKING, Any, Callable, Optional, cast

from . import _callbacks, _features, errors, ssrf
from ._callbacks import EASY_SLOTS, EasyCallbacks, slot
from ._convert import (
    INT_MAX,
    INT_MIN,
    LONG_MAX,
    LONG_MIN,
    OFF_T_MAX,
    OFF_T_MIN,
    int_in,
    list_item,
    make_slist,
    option_text,
    shown,
    slist_items,
)
from ._failure import has_parked, take_failure, take_parked
from ._ffi import ffi, lib
from ._handle import Handle
from ._lifetime import (
    after_finalisers,
    close_unclosed_of,
    reactivate,
    register,
    report_unraisable,
    take_unclosed,
    unregister,
)
from .constants import (
    CURL_CONSTANTS,
    INFO_IDS,
    OPTION_IDS,
    OPTIONS,
    InfoKind,
    OptionSpec,
    OptType,
    info_kind,
)
from .errors import error, error_class
from .version import USER_AGENT
from .ws import WebSocketMixin

if TYPE_CHECKING:
    from typing import Union, overload

    from typing_extensions import Buffer, deprecated

    # Stub-only kinds (tools/gen_stubs.py writes them into __init__.pyi): the
    # values of the flat option and info names of one kind (docs/typing.md).
    from . import (
        _BlobOpt,
        _CbChunkBgn,
        _CbChunkEnd,
        _CbClosesocket,
        _CbDebug,
        _CbFnmatch,
        _CbHeader,
        _CbHstsread,
        _CbHstswrite,
        _CbIoctl,
        _CbOpensocket,
        _CbPrereq,
        _CbProgress,
        _CbRead,
        _CbResolverStart,
        _CbSeek,
        _CbSockopt,
        _CbSshHostkey,
        _CbSshKey,
        _CbTrailer,
        _CbWrite,
        _CbXferinfo,
        _FloatInfo,
        _IntInfo,
        _IntOpt,
        _ListInfo,
        _ListOpt,
        _StrInfo,
        _StrOpt,
    )
    from ._callbacks import FileInfo, HstsEntry, HstsIndex, KhKey, OptionRow
    from .constants import InfoType, SockType
    from .sockaddr import CurlSockAddr

    _Text = Union[str, bytes]
    #: A callback's result: pycurlcb converts (and checks) it at run time.
    _R = object

#: Every CURLINFO of the headers built against; getinfo of any other int is
#: pycurl's ValueError (one the loaded libcurl lacks is libcurl's error 48).
_KNOWN_INFOS = frozenset(INFO_IDS.values())

#: Longest wait inside libcurl before perform() returns to Python, where a
#: signal handler (Ctrl-C) can run: milliseconds.
PERFORM_STEP_MS = 100
#: libcurl's DEFAULT_CONNCACHE_SIZE: the private multi's cache (CURLOPT_MAXCONNECTS(3)).
_MAXCONNECTS_DEFAULT = 5
#: pause()'s default, named as the flat pycurlcb.PAUSE_ALL its signature shows.
PAUSE_ALL: int = lib.CURLPAUSE_ALL

#: Callback option id -> its row of the callback table (easy rows this build has).
CALLBACK_ROWS = cast("dict[int, OptionRow]", {
    OPTION_IDS[row.option]: row
    for row in _callbacks.ROWS.values()
    if row.owner == "easy" and row.option is not None and row.option in OPTION_IDS
})
#: Data options a file-like object is given to -> (callback option, the method it provides).
_FILE_OPTIONS = {
    OPTION_IDS["WRITEDATA"]: (OPTION_IDS["WRITEFUNCTION"], "write"),
    OPTION_IDS["HEADERDATA"]: (OPTION_IDS["HEADERFUNCTION"], "write"),
    OPTION_IDS["READDATA"]: (OPTION_IDS["READFUNCTION"], "read"),
}
#: opensocket and closesocket are installed together (see _callbacks: lifetimes).
_SOCKET_PAIR = (OPTION_IDS["OPENSOCKETFUNCTION"], OPTION_IDS["CLOSESOCKETFUNCTION"])
_MEMORYVIEW_OPTIONS = {OPTION_IDS["WRITEFUNCTION"]: "_write_mv", OPTION_IDS["HEADERFUNCTION"]: "_header_mv"}
_DEPRECATED_CALLBACKS = {
    "PROGRESSFUNCTION": "PROGRESSFUNCTION is deprecated; use XFERINFOFUNCTION",
    "IOCTLFUNCTION": "IOCTLFUNCTION is deprecated; use SEEKFUNCTION",
}
#: String options pycurl 7.49 warns about (libcurl deprecated them).
_DEPRECATED_STRINGS = frozenset(
    OPTION_IDS[n]
    for n in (
        "EGDSOCKET", "KRBLEVEL", "RANDOM_FILE", "SOCKS5_GSSAPI_SERVICE", "TLSAUTH_TYPE",
        "TLSAUTH_USERNAME", "TLSAUTH_PASSWORD", "PROXY_TLSAUTH_TYPE",
        "PROXY_TLSAUTH_USERNAME", "PROXY_TLSAUTH_PASSWORD",
    )
    if n in OPTION_IDS
)
_POSTFIELDS = OPTION_IDS["POSTFIELDS"]
_WRITEDATA = OPTION_IDS["WRITEDATA"]
_WRITEFUNCTION = OPTION_IDS["WRITEFUNCTION"]
_READDATA = OPTION_IDS["READDATA"]
_READFUNCTION = OPTION_IDS["READFUNCTION"]
#: WRITEDATA objects known to copy what write() is given (and keep no reference
#: to it): bulk flushes pass them a memoryview of the C buffer instead of bytes.
_COPIES_BUFFER = frozenset({io.BytesIO, io.FileIO, io.BufferedWriter, io.BufferedRandom})
#: READDATA objects whose readinto fills a buffer as read(n) would return
#: it: the read trampoline has them fill libcurl's buffer (no bytes in between).
_READS_INTO = frozenset({io.BytesIO, io.FileIO, io.BufferedReader, io.BufferedRandom})


def _replaced(obj: Any, *names: str) -> bool:
    """Whether any of the methods ``names`` is replaced on the instance ``obj``
    (io objects have a __dict__): its type's behaviour cannot be assumed then."""
    own = getattr(obj, "__dict__", None) or {}
    return any(name in own for name in names)


def _read_into_of(obj: Any) -> Any:
    """``obj.readinto`` for a READDATA object of a _READS_INTO type whose read
    and readinto are the type's own, else None."""
    if type(obj) not in _READS_INTO or _replaced(obj, "read", "readinto"):
        return None
    return obj.readinto


#: Callback slots whose callable runs while a body arrives: any of them set
#: turns bulk bodies off (the order of its calls and obj.write's would change).
_BULK_UNSAFE = tuple(
    name for name in EASY_SLOTS
    if name not in {slot(a) for a in ("write", "read", "seek", "opensocket", "sockopt", "closesocket")}
)
#: perform()'s message when obj.write failed after libcurl finished (libcurl's own text).
WRITE_FAILED = "Failure writing output to destination"
#: Long options pycurl 7.49 takes a string for (its setopt lists WILDCARDMATCH
#: among the strings; libcurl reads the pointer as a non-zero long: enabled).
_TEXT_ENABLES = frozenset(OPTION_IDS[n] for n in ("WILDCARDMATCH",) if n in OPTION_IDS)
_MAXCONNECTS = OPTION_IDS["MAXCONNECTS"]
_CONNECT_ONLY = OPTION_IDS["CONNECT_ONLY"]
_PRIVATE = OPTION_IDS["PRIVATE"]
_INFILESIZE = tuple(OPTION_IDS[n] for n in ("INFILESIZE", "INFILESIZE_LARGE"))
_UNSET_TO_ZERO = tuple(OPTION_IDS[n] for n in ("CERTINFO",) if n in OPTION_IDS)

# --- the SSRF guard (ssrf.Policy attached: _guard_changed) -------------------------------
#: PREREQFUNCTION (libcurl 7.80.0) re-checks the peer of a reused connection;
#: where the loaded libcurl lacks it, guarded transfers take FRESH_CONNECT.
_PREREQ = OPTION_IDS.get("PREREQFUNCTION")
_GUARD_REUSE = _PREREQ is not None and any(r.option == "PREREQFUNCTION" for r in _callbacks.ROWS.values()) \
    and _features.available("prereq")
_OPENSOCKET = OPTION_IDS["OPENSOCKETFUNCTION"]
#: The callback options the guard installs (guard.c's functions) where the
#: user set no callable: the Python trampolines run only for a refusal.
_GUARD_OPTIONS = (_OPENSOCKET, *((_PREREQ,) if _GUARD_REUSE and _PREREQ is not None else ()))
_GUARD_FN = {
    # as the pcb_fn the setopt shim takes; through addressof: PyPy's cffi (1.15.1)
    # cannot cast a lib function itself (the stub's _Lib is not cffi's Lib type)
    option: ffi.cast("pcb_fn", ffi.addressof(lib, name))  # type: ignore[call-overload]
    for option, name in ((_OPENSOCKET, "pcb_guard_opensocket"), (_PREREQ, "pcb_guard_prereq"))
    if option is not None
}
#: Options that route a transfer around the guard's check: option id -> name.
#: Their values are kept (Curl._routes) and given to libcurl by Curl._guard_changed.
_ROUTES = {
    OPTION_IDS[n]: n
    for n in ("PROXY", "PRE_PROXY", "DOH_URL", *(() if _GUARD_REUSE else ("FRESH_CONNECT",)))
    if n in OPTION_IDS
}
#: What libcurl gets for a route option while guarded: PROXY "" turns off the
#: environment's proxy variables (CURLOPT_PROXY(3)); an explicit proxy or DoH
#: URL is not given to libcurl at all (the guard refuses the transfer instead).
_GUARDED_ROUTE = {"PROXY": b"", "PRE_PROXY": None, "DOH_URL": None, "FRESH_CONNECT": 1}
#: Codes a transfer the guard refused ends with: opensocket's refusal, prereq's abort.
_REFUSED_CODES = frozenset({lib.CURLE_COULDNT_CONNECT, lib.CURLE_ABORTED_BY_CALLBACK})

#: InfoKind -> (the C out-parameter, its typed shim) for the scalar kinds.
_GETINFO_SCALAR = {
    InfoKind.LONG: ("long *", lib.pcb_easy_getinfo_long),
    InfoKind.DOUBLE: ("double *", lib.pcb_easy_getinfo_double),
    InfoKind.OFF_T: ("curl_off_t *", lib.pcb_easy_getinfo_off_t),
    InfoKind.SOCKET: ("curl_socket_t *", lib.pcb_easy_getinfo_socket),
}
#: Infos libcurl deprecated: pycurl 7.49 warns (use the *_T twin).
_DEPRECATED_INFOS = frozenset(
    getattr(lib, "CURLINFO_" + n)
    for n in (
        "CONTENT_LENGTH_DOWNLOAD", "CONTENT_LENGTH_UPLOAD", "SIZE_DOWNLOAD", "SIZE_UPLOAD",
        "SPEED_DOWNLOAD", "SPEED_UPLOAD",
    )
)
_TLS_POINTERS = (lib.CURLINFO_TLS_SESSION, lib.CURLINFO_TLS_SSL_PTR)
#: CURLINFO id -> the pcb_info_* shim for its kind, for the scalar infos: getinfo's fast path.
_INFO_SHIMS = {
    InfoKind.LONG: lib.pcb_info_long,
    InfoKind.DOUBLE: lib.pcb_info_double,
    InfoKind.OFF_T: lib.pcb_info_off_t,
    InfoKind.SOCKET: lib.pcb_info_socket,
}
_SCALAR_INFOS = {
    i: _INFO_SHIMS[info_kind(i)]
    for i in INFO_IDS.values()
    if info_kind(i) in _INFO_SHIMS and i not in _DEPRECATED_INFOS
}

#: Options taken by another handle type: option id -> setter(curl, value),
#: unsetter(curl).  Filled by share.py, mime.py and url.py.
_OBJECT_SETTERS: dict[int, tuple[Callable[[Curl, Any], None], Callable[[Curl], None]]] = {}


def register_setter(
    option: int, setter: Callable[[Curl, Any], None], unsetter: Callable[[Curl], None]
) -> None:
    """Let another module own an option (CurlShare: SHARE, CurlMime: MIMEPOST ...)."""
    _OBJECT_SETTERS[option] = (setter, unsetter)


#: struct pcb_easy -> its clientp, for _release (which only gets the struct).
_KEYS: dict[Any, Any] = {}


def _release(
    e: Any,
    keys: dict[Any, Any] = _KEYS,
    as_ptr: Callable[[str, Any], Any] = ffi.cast,
    forget: Callable[[Any], None] = unregister,
    close: Callable[[Any], None] = lib.pcb_easy_close,
    close_unclosed: Callable[[Any], None] = close_unclosed_of,
) -> None:
    """ffi.gc's release of a struct pcb_easy: the Curl was collected without close().

    No Python runs from here on (its clientp is unregistered first), so the
    order the collector frees things in does not matter (handles.h).  The
    memory itself is the Curl's (ffi.new), freed when the Curl really goes.
    The fds a CurlMulti closed through this clientp while the Curl was garbage
    waited for a ``__del__`` that did not take them (a subclass ``__del__``
    without super()): they are closed here (on CPython the end of the
    collection would also do it; PyPy has no such hook).
    (The defaults bind what it needs: at interpreter exit the module's globals
    may already be gone.)
    """
    clientp = keys.pop(as_ptr("void *", e), None)
    if clientp is not None:
        forget(clientp)
        close_unclosed(clientp)
    close(e)


#: _release as ffi.gc runs it: after the Curl's __del__ (_lifetime.after_finalisers).
_RELEASE = after_finalisers(_release)


#: What a used CURL* holds in C memory, roughly: its 16 KiB download buffer,
#: its upload buffer (64 KiB while uploading), struct Curl_easy, its connection.
#: ffi.gc's size: PyPy, which frees a dropped Curl only in a major collection,
#: counts it to run those sooner (50,000 transfers dropping 2,500 Curls grew
#: PyPy's RSS by 49 MiB without it, tests/test_soak.py); CPython ignores it.
_EASY_C_BYTES = 64 * 1024


def _new_easy(src: Any) -> Any:
    """A struct pcb_easy with a new CURL* (or src's duplicate), and its release."""
    e = ffi.new("struct pcb_easy *")
    if lib.pcb_easy_init(e, src) != 0:
        raise error("initializing curl failed" if src == ffi.NULL else "duplicating curl failed")
    return e, ffi.gc(e, _RELEASE, _EASY_C_BYTES)


def _option(option: Any) -> OptionSpec:
    if not isinstance(option, int) or type(option) is bool:
        raise TypeError(f"option must be an int such as pycurl.URL, not {type(option).__name__}")
    spec = OPTIONS.get(option)
    if spec is None:
        if option <= 0:
            raise TypeError(
                f"invalid arguments to setopt: option {option} is not a CURLoption "
                "(an option constant such as pycurl.URL)"
            )
        raise error(lib.CURLE_UNKNOWN_OPTION, f"option {option} is not a CURLoption of this libcurl")
    return spec


def _int_in(spec: OptionSpec, value: Any, low: int, high: int, ctype: str) -> int:
    return int_in(value, low, high, "setopt({name}) expects an int, not {type}",
                  "setopt({name}): {value} does not fit in a C {ctype}", name=spec.name, ctype=ctype)


def _check_set(rc: int, name: str, value: Any) -> None:
    """errors.check for curl_easy_setopt's CURLcode: the same code and error
    class, the message naming the option and the value libcurl refused."""
    if rc:
        raise error_class(rc)(
            rc,
            f"{errors.easy_strerror(rc)}: libcurl refused setopt({name}, {shown(name, value)}) "
            f"(CURLOPT_{name}(3) lists the values it takes)",
        )


def _not_supported(what: str, name: str, value: Any, expected: str) -> TypeError:
    """pycurl's "integers/strings are not supported for this option", naming them."""
    return TypeError(
        f"{what} are not supported for this option: setopt({name}, {shown(name, value)}) "
        f"expects {expected}"
    )


class Curl(EasyCallbacks, Handle, WebSocketMixin):
    """A libcurl easy handle: ``import pycurlcb as pycurl; c = pycurl.Curl()``.

    Takes no arguments.  Not thread-safe: use one Curl per thread
    (libcurl-thread(3)).  ``close()`` is idempotent; the handle is also a
    context manager.  pycurl's constants are readable on instances
    (``c.URL``).  Like pycurl, a new handle sends ``pycurl.version`` as its
    User-Agent and has NOPROGRESS set.
    """

    #: The CurlMulti it is added to (a weak reference), or None.
    _multi_ref: Optional[Callable[[], Any]] = None
    #: The thread running a transfer of this handle (perform()), or None.
    _running: Optional[int] = None
    #: CONNECT_ONLY is set: perform() leaves the handle in its private multi.
    _connect_only = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Curl:
        # The handle is made here, not in __init__: a subclass __init__ need
        # not call super().__init__() (pycurl makes its objects in tp_new).
        self = super().__new__(cls)
        e, release = _new_easy(ffi.NULL)
        self._setup(e, release)
        lib.pcb_easy_setopt_long(e.h, OPTION_IDS["NOPROGRESS"], 1)
        lib.pcb_easy_setopt_ptr(e.h, OPTION_IDS["USERAGENT"], _USER_AGENT)
        return self

    def __init__(self) -> None:
        pass

    def _setup(self, e: Any, release: Any) -> None:
        self._e = e
        self._h = e.h  # the CURL*: the key a CurlMulti finds this Curl by
        self._release = release  # ffi.gc's hold on e (its memory is self._e's)
        self._init_callbacks()
        self._clientp = register(self)
        _KEYS[ffi.cast("void *", e)] = self._clientp
        self._slists: dict[int, tuple[Any, list[bytes]]] = {}  # option -> (slist, items)
        self._keep: dict[int, Any] = {}  # option -> Python objects libcurl points into
        self._installed: set[int] = set()  # callback options whose trampoline is set
        self._private: Any = None
        self._maxconnects = _MAXCONNECTS_DEFAULT
        self._policy: Optional[ssrf.Policy] = None  # attached to this Curl (Policy.attach)
        self._mpolicy: Optional[ssrf.Policy] = None  # of the CurlMulti it is added to
        self._routes: dict[str, Any] = {}  # _ROUTES name -> the value the user set
        self._cguard: Optional[ssrf.CGuard] = None  # the guard's C struct, while guarded
        lib.pcb_easy_setopt_long(e.h, OPTION_IDS["NOSIGNAL"], 1)
        self._ready = True

    # --- lifecycle -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once close() has run."""
        return bool(self._e.h == ffi.NULL)

    def _handle(self, what: str) -> Any:
        """The CURL*, for a call that needs an open handle not in a transfer."""
        e = self._e
        if e.h == ffi.NULL:
            raise error(f"cannot invoke {what}() - no curl handle")
        if self._running is not None or self._multi_running() is not None:
            raise error(f"cannot invoke {what}() - perform() is currently running")
        return e.h

    def _multi_running(self) -> Optional[int]:
        ref = self._multi_ref
        multi = None if ref is None else ref()
        return None if multi is None else multi._running

    def close(self) -> None:
        """curl_easy_cleanup(3); idempotent.  Removes the handle from its CurlMulti.

        A transfer of an AsyncCurlMulti ends there: its future fails with
        ``error("curl object closed while its transfer was running")``
        (``args == (message,)``), where ``remove_handle()`` would cancel it.

        Closing is teardown, as in pycurl: it closes this handle's cached
        connections, so closesocket (and HSTS saving, progress) callbacks may
        run, and what they raise goes to ``sys.unraisablehook``, not to the
        caller.  Raises ``error`` if called from inside one of this handle's
        callbacks while it transfers.
        """
        e = self._e
        if e.h == ffi.NULL:
            return
        self._handle("close")
        self._exc = None  # what an earlier transfer's callbacks raised was reported then
        reactivate(self._clientp, self)  # a finaliser: the collector cleared it
        multi = self._multi_now()
        self._running = threading.get_ident()
        try:
            if multi is not None:
                multi._detach(self)
            lib.pcb_easy_close(e)  # leaves multi and share, cleans up; callbacks may run
        finally:
            self._running = None
            self._multi_ref = None
            for fd in take_unclosed(self._clientp):  # garbage: see _closesocket
                lib.pcb_closesocket(self._clientp, fd)
            _KEYS.pop(ffi.cast("void *", e), None)
            closesocket = self._cb_closesocket
            self._forget_objects()
            self._release_callbacks(self._clientp)
            if self._orphan is not None:  # a multi's cache still holds our sockets
                self._cb_closesocket = closesocket
        failure = take_failure(self)
        if failure is not None:
            report_unraisable(failure, f"{type(self).__name__}.close()", self)
        if multi is not None and multi._on_leave is not None:
            multi._on_leave(self, False)  # an AsyncCurlMulti fails the transfer's future

    def _forget_objects(self) -> None:
        """Drop what the closed handle pinned, as pycurl does on close()."""
        self._slists.clear()
        self._keep.clear()
        self._private = None
        self._installed.clear()
        self._clear_callbacks()

    def multi(self) -> Any:
        """The CurlMulti this handle is added to, or None (pycurl's Curl.multi())."""
        return self._multi_now()

    def _multi_now(self) -> Any:
        # What pycurlcb itself calls: a user attribute named `multi` (code
        # stores its own things on handles) must not shadow it.
        ref = self._multi_ref
        return None if ref is None else ref()

    def share(self) -> Any:
        """The CurlShare this handle uses (setopt(SHARE, ...)), or None."""
        return self._keep.get(OPTION_IDS["SHARE"])

    def reset(self) -> None:
        """curl_easy_reset(3): every option back to its default, callbacks dropped.

        As pycurl: the User-Agent and NOPROGRESS defaults are set again, and
        the CurlShare in use stays (libcurl keeps it).
        """
        h = self._handle("reset")
        e = self._e
        lib.pcb_easy_leave_perform(e)
        lib.curl_easy_reset(h)
        lib.pcb_bulk_free(e)
        lib.pcb_easy_setopt_ptr(h, OPTION_IDS["ERRORBUFFER"], e.errbuf)
        lib.pcb_easy_setopt_long(h, OPTION_IDS["NOSIGNAL"], 1)
        lib.pcb_easy_setopt_long(h, OPTION_IDS["NOPROGRESS"], 1)
        lib.pcb_easy_setopt_ptr(h, OPTION_IDS["USERAGENT"], _USER_AGENT)
        share = self._keep.get(OPTION_IDS["SHARE"])  # curl_easy_reset keeps the share, as pycurl
        self._forget_objects()
        self._connect_only = False
        if share is not None:
            self._keep[OPTION_IDS["SHARE"]] = share
        self._maxconnects = _MAXCONNECTS_DEFAULT
        self._sync_maxconnects()
        self._routes.clear()
        self._guard_changed()  # an attached SSRF policy stays

    def duphandle(self) -> Curl:
        """curl_easy_duphandle(3): a new Curl of this class, with the same options.

        Callables and attributes set on the handle are shared with the copy;
        lists (HTTPHEADER ...) are rebuilt for it, so closing either handle
        never frees memory the other uses.  Allowed from inside a callback.
        """
        if self._e.h == ffi.NULL:
            raise error("cannot invoke duphandle() - no curl handle")
        e, release = _new_easy(self._e)
        new = object.__new__(type(self))
        new.__dict__.update(
            {k: v for k, v in self.__dict__.items() if k not in _PER_HANDLE}
        )
        new._setup(e, release)
        new._copy_callbacks(self)
        new._maxconnects = self._maxconnects
        new._private = self._private
        new._keep = dict(self._keep)
        for option in self._installed:
            new._install(option)
        for option, (_, items) in self._slists.items():
            new._set_slist(option, items)
        new._policy = self._policy  # the copy carries this Curl's own SSRF policy
        new._routes = dict(self._routes)
        new._guard_changed()
        for hook in _DUP_HOOKS:
            hook(self, new)
        return new

    # --- options ---------------------------------------------------------------

    if TYPE_CHECKING:
        # One overload per kind of option named by a flat constant (URL ...), then
        # a @deprecated one per kind for a value of the wrong type: reported only
        # under ``mypy --enable-error-code deprecated`` (docs/typing.md), so that
        # plain ``mypy --strict`` accepts what it accepts with typeshed's pycurl
        # stub.  An option in an ``int`` variable takes the last, (int, Any).
        @overload
        def setopt(self, option: _StrOpt, value: Optional[_Text]) -> None: ...
        @overload
        @deprecated("setopt(<string option>, value): a string option takes str or bytes")
        def setopt(self, option: _StrOpt, value: object) -> None: ...
        @overload
        def setopt(self, option: _IntOpt, value: Optional[int]) -> None: ...
        @overload
        @deprecated("setopt(<integer option>, value): an integer option (long or curl_off_t) takes an int")
        def setopt(self, option: _IntOpt, value: object) -> None: ...
        @overload
        def setopt(
            self,
            option: _ListOpt,
            value: Union[list[str], list[bytes], list[_Text], tuple[_Text, ...], None],
        ) -> None: ...
        @overload
        @deprecated("setopt(<list option>, value): a list option takes a list or tuple of str or bytes")
        def setopt(self, option: _ListOpt, value: object) -> None: ...
        @overload
        def setopt(self, option: _BlobOpt, value: Union[str, Buffer, None]) -> None: ...
        @overload
        @deprecated("setopt(<blob option>, value): a blob option takes bytes or a buffer")
        def setopt(self, option: _BlobOpt, value: object) -> None: ...
        # The callback options: the user's callable gets these arguments.
        @overload
        def setopt(
            self,
            option: Union[_CbWrite, _CbHeader],
            value: Union[Callable[[bytes], _R], Callable[[memoryview], _R], None],
            *,
            use_memoryview: Optional[bool] = None,
        ) -> None: ...
        @overload
        def setopt(self, option: _CbRead, value: Optional[Callable[[int], _R]]) -> None: ...
        @overload
        def setopt(self, option: _CbSeek, value: Optional[Callable[[int, int], _R]]) -> None: ...
        @overload
        def setopt(self, option: _CbIoctl, value: Optional[Callable[[int], _R]]) -> None: ...
        @overload
        def setopt(
            self, option: _CbProgress, value: Optional[Callable[[float, float, float, float], _R]]
        ) -> None: ...
        @overload
        def setopt(
            self, option: _CbXferinfo, value: Optional[Callable[[int, int, int, int], _R]]
        ) -> None: ...
        @overload
        def setopt(self, option: _CbDebug, value: Optional[Callable[[InfoType, bytes], _R]]) -> None: ...
        @overload
        def setopt(
            self, option: _CbOpensocket, value: Optional[Callable[[SockType, CurlSockAddr], _R]]
        ) -> None: ...
        @overload
        def setopt(self, option: _CbSockopt, value: Optional[Callable[[int, SockType], _R]]) -> None: ...
        @overload
        def setopt(self, option: _CbClosesocket, value: Optional[Callable[[int], _R]]) -> None: ...
        @overload
        def setopt(self, option: _CbSshKey, value: Optional[Callable[[KhKey, KhKey, int], _R]]) -> None: ...
        @overload
        def setopt(self, option: _CbSshHostkey, value: Optional[Callable[[int, bytes], _R]]) -> None: ...
        @overload
        def setopt(self, option: _CbPrereq, value: Optional[Callable[[str, str, int, int], _R]]) -> None: ...
        @overload
        def setopt(self, option: _CbFnmatch, value: Optional[Callable[[bytes, bytes], _R]]) -> None: ...
        @overload
        def setopt(self, option: _CbChunkBgn, value: Optional[Callable[[FileInfo, int], _R]]) -> None: ...
        @overload
        def setopt(
            self,
            option: Union[_CbChunkEnd, _CbResolverStart, _CbTrailer, _CbHstsread],
            value: Optional[Callable[[], _R]],
        ) -> None: ...
        @overload
        def setopt(
            self, option: _CbHstswrite, value: Optional[Callable[[HstsEntry, HstsIndex], _R]]
        ) -> None: ...
        @overload
        @deprecated(
            "setopt(<callback option>, value): a callback option takes a callable of that callback's "
            "arguments (docs/callbacks.md)"
        )
        def setopt(
            self,
            option: Union[
                _CbWrite, _CbHeader, _CbRead, _CbSeek, _CbIoctl, _CbProgress, _CbXferinfo, _CbDebug,
                _CbOpensocket, _CbSockopt, _CbClosesocket, _CbSshKey, _CbSshHostkey, _CbPrereq,
                _CbFnmatch, _CbChunkBgn, _CbChunkEnd, _CbResolverStart, _CbTrailer, _CbHstsread,
                _CbHstswrite,
            ],
            value: object,
            *,
            use_memoryview: Optional[bool] = None,
        ) -> None: ...
        @overload
        def setopt(self, option: int, value: Any, *, use_memoryview: Optional[bool] = None) -> None: ...

    def setopt(self, option: int, value: Any, *, use_memoryview: Optional[bool] = None) -> None:
        """curl_easy_setopt(3) for any option the loaded libcurl knows.

        ``value`` by the option's type: int for long and off_t options
        (OverflowError if it does not fit), str (ASCII only) or bytes for
        strings, a list or tuple of them for slists, bytes/str/buffer for
        blobs, a callable for the callback options (``use_memoryview=True``
        gives WRITEFUNCTION/HEADERFUNCTION a read-only memoryview valid during
        the call instead of bytes), a file-like object for WRITEDATA/
        WRITEHEADER/READDATA, a CurlShare/CurlMime/CurlUrl for SHARE/MIMEPOST/
        CURLU, any object for PRIVATE; ``None`` unsets (see unsetopt).
        Raises TypeError/ValueError/OverflowError naming what was expected,
        ``error`` (E_UNKNOWN_OPTION) for an option this libcurl does not know,
        ``error`` with libcurl's code if libcurl refuses the value.  Type
        checkers see one overload per kind of option (docs/typing.md): with
        ``mypy --enable-error-code deprecated`` a flat name given a value of
        the wrong type is reported.

        WRITEDATA (bulk bodies): with a file-like ``obj``, libcurl's writes go
        into a C buffer of the handle's (64 KiB, growing to 1 MiB; freed by
        close() and reset()) and ``obj.write`` is called once when the next
        chunk would not fit, and then: under perform(), between its 100 ms
        steps and before it returns or raises (also on Ctrl-C); in a
        CurlMulti (and AsyncCurlMulti; with libcurl >= 7.88 loaded), before
        each driving call (socket_action, perform, the epoll driver's
        wake-up) returns; instead of once per libcurl chunk (<= 16 KiB).
        The bytes are the same, in the same order.  ``obj.write`` gets a
        memoryview, valid during the call, if ``obj`` is exactly an
        io.BytesIO, io.FileIO, io.BufferedWriter or io.BufferedRandom (they
        copy it), else bytes as in pycurl.  It must return None or the length
        it was given; another count or an exception stops the transfer:
        ``error`` E_WRITE_ERROR (the exception as ``__cause__``;
        KeyboardInterrupt/SystemExit as themselves); in a CurlMulti that
        transfer alone fails (info_read's error list), also when the failing
        write came after libcurl's last chunk.  Buffering
        is used only where the timing of ``obj.write`` cannot be seen: not
        with WRITEFUNCTION (or after it), perform_rb(), CONNECT_ONLY, or while
        any callback that runs as the body arrives is set (HEADERFUNCTION or
        HEADERDATA, XFERINFO/PROGRESSFUNCTION, DEBUGFUNCTION, CHUNK_*,
        FNMATCH, PREREQ, TRAILER, HSTS, SSH, RESOLVER_START, IOCTL); the upload
        side (READDATA/READFUNCTION, SEEKFUNCTION) and the socket callbacks
        keep it.  pause() during a transfer switches the rest of it to
        per-chunk calls.

        READDATA: if ``obj`` is exactly an io.BytesIO, io.FileIO,
        io.BufferedReader or io.BufferedRandom, libcurl's read callback fills
        its upload buffer with ``obj.readinto`` (what ``obj.read(n)`` would
        return, without the bytes object in between); any other object gets
        ``read(n)`` calls with libcurl's sizes, as in pycurl.
        """
        kind = _PLAIN.get(option) if type(option) is int else None
        if kind is not None and use_memoryview is None and self._running is None:
            # The common case (a plain long or string option on an idle handle),
            # straight to libcurl; anything unusual takes the full path below.
            h = self._e.h
            if h != ffi.NULL and self._multi_ref is None:
                if kind is _LONG and type(value) is int and LONG_MIN <= value <= LONG_MAX:
                    rc = _setopt_long(h, option, value)
                    if rc:
                        _check_set(rc, OPTIONS[option].name, value)
                    return
                if kind is _STRING and type(value) is str and value.isascii() and "\0" not in value:
                    rc = _setopt_ptr(h, option, value.encode("ascii"))
                    if rc:
                        _check_set(rc, OPTIONS[option].name, value)
                    return
        self._setopt(option, value, use_memoryview)

    def _setopt(self, option: int, value: Any, use_memoryview: Optional[bool]) -> None:
        """setopt()'s full path: every kind of option, with pycurl's checks and quirks."""
        h = self._handle("setopt")
        spec = _option(option)
        if use_memoryview is not None and option not in _MEMORYVIEW_OPTIONS:
            raise TypeError("use_memoryview is only supported for WRITEFUNCTION and HEADERFUNCTION")
        if value is None:
            self.unsetopt(option)
            return
        kind = spec.type
        if option in CALLBACK_ROWS:
            self._set_callback(option, spec, value, bool(use_memoryview))
        elif option in _FILE_OPTIONS:
            self._set_file_object(option, value)
        elif option in _OBJECT_SETTERS:
            _OBJECT_SETTERS[option][0](self, value)
        elif option == _PRIVATE:
            self._private = value
        elif option in _ROUTES:
            self._set_route(spec, value)
        elif kind in (OptType.LONG, OptType.VALUES):
            self._set_long(h, option, spec, value)
        elif kind is OptType.OFF_T:
            v = _int_in(spec, value, OFF_T_MIN, OFF_T_MAX, "curl_off_t")
            _check_set(lib.pcb_easy_setopt_off_t(h, option, v), spec.name, value)
        elif kind is OptType.STRING or option == _POSTFIELDS:
            self._set_string(option, spec, value)
        elif kind is OptType.SLIST:
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"setopt({spec.name}) expects a list or tuple of str or bytes")
            if value:  # as pycurl: an empty list leaves the option as it is
                self._set_slist(option, [list_item(item, spec.name, i) for i, item in enumerate(value)])
        elif kind is OptType.BLOB:
            self._set_blob(option, value)
        else:
            raise error(
                lib.CURLE_UNKNOWN_OPTION,
                f"setopt({spec.name}): pycurlcb does not support this {kind.name} option",
            )

    def _set_file_object(self, option: int, value: Any) -> None:
        """WRITEDATA/WRITEHEADER/READDATA with a file-like object: its bound method as the callback."""
        fnoption, method = _FILE_OPTIONS[option]
        bound = getattr(value, method, None)
        if bound is None:
            raise TypeError(f"object given without a {method} method")
        self._set_callback(fnoption, OPTIONS[fnoption], bound, False)
        if option == _WRITEDATA:  # perform() may buffer the body for it (bulk bodies)
            self._bulk_write = bound
            self._bulk_mv = type(value) in _COPIES_BUFFER and not _replaced(value, "write")
        elif option == _READDATA:
            self._read_into = _read_into_of(value)

    def _set_route(self, spec: OptionSpec, value: Any) -> None:
        """An option the SSRF guard watches (_ROUTES: PROXY, DOH_URL ...): kept, then the guard re-decides."""
        if spec.type is OptType.STRING:
            if isinstance(value, int):
                raise _not_supported("integers", spec.name, value, "str or bytes")
            self._routes[spec.name] = option_text(value, f"setopt({spec.name})")
        else:
            self._routes[spec.name] = _int_in(spec, value, LONG_MIN, LONG_MAX, "long")
        self._guard_changed()

    def _set_long(self, h: Any, option: int, spec: OptionSpec, value: Any) -> None:
        """A long option, with pycurl's text-enables quirk and the options pycurlcb tracks."""
        if option in _TEXT_ENABLES and isinstance(value, (str, bytes)):
            value = 1  # pycurl passes the text's address: libcurl reads "enabled"
        v = _int_in(spec, value, LONG_MIN, LONG_MAX, "long")
        _check_set(lib.pcb_easy_setopt_long(h, option, v), spec.name, value)
        if option == _MAXCONNECTS:
            self._maxconnects = v
            self._sync_maxconnects()
        elif option == _CONNECT_ONLY:
            self._connect_only = bool(v)

    def setopt_string(self, option: int, value: Any) -> None:
        """setopt() for a string option, with a str value only (pycurl's setopt_string)."""
        self._handle("setopt")
        if not isinstance(value, str):
            raise TypeError("invalid arguments to setopt_string")
        spec = _option(option)
        if spec.type is not OptType.STRING and option != _POSTFIELDS:
            raise _not_supported("strings", spec.name, value, f"a {spec.type.name.lower()} value")
        if option in _ROUTES:
            self.setopt(option, value)  # kept for the SSRF guard
            return
        self._set_string(option, spec, value)

    def _set_string(self, option: int, spec: OptionSpec, value: Any) -> None:
        if isinstance(value, int):
            raise _not_supported("integers", spec.name, value, "str or bytes")
        if option in _DEPRECATED_STRINGS:
            warnings.warn("setopt option is deprecated", DeprecationWarning, stacklevel=3)
        h = self._e.h
        if option == _POSTFIELDS:
            data = value.encode("ascii") if isinstance(value, str) else value
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"setopt(POSTFIELDS) expects str or bytes, not {type(value).__name__}")
            data = bytes(data)
            errors.check(lib.pcb_easy_setopt_off_t(h, OPTION_IDS["POSTFIELDSIZE_LARGE"], len(data)))
            errors.check(lib.pcb_easy_setopt_ptr(h, OPTION_IDS["COPYPOSTFIELDS"], data))
            return
        data = option_text(value, f"setopt({spec.name})")
        _check_set(lib.pcb_easy_setopt_ptr(h, option, data), spec.name, value)

    def _set_slist(self, option: int, items: list[bytes]) -> None:
        slist = ffi.gc(make_slist(items), lib.curl_slist_free_all)
        errors.check(lib.pcb_easy_setopt_ptr(self._e.h, option, slist))
        self._slists[option] = (slist, items)  # the old list is freed when dropped

    def _set_blob(self, option: int, value: Any) -> None:
        if isinstance(value, str):
            value = value.encode("ascii")
        try:
            view = memoryview(value)
        except TypeError:
            raise TypeError(
                "blob option value must be a byte string, ASCII-only Unicode string, or a buffer object"
            ) from None
        if not view.c_contiguous:
            raise BufferError("blob option value must be a C-contiguous buffer")
        with ffi.from_buffer(value) as data:
            blob = ffi.new("struct curl_blob *", {"len": len(data), "flags": lib.CURL_BLOB_COPY})
            blob.data = data
            rc = lib.pcb_easy_setopt_ptr(self._e.h, option, blob)  # libcurl copies it
        errors.check(rc)

    def unsetopt(self, option: int) -> None:
        """Reset an option to libcurl's default (pycurl's unsetopt).

        Strings, blobs, lists, callbacks, file objects, SHARE/MIMEPOST/CURLU,
        INFILESIZE (-1) and CERTINFO (0); other long and off_t options have
        no "unset" in libcurl: TypeError, set a value instead.
        """
        h = self._handle("unsetopt")
        spec = _option(option)
        if option in CALLBACK_ROWS:
            self._unset_callback(option)
        elif option in _FILE_OPTIONS:
            self._unset_callback(_FILE_OPTIONS[option][0])
        elif option in _OBJECT_SETTERS:
            _OBJECT_SETTERS[option][1](self)
        elif option == _PRIVATE:
            self._private = None
        elif option in _ROUTES:
            if spec.type is not OptType.STRING:
                raise TypeError("unsetopt() is not supported for this option")
            self._routes.pop(spec.name, None)
            self._guard_changed()
        elif option in _INFILESIZE:
            errors.check(lib.pcb_easy_setopt_off_t(h, OPTION_IDS["INFILESIZE_LARGE"], -1))
        elif option in _UNSET_TO_ZERO:
            errors.check(lib.pcb_easy_setopt_long(h, option, 0))
        elif spec.type in (OptType.STRING, OptType.BLOB) or option == _POSTFIELDS:
            errors.check(lib.pcb_easy_setopt_ptr(h, option, ffi.NULL))
        elif spec.type is OptType.SLIST:
            errors.check(lib.pcb_easy_setopt_ptr(h, option, ffi.NULL))
            self._slists.pop(option, None)
        else:
            raise TypeError("unsetopt() is not supported for this option")

    # --- callbacks -------------------------------------------------------------

    def _set_callback(self, option: int, spec: OptionSpec, fn: Any, use_memoryview: bool) -> None:
        if not callable(fn):
            raise TypeError(f"setopt({spec.name}) expects a callable, not {type(fn).__name__}")
        row = CALLBACK_ROWS.get(option)
        if row is None:
            raise error(
                lib.CURLE_NOT_BUILT_IN,
                f"setopt({spec.name}): the libcurl headers pycurlcb was built against "
                f"({errors.version_text(lib.LIBCURL_VERSION_NUM)}) lack this callback",
            )
        deprecated = _DEPRECATED_CALLBACKS.get(spec.name)
        if deprecated:
            warnings.warn(deprecated, DeprecationWarning, stacklevel=3)
        setattr(self, slot(row.attr), fn)
        if option == _WRITEFUNCTION:
            self._bulk_write = None
        elif option == _READFUNCTION:
            self._read_into = None
        if option in _MEMORYVIEW_OPTIONS:
            setattr(self, _MEMORYVIEW_OPTIONS[option], use_memoryview)
        for opt in _SOCKET_PAIR if option in _SOCKET_PAIR else (option,):
            if opt not in self._installed:
                self._install(opt)  # replaces the guard's C function: the trampoline checks

    def _unset_callback(self, option: int) -> None:
        row = CALLBACK_ROWS.get(option)
        if row is None:
            return  # never installed
        setattr(self, slot(row.attr), None)
        if option == _WRITEFUNCTION:
            self._bulk_write = None
        elif option == _READFUNCTION:
            self._read_into = None
        if option not in _SOCKET_PAIR:
            self._uninstall(option)
        elif self._cb_opensocket is None and self._cb_closesocket is None:
            for opt in _SOCKET_PAIR:
                self._uninstall(opt)
        if self._guard is not None and option in (*_SOCKET_PAIR, _PREREQ):
            self._install_guard()  # the SSRF guard's checks stay

    # --- the SSRF guard (ssrf.py) --------------------------------------------------

    def _set_policy(self, policy: Optional[ssrf.Policy]) -> None:
        """Policy.attach()/detach()'s seam: this Curl's own policy, or None."""
        self._handle("Policy.attach" if policy is not None else "Policy.detach")
        self._policy = policy
        self._guard_changed()

    def _set_multi_policy(self, policy: Optional[ssrf.Policy]) -> None:
        """The policy of the CurlMulti this Curl is added to (None when it leaves)."""
        if self._e.h != ffi.NULL:
            self._mpolicy = policy
            self._guard_changed()

    def _guard_changed(self) -> None:
        """Put the guard of the attached policies in force, or take it away.

        Guarded: where the user set no opensocket (closesocket) or prereq
        callable, guard.c's functions are installed with a struct pcb_guard
        (ssrf.CGuard) and check in C; where the user did, the trampoline
        checks before calling it.  The route options get _GUARDED_ROUTE's
        values, and an explicit proxy the policies do not allow, or a DoH
        URL, makes the guard refuse every connection.  Unguarded: the
        callbacks and route options as the user set them.
        """
        policies = tuple(p for p in (self._policy, self._mpolicy) if p is not None)
        h = self._e.h
        old = self._guard
        if policies:
            blocked = ssrf.route_refusal(self._routes, policies)
            if old is None or old.policies != policies or old.blocked != blocked:
                self._guard = ssrf.Guard(policies, blocked)
                self._cguard = ssrf.CGuard(self._guard, self._clientp)
        else:
            self._guard = self._cguard = None
        self._install_guard()
        for option, name in _ROUTES.items():
            value = self._routes.get(name)
            if policies and not (name in ("PROXY", "PRE_PROXY") and value and self._guard.blocked is None):
                value = _GUARDED_ROUTE[name]
            if name == "FRESH_CONNECT":
                errors.check(lib.pcb_easy_setopt_long(h, option, value or 0))
            else:
                errors.check(lib.pcb_easy_setopt_ptr(h, option, ffi.NULL if value is None else value))

    def _install_guard(self) -> None:
        """guard.c's opensocket (and prereq) where no trampoline of the user's is
        installed, with this Curl's struct pcb_guard; none when unguarded."""
        h = self._e.h
        cguard = self._cguard
        for option in _GUARD_OPTIONS:
            if option in self._installed:
                continue  # the trampoline: it checks the guard before the user's callable
            data = OPTION_IDS[CALLBACK_ROWS[option].data]
            if cguard is None:
                errors.check(lib.pcb_easy_setopt_fn(h, option, ffi.NULL))
                errors.check(lib.pcb_easy_setopt_ptr(h, data, ffi.NULL))
            else:
                errors.check(lib.pcb_easy_setopt_fn(h, option, _GUARD_FN[option]))
                errors.check(lib.pcb_easy_setopt_ptr(h, data, cguard.g))

    def _install(self, option: int) -> None:
        row = CALLBACK_ROWS[option]
        h = self._e.h
        if option == _WRITEFUNCTION:
            self._e.bulk_on = 0  # replaces bulk.c's write callback, if it was in place
        errors.check(lib.pcb_easy_setopt_fn(h, option, TRAMPOLINES[row.trampoline]))
        errors.check(lib.pcb_easy_setopt_ptr(h, OPTION_IDS[row.data], self._clientp))
        self._installed.add(option)

    def _uninstall(self, option: int) -> None:
        row = CALLBACK_ROWS[option]
        h = self._e.h
        if option == _WRITEFUNCTION:
            self._e.bulk_on = 0
        errors.check(lib.pcb_easy_setopt_fn(h, option, ffi.NULL))
        default = {"stdout": lib.pcb_stdout, "stdin": lib.pcb_stdin}.get(row.default or "")
        data = ffi.NULL if default is None else default()
        errors.check(lib.pcb_easy_setopt_ptr(h, OPTION_IDS[row.data], data))
        self._installed.discard(option)

    # --- transfer ----------------------------------------------------------------

    def perform(self) -> None:
        """Transfer, blocking, as curl_easy_perform(3); the GIL is released while libcurl works.

        Driven on a private multi handle in steps of at most 100 ms, so Ctrl-C
        (KeyboardInterrupt) stops a stalled transfer promptly, even with no
        callback set; the handle stays usable.

        Raises ``error`` (its subclass for the CURLcode's family) with pycurl's
        args ``(code, message)``; if a callback raised, that exception is the
        error's ``__cause__``.  A KeyboardInterrupt or SystemExit from a
        callback is raised as itself.
        """
        e = self._e
        if self._running is not None or self._multi_ref is not None or e.perform == ffi.NULL:
            self._perform_checks(e)
        if e.state:
            _leave_perform(e)
        e.errbuf[0] = b"\0"
        e.stop = 0
        self._exc = None
        if self._refused is not None:
            self._refused = None
        bulk = self._bulk_write is not None and self._bulk_begin()
        self._running = _get_ident()
        try:
            rc = _perform_step(e, PERFORM_STEP_MS)
            if e.state != 2:
                rc = self._perform_on(e, rc)
            done = e.state == 2
            result = e.result if done else lib.CURLE_ABORTED_BY_CALLBACK
        finally:
            if bulk:  # what is buffered goes out, even when interrupted
                self._bulk_end(e)
            if e.state == 1 or not self._connect_only:
                # Interrupted (Ctrl-C) or stopped: out of the multi.  A finished
                # CONNECT_ONLY transfer stays added: its connection is found
                # through the handle's multi (send, recv, ACTIVESOCKET).
                _leave_perform(e)
            self._running = None
        message = None
        if bulk and e.bulk_failed and (result == 0 or not done):
            # obj.write failed where libcurl could not see it: at the end, or between steps
            result, message = lib.CURLE_WRITE_ERROR, WRITE_FAILED
        if rc:
            errors.check_multi(rc)
        if result or self._exc is not None or has_parked():
            refused = refused_error(self, result)
            if refused is not None:
                raise refused
            exc = errors.outcome(result, e.errbuf, take_failure(self), message=message)
            if exc is not None:
                raise exc

    def _bulk_begin(self) -> bool:
        """Buffer the next transfer's body for the WRITEDATA object (bulk bodies, bulk.h)
        if it may be: True if bulk.c's write callback is now installed.

        perform() and CurlMulti.add_handle() call it; the transfer's end puts
        the write trampoline back (pcb_bulk_stop: _bulk_end, pcb_multi_remove).
        Only when nothing the user can see depends on when ``obj.write`` runs:
        its write is the write callback (no WRITEFUNCTION, perform_rb), not
        CONNECT_ONLY, and no callback that runs while the body arrives is set
        (_BULK_UNSAFE: headers, progress, debug ...).  The upload side
        (READDATA/READFUNCTION, SEEKFUNCTION) and the socket callbacks keep it.
        No buffer (out of memory): False, the body goes per chunk.
        """
        e = self._e
        if (self._cb_write is self._bulk_write and not self._connect_only
                and all(getattr(self, name) is None for name in _BULK_UNSAFE)):
            return lib.pcb_bulk_start(e, self._clientp) == lib.CURLE_OK
        if e.bulk_on:  # left in place by a CurlMulti collected with this Curl added
            lib.pcb_bulk_stop(e)
        return False

    def _bulk_end(self, e: Any) -> None:
        """Hand the rest of the buffer to ``obj.write``; the write trampoline back in place."""
        if e.bulk_len:
            lib.pcb_bulk_drain(e)  # a failure is in e.bulk_failed, its exception on self
        lib.pcb_bulk_stop(e)

    def _perform_checks(self, e: Any) -> None:
        """perform()'s refusals, and its private multi made on first use."""
        self._handle("perform")
        if self._multi_now() is not None:
            raise error("cannot invoke perform() - the handle is added to a CurlMulti")
        if e.perform == ffi.NULL:
            if lib.pcb_easy_perform_multi(e) == ffi.NULL:
                raise error(lib.CURLE_OUT_OF_MEMORY, "curl_multi_init() failed")
            self._sync_maxconnects()

    def _perform_on(self, e: Any, rc: int) -> int:
        """perform()'s later steps: until done, a CURLMcode, or a callback's failure.

        After a failure libcurl acts on (the trampoline returned the abort
        value) one more step lets it finish with its own code; a failure it
        does not listen to (``e.stop``: DEBUGFUNCTION), a KeyboardInterrupt, or
        a transfer still running after that step is stopped (state stays 1:
        E_ABORTED_BY_CALLBACK)."""
        late = 0
        while not rc and e.state != 2:
            exc = self._exc
            if exc is not None:
                late += 1
                if late > 1 or e.stop or not isinstance(exc, Exception):
                    break
            if e.bulk_len and lib.pcb_bulk_drain(e):
                break  # obj.write failed between steps: the transfer stops (E_WRITE_ERROR)
            rc = _perform_step(e, PERFORM_STEP_MS)
        return rc

    def _sync_maxconnects(self) -> None:
        # As curl_easy_perform(3) does (lib/easy.c): the easy option sizes its cache.
        perform = self._e.perform
        if perform != ffi.NULL:
            lib.pcb_multi_setopt_long(perform, lib.CURLMOPT_MAXCONNECTS, self._maxconnects)

    def perform_rb(self) -> bytes:
        """perform() and return the body as bytes (pycurl's perform_rb)."""
        chunks: list[bytes] = []
        option = OPTION_IDS["WRITEFUNCTION"]
        saved = (self._cb_write, self._write_mv, option in self._installed)
        self._cb_write, self._write_mv = chunks.append, False
        self._install(option)
        try:
            self.perform()
        finally:
            if not self.closed:
                self._cb_write, self._write_mv = saved[0], saved[1]
                if not saved[2]:
                    self._uninstall(option)
        return b"".join(chunks)

    def perform_rs(self) -> str:
        """perform() and return the body decoded as UTF-8 (pycurl's perform_rs)."""
        return self.perform_rb().decode("utf-8")

    def pause(self, bitmask: int = PAUSE_ALL) -> None:
        """curl_easy_pause(3); bitmask is PAUSE_RECV|PAUSE_SEND, PAUSE_ALL (default) or PAUSE_CONT.

        Allowed from inside this handle's callbacks, not from another thread
        while it transfers.  Unpausing may deliver buffered data to the write
        callback at once; what it raises comes out of here as ``error`` with
        it as __cause__.
        """
        self._pause(bitmask, "pause")

    def unpause(self) -> None:
        """pause(PAUSE_CONT)."""
        self._pause(lib.CURLPAUSE_CONT, "unpause")

    def _pause(self, bitmask: int, what: str) -> None:
        e = self._e
        if e.h == ffi.NULL:
            raise error(f"cannot invoke {what}() - no curl handle")
        if not isinstance(bitmask, int):
            raise TypeError(f"{what}() expects an int bitmask, not {type(bitmask).__name__}")
        if not INT_MIN <= bitmask <= INT_MAX:
            raise OverflowError(
                f"{what}() bitmask {bitmask} does not fit in a C int "
                "(expected PAUSE_RECV, PAUSE_SEND, PAUSE_ALL or PAUSE_CONT)"
            )
        running = self._running if self._running is not None else self._multi_running()
        if running is not None and running != threading.get_ident():
            raise error(f"cannot invoke {what}() - perform() is currently running on another thread")
        # bulk bodies: from now on each chunk of this transfer goes to obj.write
        # as it comes, also those curl_easy_pause delivers (a CurlMulti's transfer)
        e.bulk_pass = 1
        rc = lib.curl_easy_pause(e.h, bitmask)
        if rc == lib.CURLE_BAD_FUNCTION_ARGUMENT and running is None and self._multi_now() is None:
            raise error_class(rc)(
                rc,
                f"{errors.easy_strerror(rc)}: {what}({bitmask}) needs a transfer in progress on "
                "this handle (call it from one of its callbacks, or while a CurlMulti drives it)",
            )
        if running is not None:  # from a callback: the driving call reports failures
            errors.check(rc, e.errbuf)
        elif self._multi_now() is not None:  # a transfer of a CurlMulti fails alone
            errors.check(rc, e.errbuf, take_parked())
        else:
            errors.check(rc, e.errbuf, take_failure(self))

    # --- information ---------------------------------------------------------------

    if TYPE_CHECKING:
        # By the info's kind (a flat name such as RESPONSE_CODE); an info in an
        # int variable gives Any.  A string info is None when libcurl has none:
        # typed ``bytes | Any`` so that code knowing it is set needs no check.
        @overload
        def getinfo_raw(self, info: _IntInfo) -> int: ...
        @overload
        def getinfo_raw(self, info: _FloatInfo) -> float: ...
        @overload
        def getinfo_raw(self, info: _StrInfo) -> Union[bytes, Any]: ...
        @overload
        def getinfo_raw(self, info: _ListInfo) -> list[bytes]: ...
        @overload
        def getinfo_raw(self, info: int) -> Any: ...

    def getinfo_raw(self, info: int) -> Any:
        """curl_easy_getinfo(3), strings as bytes.

        The Python type follows the info's kind: bytes or None (STRING), int
        (LONG, OFF_T, SOCKET), float (DOUBLE, seconds), list of bytes (SLIST),
        CERTINFO a list, per certificate, of ``(name, value)`` bytes tuples;
        PRIVATE returns the object set with setopt(PRIVATE).  Raises
        ValueError for an int that is not a CURLINFO, ``error`` for one this
        libcurl does not know.
        """
        scalar = _SCALAR_INFOS.get(info) if type(info) is int else None
        if scalar is not None and self._running is None and self._multi_ref is None:
            e = self._e  # the common case, without the checks below
            value = scalar(e, info)
            if not e.info_rc:
                return value
            if e.h != ffi.NULL:
                errors.check(e.info_rc)
        h = self._handle("getinfo")
        if not isinstance(info, int) or type(info) is bool:
            raise TypeError(f"info must be an int such as pycurl.RESPONSE_CODE, not {type(info).__name__}")
        if info not in _KNOWN_INFOS:
            raise ValueError(
                f"invalid argument to getinfo: {info} is not a CURLINFO this libcurl knows "
                "(an info constant such as pycurl.RESPONSE_CODE)"
            )
        if info == lib.CURLINFO_PRIVATE:
            return self._private
        if info in _DEPRECATED_INFOS:
            warnings.warn("getinfo option is deprecated", DeprecationWarning, stacklevel=3)
        kind = info_kind(info)
        typed = _GETINFO_SCALAR.get(kind)
        if typed is not None:
            ctype, getinfo = typed
            out = ffi.new(ctype)
            errors.check(getinfo(h, info, out))
            return out[0]
        if info in _TLS_POINTERS:
            raise ValueError("invalid argument to getinfo (TLS backend pointers are not exposed)")
        pout = ffi.new("void **")
        errors.check(lib.pcb_easy_getinfo_ptr(h, info, pout))
        if kind is InfoKind.STRING:
            return None if pout[0] == ffi.NULL else ffi.string(ffi.cast("char *", pout[0]))
        if info == lib.CURLINFO_CERTINFO:
            certinfo = ffi.cast("struct curl_certinfo *", pout[0])
            if certinfo == ffi.NULL:
                return None
            return [
                tuple(_field(item) for item in slist_items(certinfo.certinfo[i]))
                for i in range(certinfo.num_of_certs)
            ]
        slist = ffi.cast("struct curl_slist *", pout[0])
        try:
            return slist_items(slist)
        finally:
            lib.curl_slist_free_all(slist)

    if TYPE_CHECKING:
        # As getinfo_raw, strings decoded: a string info is ``str | Any``.
        @overload
        def getinfo(self, info: _IntInfo) -> int: ...
        @overload
        def getinfo(self, info: _FloatInfo) -> float: ...
        @overload
        def getinfo(self, info: _StrInfo) -> Union[str, Any]: ...
        @overload
        def getinfo(self, info: _ListInfo) -> list[str]: ...
        @overload
        def getinfo(self, info: int) -> Any: ...

    def getinfo(self, info: int) -> Any:
        """curl_easy_getinfo(3) as in pycurl: like getinfo_raw, bytes decoded as UTF-8.

        A string that is not UTF-8 raises UnicodeDecodeError: use getinfo_raw.
        """
        value = self.getinfo_raw(info)
        if type(value) is int:
            return value
        if isinstance(value, bytes):
            return value.decode()
        if isinstance(value, list):
            return [_decoded(item) for item in value]
        return value

    def errstr_raw(self) -> bytes:
        """The CURLOPT_ERRORBUFFER text of the last transfer, as bytes."""
        self._handle("errstr")
        return bytes(ffi.string(self._e.errbuf))

    def errstr(self) -> str:
        """The CURLOPT_ERRORBUFFER text of the last transfer ('' if none)."""
        return self.errstr_raw().decode("utf-8", "replace")

    @property
    def callback_error(self) -> Optional[BaseException]:
        """What a callback of this handle raised in its last transfer through a
        CurlMulti (``info_read()`` reports that transfer as failed), or None.

        perform() raises it as ``__cause__`` instead; this is for event loops
        that drive a CurlMulti.  Cleared when the handle is added again.
        """
        return self._exc

    # --- CONNECT_ONLY (curl_easy_send(3), curl_easy_recv(3)) -------------------------

    def send(self, data: Any) -> int:
        """curl_easy_send(3) on a CONNECT_ONLY connection: the number of bytes sent.

        ``data`` is bytes or any contiguous buffer.  Raises BlockingIOError
        (EAGAIN) when the socket cannot take data now (wait for it to be
        writable: getinfo(ACTIVESOCKET)), ``error`` for libcurl's other codes.
        """
        h = self._handle("send")
        sent = ffi.new("size_t *")
        with ffi.from_buffer(data) as buf:
            rc = lib.curl_easy_send(h, buf, len(buf), sent)
        self._io(rc)
        return int(sent[0])

    def recv(self, size: int) -> bytes:
        """curl_easy_recv(3) on a CONNECT_ONLY connection: up to ``size`` bytes (b'' at EOF).

        Raises BlockingIOError (EAGAIN) when nothing can be read yet, ``error``
        for libcurl's other codes.
        """
        if not isinstance(size, int):
            raise TypeError(f"recv() expects an int size, not {type(size).__name__}")
        if size < 0:
            raise ValueError("negative buffersize in recv")
        self._handle("recv")
        if size == 0:
            return b""
        buf = ffi.new("char[]", size)
        n = self._recv(buf, size, "recv")
        return ffi.unpack(buf, n)  # type: ignore[no-any-return]

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        """curl_easy_recv(3) into a writable buffer: the number of bytes received.

        ``nbytes`` 0 means the whole buffer.  Raises as recv().
        """
        if not isinstance(nbytes, int):
            raise TypeError(f"recv_into() expects an int nbytes, not {type(nbytes).__name__}")
        try:
            buf = ffi.from_buffer(buffer, require_writable=True)
        except (TypeError, BufferError):
            raise TypeError("recv_into() argument 'buffer' must be read-write bytes-like object") from None
        with buf:
            if nbytes < 0:
                raise ValueError("negative buffersize in recv_into")
            size = nbytes or len(buf)
            if size > len(buf):
                raise ValueError("buffer too small for requested bytes")
            self._handle("recv_into")
            if size == 0:
                return 0
            return self._recv(buf, size, "recv_into")

    def _recv(self, buf: Any, size: int, what: str) -> int:
        """curl_easy_recv into ``buf`` (a cdata char[] from ffi.from_buffer)."""
        got = ffi.new("size_t *")
        self._io(lib.curl_easy_recv(self._handle(what), buf, size, got))
        return int(got[0])

    def _io(self, rc: int) -> None:
        if rc == lib.CURLE_AGAIN:
            raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
        errors.check(rc, self._e.errbuf)

    # --- TLS ---------------------------------------------------------------------------

    def set_ca_certs(self, cadata: Any) -> None:
        """Trust the PEM certificates in ``cadata`` (str or bytes) besides the default CAs.

        pycurl's set_ca_certs: they are added to OpenSSL's certificate store
        through CURLOPT_SSL_CTX_FUNCTION, so it needs libcurl built with
        OpenSSL (else ``error`` E_NOT_BUILT_IN).  A transfer fails with
        E_FAILED_INIT if no certificate can be read from ``cadata``.
        """
        self._handle("set_ca_certs")
        if isinstance(cadata, str):
            try:
                cadata = cadata.encode("ascii")
            except UnicodeEncodeError:
                cadata = None
        if not isinstance(cadata, bytes):
            raise TypeError(
                "set_ca_certs argument must be a byte string or a Unicode string with ASCII code "
                "points only"
            )
        rc = lib.pcb_easy_set_ca_certs(self._e, cadata, len(cadata))
        if rc == lib.CURLE_NOT_BUILT_IN:
            raise error(rc, "set_ca_certs() needs libcurl built with OpenSSL")
        errors.check(rc)


def refused_error(curl: Curl, code: int) -> Optional[ssrf.AddressRefused]:
    """The AddressRefused a transfer of ``curl`` that ended with ``code`` raises, if
    its SSRF guard refused it (and no callback of the user raised), else None."""
    refused = curl._refused
    if refused is None or code not in _REFUSED_CODES or curl._exc is not None:
        return None
    if has_parked():
        return None
    return ssrf.refused_error(refused)


def _field(item: bytes) -> Any:
    name, sep, value = item.partition(b":")
    return (name, value) if sep else item


def _decoded(item: Any) -> Any:
    if isinstance(item, bytes):
        return item.decode()
    if isinstance(item, tuple):
        return tuple(_decoded(i) for i in item)
    return item


#: setopt()'s fast path: option -> its kind, for the long and string options
#: with no special handling (no callback, file, object, deprecation, pycurl quirk).
_LONG, _STRING = OptType.LONG, OptType.STRING
_PLAIN = {
    spec.id: (_LONG if spec.type in (OptType.LONG, OptType.VALUES) else _STRING)
    for spec in OPTIONS.values()
    if spec.type in (OptType.LONG, OptType.VALUES, OptType.STRING)
    and spec.id not in CALLBACK_ROWS and spec.id not in _FILE_OPTIONS
    and spec.id not in (_MAXCONNECTS, _CONNECT_ONLY, _POSTFIELDS, _PRIVATE)
    and spec.id not in _TEXT_ENABLES and spec.id not in _DEPRECATED_STRINGS
    and spec.id not in _ROUTES
}
_setopt_long = lib.pcb_easy_setopt_long
_setopt_ptr = lib.pcb_easy_setopt_ptr
_perform_step = lib.pcb_perform_step
_leave_perform = lib.pcb_easy_leave_perform
_get_ident = threading.get_ident

#: Each row's trampoline as the function pointer type the setopt shims take.
TRAMPOLINES = {name: ffi.cast("pcb_fn", getattr(lib, name)) for name in _callbacks.ROWS}
#: Attributes of a Curl that belong to its own C handle, not copied by duphandle().
_PER_HANDLE = frozenset(
    {"_e", "_h", "_release", "_clientp", "_slists", "_keep", "_installed", "_private", "_maxconnects",
     "_ready", "_multi_ref", "_running", "_policy", "_mpolicy", "_routes", "_cguard"}
)
#: Copies what other modules keep per handle into a duphandle()'s copy.
_DUP_HOOKS: list[Callable[[Curl, Curl], None]] = []


# --- the seam of the modules that own an option of Curl's (register_setter, register_dup_hook):
# share.py, mime.py, form.py and url.py reach a Curl's C struct and the objects it
# keeps for libcurl through these, not through its private attributes (docs/internals.md).


def easy_struct(curl: Curl) -> Any:
    """The Curl's struct pcb_easy (handles.h): ``.h`` is its CURL*, NULL once closed."""
    return curl._e


def kept(curl: Curl) -> dict[int, Any]:
    """The Curl's option -> the Python object libcurl points into (a CurlShare, a
    CurlMime's pin, a form, a CurlUrl ...): kept alive until the option is set
    again, unset, or the Curl is closed (then the dict is cleared)."""
    return curl._keep


def open_handle(curl: Curl, what: str) -> Any:
    """The CURL* for ``what()``: pycurlcb.error if the Curl is closed or in a transfer."""
    return curl._handle(what)


def added_to_multi(curl: Curl) -> bool:
    """True while ``curl`` is added to a CurlMulti (the multi object may be gone already)."""
    return curl._multi_ref is not None


def in_transfer(curl: Curl) -> bool:
    """True while perform() runs on ``curl`` (in any thread) or a live CurlMulti has it."""
    return curl._running is not None or curl._multi_now() is not None


def register_dup_hook(hook: Callable[[Curl, Curl], None]) -> None:
    """Let another module copy what it keeps per handle into a duphandle()'s copy:
    ``hook(src, dup)`` runs once the copy is made (CurlShare's SHARE, CurlMime's MIMEPOST)."""
    _DUP_HOOKS.append(hook)

#: pycurl's default User-Agent: its version string (libcurl copies it).
_USER_AGENT = USER_AGENT.encode("ascii", "replace")

for _name, _value in CURL_CONSTANTS.items():
    setattr(Curl, _name, _value)  # pycurl's constants, readable on handles: c.URL
