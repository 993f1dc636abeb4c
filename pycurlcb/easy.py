"""Curl: one libcurl easy handle (curl_easy_init(3)), pycurl-compatible.

Options are looked up in the run-time table of the loaded libcurl
(``constants.OPTIONS``) and converted by their type, so every option that
libcurl knows is settable without a hand-written list.  Callback options
install a trampoline from ``_callbacks`` whose clientp is this handle's
``EasyCallbacks``; exceptions raised in them come back from perform().
"""

from __future__ import annotations

import os
from typing import Any, Optional

from . import errors
from ._callbacks import EasyCallbacks, take_stray
from ._ffi import c_range, ffi, lib
from ._handle import Closable
from .constants import OPTIONS, InfoKind, Opt, OptionSpec, OptType, info_kind
from .errors import OptionError, error

_INFO_MAX = c_range("CURLINFO")[1]
_LONG_MIN, _LONG_MAX = c_range("long")
_OFF_T_MIN, _OFF_T_MAX = c_range("curl_off_t")

#: Callback option -> the EasyCallbacks attribute holding the user's callable.
_CALLBACK_ATTR = {
    int(Opt.OPENSOCKETFUNCTION): "opensocket",
    int(Opt.SOCKOPTFUNCTION): "sockopt",
    int(Opt.CLOSESOCKETFUNCTION): "closesocket",
    int(Opt.WRITEFUNCTION): "write",
    int(Opt.HEADERFUNCTION): "header",
    int(Opt.READFUNCTION): "read",
    int(Opt.SEEKFUNCTION): "seek",
    int(Opt.XFERINFOFUNCTION): "xferinfo",
    int(Opt.PROGRESSFUNCTION): "progress",
    int(Opt.DEBUGFUNCTION): "debug",
}
#: File-like data options -> (callback option, the method they provide).
_DATA_OPTIONS = {
    int(Opt.WRITEDATA): (int(Opt.WRITEFUNCTION), "write"),
    int(Opt.HEADERDATA): (int(Opt.HEADERFUNCTION), "write"),
    int(Opt.READDATA): (int(Opt.READFUNCTION), "read"),
}
#: opensocket and closesocket are installed together (see _callbacks: lifetimes).
_SOCKET_PAIR = (int(Opt.OPENSOCKETFUNCTION), int(Opt.CLOSESOCKETFUNCTION))
_POSTFIELDS = (int(Opt.POSTFIELDS), int(Opt.COPYPOSTFIELDS))
_PROGRESS = (int(Opt.XFERINFOFUNCTION), int(Opt.PROGRESSFUNCTION))
_MAXCONNECTS = int(Opt.MAXCONNECTS)
_MAXCONNECTS_DEFAULT = 5  # libcurl's DEFAULT_CONNCACHE_SIZE (CURLOPT_MAXCONNECTS(3))
#: Longest wait inside libcurl before perform() returns to Python, where a
#: signal handler (Ctrl-C) can run: milliseconds.
_PERFORM_STEP_MS = 100


#: InfoKind -> (the C out-parameter, its typed shim) for the scalar kinds.
_GETINFO_SCALAR = {
    InfoKind.LONG: ("long *", lib.pcb_easy_getinfo_long),
    InfoKind.DOUBLE: ("double *", lib.pcb_easy_getinfo_double),
    InfoKind.OFF_T: ("curl_off_t *", lib.pcb_easy_getinfo_off_t),
    InfoKind.SOCKET: ("curl_socket_t *", lib.pcb_easy_getinfo_socket),
}


def _address(handle: Any) -> int:
    """A CURL*'s address: how a CurlMulti finds the Curl of a pointer libcurl gives it."""
    return int(ffi.cast("uintptr_t", handle))


def _spec(option: Any) -> OptionSpec:
    if type(option) is bool or not isinstance(option, int):
        raise TypeError(f"option must be an int such as pycurlcb.URL, not {option!r}")
    spec = OPTIONS.get(option)
    if spec is None:
        raise OptionError(
            lib.CURLE_UNKNOWN_OPTION, f"unknown option {option}: this libcurl has no such CURLoption"
        )
    return spec


def _to_bytes(spec: OptionSpec, value: Any) -> bytes:
    if isinstance(value, str):
        data = value.encode("utf-8")
    elif isinstance(value, os.PathLike):
        data = os.fsencode(value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    else:
        raise TypeError(f"setopt({spec.name}) expects str or bytes, not {type(value).__name__}")
    if b"\0" in data:
        raise ValueError(f"setopt({spec.name}): the value contains a NUL byte")
    return data


def _int_in(spec: OptionSpec, value: Any, low: int, high: int, ctype: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"setopt({spec.name}) expects an int ({ctype}), not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"setopt({spec.name}): {value} does not fit a C {ctype}")
    return int(value)


def _slist_values(spec: OptionSpec, value: Any) -> list[bytes]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(
            f"setopt({spec.name}) expects a list of str or bytes, not {type(value).__name__}"
        )
    return [_to_bytes(spec, item) for item in value]


def _make_slist(items: list[bytes]) -> Any:
    slist = ffi.NULL
    for item in items:
        new = lib.curl_slist_append(slist, item)
        if new == ffi.NULL:
            lib.curl_slist_free_all(slist)
            raise MemoryError("curl_slist_append failed")
        slist = new
    return slist


class Curl(Closable):
    """A libcurl easy handle: ``import pycurlcb as pycurl; c = pycurl.Curl()``.

    Not thread-safe: use one Curl per thread (curl_easy_init(3), "threadsafe").
    ``close()`` is idempotent; the handle is also a context manager.
    """

    def __init__(self) -> None:
        self._handle = lib.curl_easy_init()
        if self._handle == ffi.NULL:
            raise MemoryError("curl_easy_init() failed")
        self._key = _address(self._handle)
        self._cb = EasyCallbacks()
        self._multi: Any = None  # the CurlMulti this handle is added to
        self._busy = False
        self._errbuf = ffi.new("char[]", lib.CURL_ERROR_SIZE)
        #: perform()'s own multi handle and connection cache, made on first use.
        self._perform_multi: Any = ffi.NULL
        self._init_state()

    def _init_state(self) -> None:
        """Per-handle settings the binding owns; after init, reset and duphandle."""
        self._slists: dict[int, tuple[Any, list[bytes]]] = {}
        self._installed: set[int] = set()
        self._private: Any = None
        self._maxconnects = _MAXCONNECTS_DEFAULT
        lib.pcb_easy_setopt_ptr(self._handle, int(Opt.ERRORBUFFER), self._errbuf)
        lib.pcb_easy_setopt_long(self._handle, int(Opt.NOSIGNAL), 1)

    # --- lifecycle -----------------------------------------------------------

    def _usable(self, what: str) -> Any:
        if self._handle == ffi.NULL:
            raise error(lib.CURLE_BAD_FUNCTION_ARGUMENT, f"cannot invoke {what}() - no curl handle")
        return self._handle

    def _idle(self, what: str) -> Any:
        handle = self._usable(what)
        if self._busy or (self._multi is not None and self._multi._busy):
            raise error(
                lib.CURLE_RECURSIVE_API_CALL,
                f"cannot invoke {what}() - a transfer of this handle is running",
            )
        return handle

    def close(self) -> None:
        """curl_easy_cleanup(3); idempotent.  Closes this handle's cached connections.

        Raises an exception that a closesocket callback raised while closing.
        """
        if self._handle == ffi.NULL:
            return
        self._idle("close")
        if self._multi is not None:
            self._multi.remove_handle(self)
        handle, self._handle = self._handle, ffi.NULL
        if self._perform_multi != ffi.NULL:  # closes cached connections: closesocket may run
            multi, self._perform_multi = self._perform_multi, ffi.NULL
            lib.curl_multi_cleanup(multi)
        lib.curl_easy_cleanup(handle)
        self._free_slists()
        exc = take_stray() or self._cb.take()
        self._cb.release()
        if exc is not None:
            raise exc

    def _free_slists(self) -> None:
        for slist, _ in self._slists.values():
            lib.curl_slist_free_all(slist)
        self._slists.clear()

    def reset(self) -> None:
        """curl_easy_reset(3): every option back to its default, callbacks dropped."""
        handle = self._idle("reset")
        lib.curl_easy_reset(handle)
        self._free_slists()
        self._cb.clear()
        self._init_state()
        self._sync_maxconnects()

    def duphandle(self) -> Curl:
        """curl_easy_duphandle(3): a new Curl with the same options and callbacks.

        The callables are shared; lists (HTTPHEADER ...) are rebuilt for the copy,
        so closing either handle never frees memory the other uses.
        """
        handle = self._idle("duphandle")
        new = Curl.__new__(Curl)
        new._handle = lib.curl_easy_duphandle(handle)
        if new._handle == ffi.NULL:
            raise MemoryError("curl_easy_duphandle() failed")
        new._key = _address(new._handle)
        new._cb = EasyCallbacks()
        new._multi = None
        new._busy = False
        new._errbuf = ffi.new("char[]", lib.CURL_ERROR_SIZE)
        new._perform_multi = ffi.NULL
        new._init_state()
        new._maxconnects = self._maxconnects
        new._cb.copy_from(self._cb)
        for fnoption in self._installed:
            new._install(fnoption)
        for option, (_, items) in self._slists.items():
            new.setopt(option, items)
        new._private = self._private
        return new

    # --- options ---------------------------------------------------------------

    def setopt(self, option: int, value: Any) -> None:
        """curl_easy_setopt(3) for any option the loaded libcurl knows.

        ``value`` by the option's type: int for long and off_t options
        (range-checked), str/bytes/PathLike for strings, a list of str/bytes
        for slists, bytes for blobs, a callable for the callback options, a
        file-like object for WRITEDATA/HEADERDATA/READDATA, any object for
        PRIVATE; ``None`` unsets (see unsetopt).  Raises TypeError or
        ValueError naming the option and what it expects, ``OptionError`` for
        an unknown or unsupported option, ``error`` if libcurl refuses.
        """
        handle = self._usable("setopt")
        spec = _spec(option)
        if value is None:
            self.unsetopt(option)
            return
        kind = spec.type
        if option in _CALLBACK_ATTR:
            if not callable(value):
                raise TypeError(f"setopt({spec.name}) expects a callable, not {type(value).__name__}")
            self._set_callback(option, value)
        elif option in _DATA_OPTIONS:
            fnoption, method = _DATA_OPTIONS[option]
            bound = getattr(value, method, None)
            if not callable(bound):
                raise TypeError(f"setopt({spec.name}) expects an object with a {method}() method")
            self._set_callback(fnoption, bound)
        elif option == int(Opt.PRIVATE):
            self._private = value
        elif option in _POSTFIELDS:
            data = value.encode("utf-8") if isinstance(value, str) else value
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"setopt({spec.name}) expects str or bytes, not {type(value).__name__}")
            data = bytes(data)
            errors.check(lib.pcb_easy_setopt_off_t(handle, int(Opt.POSTFIELDSIZE_LARGE), len(data)))
            errors.check(lib.pcb_easy_setopt_ptr(handle, int(Opt.COPYPOSTFIELDS), data))
        elif kind in (OptType.LONG, OptType.VALUES):
            v = _int_in(spec, value, _LONG_MIN, _LONG_MAX, "long")
            errors.check(lib.pcb_easy_setopt_long(handle, option, v))
            if option == _MAXCONNECTS:
                self._maxconnects = v
                self._sync_maxconnects()
        elif kind is OptType.OFF_T:
            v = _int_in(spec, value, _OFF_T_MIN, _OFF_T_MAX, "curl_off_t")
            errors.check(lib.pcb_easy_setopt_off_t(handle, option, v))
        elif kind is OptType.STRING:
            errors.check(lib.pcb_easy_setopt_ptr(handle, option, _to_bytes(spec, value)))
        elif kind is OptType.SLIST:
            self._set_slist(spec, value)
        elif kind is OptType.BLOB:
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise TypeError(f"setopt({spec.name}) expects bytes, not {type(value).__name__}")
            data = bytes(value)
            blob = ffi.new("struct curl_blob *", {"len": len(data), "flags": lib.CURL_BLOB_COPY})
            buf = ffi.from_buffer(data)
            blob.data = buf
            errors.check(lib.pcb_easy_setopt_ptr(handle, option, blob))
        else:
            raise OptionError(
                lib.CURLE_UNKNOWN_OPTION,
                f"setopt({spec.name}): options of type {kind.name} other than the ones listed in "
                "pycurlcb's docs are not supported by pycurlcb",
            )

    def unsetopt(self, option: int) -> None:
        """Reset a string, list, blob, object or callback option to libcurl's default.

        Long and off_t options have no "unset" in libcurl: TypeError, set a value.
        """
        handle = self._usable("unsetopt")
        spec = _spec(option)
        if option in _CALLBACK_ATTR:
            self._set_callback(option, None)
        elif option in _DATA_OPTIONS:
            self._set_callback(_DATA_OPTIONS[option][0], None)
        elif option == int(Opt.PRIVATE):
            self._private = None
        elif spec.type in (OptType.STRING, OptType.BLOB) or option in _POSTFIELDS:
            errors.check(lib.pcb_easy_setopt_ptr(handle, option, ffi.NULL))
        elif spec.type is OptType.SLIST:
            errors.check(lib.pcb_easy_setopt_ptr(handle, option, ffi.NULL))
            old = self._slists.pop(option, None)
            if old is not None:
                lib.curl_slist_free_all(old[0])
        else:
            raise TypeError(f"unsetopt({spec.name}): a {spec.type.name} option cannot be unset")

    def _set_slist(self, spec: OptionSpec, value: Any) -> None:
        items = _slist_values(spec, value)
        slist = _make_slist(items)
        rc = lib.pcb_easy_setopt_ptr(self._handle, spec.id, slist)
        if rc != lib.CURLE_OK:
            lib.curl_slist_free_all(slist)
            errors.check(rc)
        old = self._slists.get(spec.id)
        self._slists[spec.id] = (slist, items)
        if old is not None:
            lib.curl_slist_free_all(old[0])

    def _install(self, fnoption: int) -> None:
        errors.check(lib.pcb_easy_set_callback(self._handle, fnoption, self._cb.handle))
        self._installed.add(fnoption)

    def _uninstall(self, fnoption: int) -> None:
        errors.check(lib.pcb_easy_set_callback(self._handle, fnoption, ffi.NULL))
        self._installed.discard(fnoption)

    def _set_callback(self, fnoption: int, fn: Any) -> None:
        setattr(self._cb, _CALLBACK_ATTR[fnoption], fn)
        if fnoption in _SOCKET_PAIR:
            if self._cb.opensocket is None and self._cb.closesocket is None:
                for opt in _SOCKET_PAIR:
                    self._uninstall(opt)
            else:
                for opt in _SOCKET_PAIR:
                    self._install(opt)
        elif fn is None:
            self._uninstall(fnoption)
            if self._cb.xferinfo is None and self._cb.progress is None and fnoption in _PROGRESS:
                # setopt turned NOPROGRESS off for the callback: back to the default
                errors.check(lib.pcb_easy_setopt_long(self._handle, int(Opt.NOPROGRESS), 1))
        else:
            self._install(fnoption)
            if fnoption in _PROGRESS:
                errors.check(lib.pcb_easy_setopt_long(self._handle, int(Opt.NOPROGRESS), 0))

    # --- transfer ----------------------------------------------------------------

    def perform(self) -> None:
        """Transfer, blocking, as curl_easy_perform(3); the GIL is released while libcurl works.

        Driven on a private multi handle in steps of at most 100 ms, so Ctrl-C
        (KeyboardInterrupt) stops a stalled transfer promptly, even with no
        callback set; the handle stays usable.

        Raises the exception a callback raised (the same object, with the
        libcurl error added as a note), else ``error`` (or the subclass for
        its family) for a CURLcode other than CURLE_OK.
        """
        handle = self._idle("perform")
        if self._multi is not None:
            raise error(
                lib.CURLE_BAD_FUNCTION_ARGUMENT,
                "cannot invoke perform() - the handle is added to a CurlMulti",
            )
        multi = self._perform_multi
        if multi == ffi.NULL:
            multi = self._make_perform_multi()
        state, result = self._perform_state, self._perform_result
        state[0] = 0
        self._errbuf[0] = b"\0"
        self._cb.exc = None
        self._busy = True
        try:
            while state[0] != 2:
                errors.check_multi(lib.pcb_perform_step(multi, handle, _PERFORM_STEP_MS, state, result))
                if self._cb.exc is not None and state[0] == 1:
                    # A callback that cannot abort by its return value (debug) raised.
                    result[0] = lib.CURLE_ABORTED_BY_CALLBACK
                    break
        finally:
            if state[0] == 1:  # interrupted (Ctrl-C) or failed: take it out of the multi
                lib.curl_multi_remove_handle(multi, handle)
            self._busy = False
        self._raise_for(result[0])

    def _make_perform_multi(self) -> Any:
        multi = lib.curl_multi_init()
        if multi == ffi.NULL:
            raise MemoryError("curl_multi_init() failed")
        self._perform_multi = multi
        self._perform_state = ffi.new("int *")
        self._perform_result = ffi.new("CURLcode *")
        self._sync_maxconnects()
        return multi

    def _sync_maxconnects(self) -> None:
        # As curl_easy_perform(3) does (lib/easy.c): the easy option sizes its cache.
        if self._perform_multi != ffi.NULL:
            lib.pcb_multi_setopt_long(self._perform_multi, lib.CURLMOPT_MAXCONNECTS, self._maxconnects)

    def _outcome(self, rc: int) -> Optional[BaseException]:
        """What a transfer that ended with CURLcode ``rc`` raises, or None.

        A callback's exception comes first (with the libcurl error as a PEP 678
        note); else ``error`` for a CURLcode other than CURLE_OK.
        """
        exc = take_stray() or self._cb.take()
        if exc is not None:
            if hasattr(exc, "add_note"):
                if rc == lib.CURLE_OK:
                    exc.add_note("pycurlcb: raised in a callback; libcurl reported CURLE_OK")
                else:
                    err = errors.make_error(rc, self._errbuf)
                    exc.add_note(f"pycurlcb: the transfer was aborted: {err.name}: {err.args[1]}")
            return exc
        if rc != lib.CURLE_OK:
            return errors.make_error(rc, self._errbuf)
        return None

    def _raise_for(self, rc: int) -> None:
        exc = self._outcome(rc)
        if exc is not None:
            raise exc

    def perform_rb(self) -> bytes:
        """perform() and return the body as bytes (pycurl 7.43.0.2's perform_rb)."""
        chunks: list[bytes] = []
        saved = self._cb.write
        self._set_callback(int(Opt.WRITEFUNCTION), chunks.append)
        try:
            self.perform()
        finally:
            self._set_callback(int(Opt.WRITEFUNCTION), saved)
        return b"".join(chunks)

    def perform_rs(self) -> str:
        """perform() and return the body decoded as UTF-8 (pycurl's perform_rs)."""
        return self.perform_rb().decode("utf-8")

    def pause(self, bitmask: int) -> None:
        """curl_easy_pause(3); bitmask is PAUSE_RECV|PAUSE_SEND, PAUSE_ALL or PAUSE_CONT.

        Unpausing may deliver buffered data to the write callback at once; an
        exception it raises comes back from here.
        """
        handle = self._usable("pause")
        rc = lib.curl_easy_pause(handle, bitmask)
        if self._multi is not None:
            self._multi._raise_pending()
        self._raise_for(rc)

    # --- information ---------------------------------------------------------------

    def getinfo_raw(self, info: int) -> Any:
        """curl_easy_getinfo(3), strings as bytes.

        The Python type follows the info's kind: bytes or None (STRING), int
        (LONG, OFF_T, SOCKET), float (DOUBLE, seconds), list of bytes (SLIST),
        list of lists for CERTINFO; PRIVATE returns the object set with
        setopt(PRIVATE).  Raises ValueError for an int that is not a CURLINFO,
        ``error`` (CURLE_UNKNOWN_OPTION) for one this libcurl does not know.
        """
        handle = self._usable("getinfo")
        if type(info) is bool or not isinstance(info, int):
            raise TypeError(f"info must be an int such as pycurlcb.RESPONSE_CODE, not {info!r}")
        if not 0 < info <= _INFO_MAX:
            raise ValueError(f"{info!r} is not a CURLINFO value (expected 1 to {_INFO_MAX})")
        if info == lib.CURLINFO_PRIVATE:
            return self._private
        kind = info_kind(info)
        scalar = _GETINFO_SCALAR.get(kind)
        if scalar is not None:
            ctype, getinfo = scalar
            out = ffi.new(ctype)
            errors.check(getinfo(handle, info, out))
            return out[0]
        pout = ffi.new("void **")
        errors.check(lib.pcb_easy_getinfo_ptr(handle, info, pout))
        if kind is InfoKind.STRING:
            return None if pout[0] == ffi.NULL else ffi.string(ffi.cast("char *", pout[0]))
        if info == lib.CURLINFO_CERTINFO:
            certinfo = ffi.cast("struct curl_certinfo *", pout[0])
            if certinfo == ffi.NULL:
                return []
            return [_slist_items(certinfo.certinfo[i]) for i in range(certinfo.num_of_certs)]
        if info in (lib.CURLINFO_TLS_SESSION, lib.CURLINFO_TLS_SSL_PTR):
            raise OptionError(lib.CURLE_UNKNOWN_OPTION, "TLS backend pointers are not exposed")
        slist = ffi.cast("struct curl_slist *", pout[0])
        try:
            return _slist_items(slist)
        finally:
            lib.curl_slist_free_all(slist)

    def getinfo(self, info: int) -> Any:
        """curl_easy_getinfo(3) as in pycurl: like getinfo_raw, bytes decoded to str.

        CERTINFO returns, per certificate, a list of ``(key, value)`` str tuples.
        """
        value = self.getinfo_raw(info)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, list):
            if info == lib.CURLINFO_CERTINFO:
                return [
                    [tuple(i.decode("utf-8", "replace").split(":", 1)) for i in cert]
                    for cert in value
                ]
            return [i.decode("utf-8", "replace") for i in value]
        return value

    def errstr_raw(self) -> bytes:
        """The CURLOPT_ERRORBUFFER text of the last transfer, as bytes."""
        self._usable("errstr")
        return ffi.string(self._errbuf)  # type: ignore[no-any-return]

    def errstr(self) -> str:
        """The CURLOPT_ERRORBUFFER text of the last transfer ('' if none)."""
        return self.errstr_raw().decode("utf-8", "replace")


def _slist_items(slist: Any) -> list[bytes]:
    items = []
    while slist != ffi.NULL:
        items.append(ffi.string(slist.data))
        slist = slist.next
    return items
