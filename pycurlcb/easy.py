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

import os
import warnings
from typing import Any, Callable, Optional

from . import _callbacks, errors
from ._callbacks import EasyCallbacks, Row, register, take_failure, take_parked, unregister
from ._ffi import c_range, ffi, lib
from ._handle import Handle
from .constants import CURL_CONSTANTS, OPTIONS, InfoKind, Opt, OptionSpec, OptType, info_kind
from .errors import OptionError, error
from .version import USER_AGENT

_INFO_MAX = c_range("CURLINFO")[1]
_LONG_MIN, _LONG_MAX = c_range("long")
_OFF_T_MIN, _OFF_T_MAX = c_range("curl_off_t")

#: Longest wait inside libcurl before perform() returns to Python, where a
#: signal handler (Ctrl-C) can run: milliseconds.
PERFORM_STEP_MS = 100
#: libcurl's DEFAULT_CONNCACHE_SIZE: the private multi's cache (CURLOPT_MAXCONNECTS(3)).
_MAXCONNECTS_DEFAULT = 5

#: Callback option id -> its row of the callback table (easy rows this build has).
CALLBACK_ROWS: dict[int, Row] = {
    int(getattr(Opt, row.option)): row
    for row in _callbacks.ROWS.values()
    if row.owner == "easy" and row.option in Opt.__members__
}
#: Data options a file-like object is given to -> (callback option, the method it provides).
_FILE_OPTIONS = {
    int(Opt.WRITEDATA): (int(Opt.WRITEFUNCTION), "write"),
    int(Opt.HEADERDATA): (int(Opt.HEADERFUNCTION), "write"),
    int(Opt.READDATA): (int(Opt.READFUNCTION), "read"),
}
#: opensocket and closesocket are installed together (see _callbacks: lifetimes).
_SOCKET_PAIR = ("opensocket", "closesocket")
_MEMORYVIEW_OPTIONS = {int(Opt.WRITEFUNCTION): "write_mv", int(Opt.HEADERFUNCTION): "header_mv"}
_DEPRECATED_CALLBACKS = {
    "PROGRESSFUNCTION": "PROGRESSFUNCTION is deprecated; use XFERINFOFUNCTION",
    "IOCTLFUNCTION": "IOCTLFUNCTION is deprecated; use SEEKFUNCTION",
}
#: String options pycurl 7.49 warns about (libcurl deprecated them).
_DEPRECATED_STRINGS = frozenset(
    int(getattr(Opt, n))
    for n in (
        "EGDSOCKET", "KRBLEVEL", "RANDOM_FILE", "SOCKS5_GSSAPI_SERVICE", "TLSAUTH_TYPE",
        "TLSAUTH_USERNAME", "TLSAUTH_PASSWORD", "PROXY_TLSAUTH_TYPE",
        "PROXY_TLSAUTH_USERNAME", "PROXY_TLSAUTH_PASSWORD",
    )
    if n in Opt.__members__
)
_POSTFIELDS = int(Opt.POSTFIELDS)
_MAXCONNECTS = int(Opt.MAXCONNECTS)
_PRIVATE = int(Opt.PRIVATE)
_INFILESIZE = tuple(int(getattr(Opt, n)) for n in ("INFILESIZE", "INFILESIZE_LARGE"))
_UNSET_TO_ZERO = tuple(int(getattr(Opt, n)) for n in ("CERTINFO",) if n in Opt.__members__)

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

#: Options taken by another handle type: option id -> setter(curl, value),
#: unsetter(curl).  Filled by share.py, mime.py and url.py.
_OBJECT_SETTERS: dict[int, tuple[Callable[[Curl, Any], None], Callable[[Curl], None]]] = {}


def register_setter(
    option: int, setter: Callable[[Curl, Any], None], unsetter: Callable[[Curl], None]
) -> None:
    """Let another module own an option (CurlShare: SHARE, CurlMime: MIMEPOST ...)."""
    _OBJECT_SETTERS[option] = (setter, unsetter)


def _release(e: Any) -> None:
    """ffi.gc's release of a struct pcb_easy: the Curl was collected without close().

    No Python runs from here on (its clientp is unregistered first), so the
    order the collector frees things in does not matter (handles.h).
    """
    clientp = _KEYS.pop(ffi.cast("void *", e), None)
    if clientp is not None:
        unregister(clientp)
    lib.pcb_easy_free(e)


#: struct pcb_easy -> its clientp, for _release (which only gets the struct).
_KEYS: dict[Any, Any] = {}


def _option(option: Any) -> OptionSpec:
    if not isinstance(option, int) or type(option) is bool:
        raise TypeError(f"option must be an int such as pycurl.URL, not {type(option).__name__}")
    spec = OPTIONS.get(option)
    if spec is None:
        if option <= 0:
            raise TypeError("invalid arguments to setopt")
        raise OptionError(
            lib.CURLE_UNKNOWN_OPTION, f"option {option} is not a CURLoption of this libcurl"
        )
    return spec


def text(value: Any, what: str) -> bytes:
    """A str (ASCII only, as pycurl) or bytes/PathLike option value, without NUL bytes."""
    if isinstance(value, str):
        data = value.encode("ascii")
    elif isinstance(value, bytes):
        data = value
    elif isinstance(value, os.PathLike):
        data = os.fsencode(value)
    else:
        raise TypeError(f"{what} expects str or bytes, not {type(value).__name__}")
    if b"\0" in data:
        raise ValueError(f"{what}: the value contains a NUL byte")
    return data


def _int_in(spec: OptionSpec, value: Any, low: int, high: int, ctype: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"setopt({spec.name}) expects an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise OverflowError(f"setopt({spec.name}): {value} does not fit in a C {ctype}")
    return int(value)


def _slist_items(slist: Any) -> list[bytes]:
    items = []
    while slist != ffi.NULL:
        items.append(ffi.string(slist.data))
        slist = slist.next
    return items


class Curl(Handle):
    """A libcurl easy handle: ``import pycurlcb as pycurl; c = pycurl.Curl()``.

    Takes no arguments.  Not thread-safe: use one Curl per thread
    (libcurl-thread(3)).  ``close()`` is idempotent; the handle is also a
    context manager.  pycurl's constants are readable on instances
    (``c.URL``).  Like pycurl, a new handle sends ``pycurl.version`` as its
    User-Agent and has NOPROGRESS set.
    """

    #: The CurlMulti it is added to (a weak reference), or None.
    _multi_ref: Optional[Callable[[], Any]] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Curl:
        # The handle is made here, not in __init__: a subclass __init__ need
        # not call super().__init__() (pycurl's types are made in tp_new).
        self = super().__new__(cls)
        e = lib.pcb_easy_new(ffi.NULL)
        if e == ffi.NULL:
            raise error(lib.CURLE_FAILED_INIT, "initializing curl failed")
        self._setup(ffi.gc(e, _release), EasyCallbacks())
        lib.pcb_easy_setopt_long(e.h, int(Opt.NOPROGRESS), 1)
        lib.pcb_easy_setopt_ptr(e.h, int(Opt.USERAGENT), _USER_AGENT)
        return self

    def __init__(self) -> None:
        pass

    def _setup(self, e: Any, cb: EasyCallbacks) -> None:
        self._e = e
        self._cb = cb
        self._clientp = register(cb)
        _KEYS[ffi.cast("void *", e)] = self._clientp
        self._busy = False
        self._slists: dict[int, tuple[Any, list[bytes]]] = {}  # option -> (slist, items)
        self._keep: dict[int, Any] = {}  # option -> Python objects libcurl points into
        self._installed: set[int] = set()  # callback options whose trampoline is set
        self._private: Any = None
        self._maxconnects = _MAXCONNECTS_DEFAULT
        lib.pcb_easy_setopt_long(e.h, int(Opt.NOSIGNAL), 1)
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
            raise error(lib.CURLE_BAD_FUNCTION_ARGUMENT, f"cannot invoke {what}() - no curl handle")
        if self._busy or self._multi_busy():
            raise error(
                lib.CURLE_RECURSIVE_API_CALL,
                f"cannot invoke {what}() - perform() is currently running",
            )
        return e.h

    def _multi_busy(self) -> bool:
        multi = self.multi()
        return multi is not None and multi._busy

    def close(self) -> None:
        """curl_easy_cleanup(3); idempotent.  Removes the handle from its CurlMulti.

        Closes this handle's cached connections, so closesocket may run:
        what it raises comes out as ``pycurlcb.error`` with it as __cause__.
        Raises ``error`` if called from inside one of this handle's callbacks.
        """
        e = self._e
        if e.h == ffi.NULL:
            return
        self._handle("close")
        cb = self._cb
        cb.exc = None  # what an earlier transfer's callbacks raised was reported then
        _callbacks.reactivate(self._clientp, cb)  # a finaliser: the collector cleared it
        multi = self.multi()
        self._busy = True
        try:
            if multi is not None:
                multi._forget(self)
            lib.pcb_easy_close(e)  # leaves multi and share, cleans up; callbacks may run
        finally:
            self._busy = False
            self._multi_ref = None
            _KEYS.pop(ffi.cast("void *", e), None)
            cb.release(self._clientp)
            self._forget_objects()
        errors.check(0, None, take_failure(cb))

    def _forget_objects(self) -> None:
        """Drop what the closed handle pinned, as pycurl does on close()."""
        self._slists.clear()
        self._keep.clear()
        self._private = None
        self._cb.clear()

    def multi(self) -> Any:
        """The CurlMulti this handle is added to, or None (pycurl's Curl.multi())."""
        ref = self._multi_ref
        return None if ref is None else ref()

    def share(self) -> Any:
        """The CurlShare this handle uses (setopt(SHARE, ...)), or None."""
        return self._keep.get(int(Opt.SHARE))

    def reset(self) -> None:
        """curl_easy_reset(3): every option back to its default, callbacks dropped.

        As pycurl: the User-Agent and NOPROGRESS defaults are set again.
        """
        h = self._handle("reset")
        lib.curl_easy_reset(h)
        e = self._e
        lib.pcb_easy_setopt_ptr(h, int(Opt.ERRORBUFFER), e.errbuf)
        lib.pcb_easy_setopt_long(h, int(Opt.NOSIGNAL), 1)
        lib.pcb_easy_setopt_long(h, int(Opt.NOPROGRESS), 1)
        lib.pcb_easy_setopt_ptr(h, int(Opt.USERAGENT), _USER_AGENT)
        if e.share != ffi.NULL:
            lib.pcb_easy_set_share(e, ffi.NULL)  # curl_easy_reset dropped CURLOPT_SHARE
        self._installed.clear()
        self._forget_objects()
        self._maxconnects = _MAXCONNECTS_DEFAULT
        self._sync_maxconnects()

    def duphandle(self) -> Curl:
        """curl_easy_duphandle(3): a new Curl of this class, with the same options.

        The callables are shared; lists (HTTPHEADER ...) are rebuilt for the
        copy, so closing either handle never frees memory the other uses.
        """
        self._handle("duphandle")
        e = lib.pcb_easy_new(self._e)
        if e == ffi.NULL:
            raise error(lib.CURLE_FAILED_INIT, "duplicating curl failed")
        new = object.__new__(type(self))
        new._setup(ffi.gc(e, _release), EasyCallbacks())
        new._cb.copy_from(self._cb)
        new._maxconnects = self._maxconnects
        new._private = self._private
        new._keep = dict(self._keep)
        for option in self._installed:
            new._install(option)
        for option, (_, items) in self._slists.items():
            new._set_slist(option, items)
        for hook in _DUP_HOOKS:
            hook(self, new)
        return new

    # --- options ---------------------------------------------------------------

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
        Raises TypeError/ValueError naming what was expected, ``OptionError``
        for an unknown or unsupported option, ``error`` if libcurl refuses.
        """
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
            fnoption, method = _FILE_OPTIONS[option]
            bound = getattr(value, method, None)
            if bound is None:
                raise TypeError(f"object given without a {method} method")
            self._set_callback(fnoption, OPTIONS[fnoption], bound, False)
        elif option in _OBJECT_SETTERS:
            _OBJECT_SETTERS[option][0](self, value)
        elif option == _PRIVATE:
            self._private = value
        elif kind in (OptType.LONG, OptType.VALUES):
            v = _int_in(spec, value, _LONG_MIN, _LONG_MAX, "long")
            errors.check(lib.pcb_easy_setopt_long(h, option, v))
            if option == _MAXCONNECTS:
                self._maxconnects = v
                self._sync_maxconnects()
        elif kind is OptType.OFF_T:
            v = _int_in(spec, value, _OFF_T_MIN, _OFF_T_MAX, "curl_off_t")
            errors.check(lib.pcb_easy_setopt_off_t(h, option, v))
        elif kind is OptType.STRING or option == _POSTFIELDS:
            self._set_string(option, spec, value)
        elif kind is OptType.SLIST:
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"setopt({spec.name}) expects a list or tuple of str or bytes")
            if value:  # as pycurl: an empty list leaves the option as it is
                self._set_slist(option, [_list_item(item) for item in value])
        elif kind is OptType.BLOB:
            self._set_blob(option, value)
        else:
            raise OptionError(
                lib.CURLE_UNKNOWN_OPTION,
                f"setopt({spec.name}): pycurlcb does not support this {kind.name} option",
            )

    def setopt_string(self, option: int, value: Any) -> None:
        """setopt() for a string option, with a str value only (pycurl's setopt_string)."""
        self._handle("setopt")
        if not isinstance(value, str):
            raise TypeError("invalid arguments to setopt_string")
        spec = _option(option)
        if spec.type is not OptType.STRING and option != _POSTFIELDS:
            raise TypeError("strings are not supported for this option")
        self._set_string(option, spec, value)

    def _set_string(self, option: int, spec: OptionSpec, value: Any) -> None:
        if isinstance(value, int):
            raise TypeError("integers are not supported for this option")
        if option in _DEPRECATED_STRINGS:
            warnings.warn("setopt option is deprecated", DeprecationWarning, stacklevel=3)
        h = self._e.h
        if option == _POSTFIELDS:
            data = value.encode("ascii") if isinstance(value, str) else value
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"setopt(POSTFIELDS) expects str or bytes, not {type(value).__name__}")
            data = bytes(data)
            errors.check(lib.pcb_easy_setopt_off_t(h, int(Opt.POSTFIELDSIZE_LARGE), len(data)))
            errors.check(lib.pcb_easy_setopt_ptr(h, int(Opt.COPYPOSTFIELDS), data))
            return
        errors.check(lib.pcb_easy_setopt_ptr(h, option, text(value, f"setopt({spec.name})")))

    def _set_slist(self, option: int, items: list[bytes]) -> None:
        slist = ffi.gc(_callbacks.make_slist(items), lib.curl_slist_free_all)
        errors.check(lib.pcb_easy_setopt_ptr(self._e.h, option, slist))
        self._slists[option] = (slist, items)  # the old list is freed when dropped

    def _set_blob(self, option: int, value: Any) -> None:
        if isinstance(value, str):
            value = value.encode("ascii")
        if isinstance(value, (int, float)) or not hasattr(value, "__buffer__") and not isinstance(
            value, (bytes, bytearray, memoryview)
        ):
            raise TypeError(
                "blob option value must be a byte string, ASCII-only Unicode string, or a buffer object"
            )
        view = memoryview(value)
        if not view.c_contiguous:
            raise BufferError("blob option value must be a contiguous buffer")
        blob = ffi.new("struct curl_blob *", {"len": view.nbytes, "flags": lib.CURL_BLOB_COPY})
        data = ffi.from_buffer(view)
        blob.data = data
        errors.check(lib.pcb_easy_setopt_ptr(self._e.h, option, blob))  # libcurl copies it

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
        elif option in _INFILESIZE:
            errors.check(lib.pcb_easy_setopt_off_t(h, int(Opt.INFILESIZE_LARGE), -1))
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
            raise OptionError(
                lib.CURLE_UNKNOWN_OPTION,
                f"setopt({spec.name}): this callback needs a newer libcurl than pycurlcb was built "
                "against",
            )
        deprecated = _DEPRECATED_CALLBACKS.get(spec.name)
        if deprecated:
            warnings.warn(deprecated, DeprecationWarning, stacklevel=3)
        setattr(self._cb, row.attr, fn)
        if option in _MEMORYVIEW_OPTIONS:
            setattr(self._cb, _MEMORYVIEW_OPTIONS[option], use_memoryview)
        if row.attr in _SOCKET_PAIR:
            for attr in _SOCKET_PAIR:
                self._install(int(getattr(Opt, f"{attr.upper()}FUNCTION")))
        else:
            self._install(option)

    def _unset_callback(self, option: int) -> None:
        row = CALLBACK_ROWS.get(option)
        if row is None:
            return  # never installed
        setattr(self._cb, row.attr, None)
        if row.attr in _SOCKET_PAIR:
            if self._cb.opensocket is None and self._cb.closesocket is None:
                for attr in _SOCKET_PAIR:
                    self._uninstall(int(getattr(Opt, f"{attr.upper()}FUNCTION")))
        else:
            self._uninstall(option)

    def _install(self, option: int) -> None:
        row = CALLBACK_ROWS[option]
        h = self._e.h
        errors.check(lib.pcb_easy_setopt_fn(h, option, _TRAMPOLINES[row.trampoline]))
        errors.check(lib.pcb_easy_setopt_ptr(h, int(getattr(Opt, row.data)), self._clientp))
        self._installed.add(option)

    def _uninstall(self, option: int) -> None:
        row = CALLBACK_ROWS[option]
        h = self._e.h
        errors.check(lib.pcb_easy_setopt_fn(h, option, ffi.NULL))
        default = {"stdout": lib.pcb_stdout, "stdin": lib.pcb_stdin}.get(row.default or "")
        data = ffi.NULL if default is None else default()
        errors.check(lib.pcb_easy_setopt_ptr(h, int(getattr(Opt, row.data)), data))
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
        h = self._handle("perform")
        if self.multi() is not None:
            raise error(
                lib.CURLE_BAD_FUNCTION_ARGUMENT,
                "cannot invoke perform() - the handle is added to a CurlMulti",
            )
        e = self._e
        if e.perform == ffi.NULL:
            if lib.pcb_easy_perform_multi(e) == ffi.NULL:
                raise error(lib.CURLE_OUT_OF_MEMORY, "curl_multi_init() failed")
            self._sync_maxconnects()
        e.state = 0
        e.errbuf[0] = b"\0"
        cb = self._cb
        cb.exc = None
        result = lib.CURLE_OK
        late = 0
        self._busy = True
        try:
            while e.state != 2:
                rc = lib.pcb_perform_step(e, PERFORM_STEP_MS)
                if rc:
                    errors.check_multi(rc)
                if e.state == 2:
                    result = e.result
                elif cb.exc is not None:
                    # A callback raised and libcurl goes on (the debug callback
                    # cannot abort): one more step for libcurl to fail on its
                    # own, then stop it.
                    late += 1
                    if late > 1 or not isinstance(cb.exc, Exception):
                        result = lib.CURLE_ABORTED_BY_CALLBACK
                        break
        finally:
            if e.state == 1:  # interrupted (Ctrl-C) or stopped: take it out of the multi
                lib.curl_multi_remove_handle(e.perform, h)
                e.state = 0
            self._busy = False
        exc = errors.outcome(result, e.errbuf, take_failure(cb))
        if exc is not None:
            raise exc

    def _sync_maxconnects(self) -> None:
        # As curl_easy_perform(3) does (lib/easy.c): the easy option sizes its cache.
        perform = self._e.perform
        if perform != ffi.NULL:
            lib.pcb_multi_setopt_long(perform, lib.CURLMOPT_MAXCONNECTS, self._maxconnects)

    def perform_rb(self) -> bytes:
        """perform() and return the body as bytes (pycurl's perform_rb)."""
        chunks: list[bytes] = []
        row = CALLBACK_ROWS[int(Opt.WRITEFUNCTION)]
        saved = (self._cb.write, self._cb.write_mv, int(Opt.WRITEFUNCTION) in self._installed)
        self._cb.write, self._cb.write_mv = chunks.append, False
        self._install(int(Opt.WRITEFUNCTION))
        try:
            self.perform()
        finally:
            self._cb.write, self._cb.write_mv = saved[0], saved[1]
            if not saved[2] and not self.closed:
                self._uninstall(int(Opt.WRITEFUNCTION))
        del row
        return b"".join(chunks)

    def perform_rs(self) -> str:
        """perform() and return the body decoded as UTF-8 (pycurl's perform_rs)."""
        return self.perform_rb().decode("utf-8")

    def pause(self, bitmask: int = lib.CURLPAUSE_ALL) -> None:
        """curl_easy_pause(3); bitmask is PAUSE_RECV|PAUSE_SEND, PAUSE_ALL (default) or PAUSE_CONT.

        Unpausing may deliver buffered data to the write callback at once;
        what it raises comes out of here as ``error`` with it as __cause__.
        """
        e = self._e
        if e.h == ffi.NULL:
            raise error(lib.CURLE_BAD_FUNCTION_ARGUMENT, "cannot invoke pause() - no curl handle")
        if not isinstance(bitmask, int):
            raise TypeError(f"pause() expects an int bitmask, not {type(bitmask).__name__}")
        cb = self._cb
        rc = lib.curl_easy_pause(e.h, bitmask)
        errors.check(rc, e.errbuf, take_parked() if self.multi() is not None else take_failure(cb))

    def unpause(self) -> None:
        """pause(PAUSE_CONT)."""
        self.pause(lib.CURLPAUSE_CONT)

    # --- information ---------------------------------------------------------------

    def getinfo_raw(self, info: int) -> Any:
        """curl_easy_getinfo(3), strings as bytes.

        The Python type follows the info's kind: bytes or None (STRING), int
        (LONG, OFF_T, SOCKET), float (DOUBLE, seconds), list of bytes (SLIST),
        CERTINFO a list, per certificate, of ``(name, value)`` bytes tuples;
        PRIVATE returns the object set with setopt(PRIVATE).  Raises
        ValueError for an int that is not a CURLINFO, ``error`` for one this
        libcurl does not know.
        """
        h = self._handle("getinfo")
        if not isinstance(info, int) or type(info) is bool:
            raise TypeError(f"info must be an int such as pycurl.RESPONSE_CODE, not {type(info).__name__}")
        if not 0 < info <= _INFO_MAX or not info & lib.CURLINFO_TYPEMASK:
            raise ValueError("invalid argument to getinfo")
        if info == lib.CURLINFO_PRIVATE:
            return self._private
        if info in _DEPRECATED_INFOS:
            warnings.warn("getinfo option is deprecated", DeprecationWarning, stacklevel=3)
        kind = info_kind(info)
        scalar = _GETINFO_SCALAR.get(kind)
        if scalar is not None:
            ctype, getinfo = scalar
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
                tuple(_field(item) for item in _slist_items(certinfo.certinfo[i]))
                for i in range(certinfo.num_of_certs)
            ]
        slist = ffi.cast("struct curl_slist *", pout[0])
        try:
            return _slist_items(slist)
        finally:
            lib.curl_slist_free_all(slist)

    def getinfo(self, info: int) -> Any:
        """curl_easy_getinfo(3) as in pycurl: like getinfo_raw, bytes decoded as UTF-8.

        A string that is not UTF-8 raises UnicodeDecodeError: use getinfo_raw.
        """
        value = self.getinfo_raw(info)
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
        return self._cb.exc

    # --- CONNECT_ONLY (curl_easy_send(3), curl_easy_recv(3)) -------------------------

    def send(self, data: Any) -> int:
        """curl_easy_send(3) on a CONNECT_ONLY connection: the number of bytes sent.

        ``data`` is bytes or any contiguous buffer.  Raises ``error``
        (E_AGAIN when the socket is not ready: wait for it to be writable).
        """
        h = self._handle("send")
        view = memoryview(data)
        sent = ffi.new("size_t *")
        errors.check(lib.curl_easy_send(h, ffi.from_buffer(view), view.nbytes, sent), self._e.errbuf)
        return int(sent[0])

    def recv(self, size: int) -> bytes:
        """curl_easy_recv(3) on a CONNECT_ONLY connection: up to ``size`` bytes (b'' at EOF).

        Raises ``error`` (E_AGAIN when nothing is there yet: wait for it to be readable).
        """
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"recv() expects a size >= 0, not {size!r}")
        buf = bytearray(size)
        n = self.recv_into(buf)
        return bytes(buf[:n])

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        """curl_easy_recv(3) into a writable buffer: the number of bytes received.

        ``nbytes`` 0 means the whole buffer.  Raises ``error`` as recv().
        """
        h = self._handle("recv_into")
        view = memoryview(buffer)
        if view.readonly:
            raise TypeError("recv_into() expects a writable buffer")
        if not isinstance(nbytes, int) or nbytes < 0 or nbytes > view.nbytes:
            raise ValueError(f"recv_into() nbytes must be from 0 to {view.nbytes}, not {nbytes!r}")
        got = ffi.new("size_t *")
        size = nbytes or view.nbytes
        errors.check(lib.curl_easy_recv(h, ffi.from_buffer(view), size, got), self._e.errbuf)
        return int(got[0])

    # --- TLS ---------------------------------------------------------------------------

    def set_ca_certs(self, cadata: Any) -> None:
        """Trust the PEM certificates in ``cadata`` (str or bytes) besides the default CAs.

        pycurl's set_ca_certs: they are added to OpenSSL's certificate store
        through CURLOPT_SSL_CTX_FUNCTION, so it needs libcurl built with
        OpenSSL.  A transfer fails with E_FAILED_INIT if no certificate can be
        read from ``cadata``.
        """
        h = self._handle("set_ca_certs")
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
        del h
        errors.check(lib.pcb_easy_set_ca_certs(self._e, cadata, len(cadata)))


def _list_item(item: Any) -> bytes:
    if not isinstance(item, (str, bytes)):
        raise TypeError("list items must be byte strings or Unicode strings with ASCII code points only")
    return text(item, "a list item")


def _field(item: bytes) -> Any:
    name, sep, value = item.partition(b":")
    return (name, value) if sep else item


def _decoded(item: Any) -> Any:
    if isinstance(item, bytes):
        return item.decode()
    if isinstance(item, tuple):
        return tuple(_decoded(i) for i in item)
    return item


#: Each row's trampoline as the function pointer type the setopt shim takes.
_TRAMPOLINES = {name: ffi.cast("pcb_fn", getattr(lib, name)) for name in _callbacks.ROWS}
#: Copies what other modules keep per handle into a duphandle()'s copy.
_DUP_HOOKS: list[Callable[[Curl, Curl], None]] = []
#: pycurl's default User-Agent: its version string (libcurl copies it).
_USER_AGENT = USER_AGENT.encode("ascii", "replace")

for _name, _value in CURL_CONSTANTS.items():
    setattr(Curl, _name, _value)  # pycurl's constants, readable on handles: c.URL
