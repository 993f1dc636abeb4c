"""CurlShare: one libcurl share handle (curl_share_init(3)), pycurl 7.49's interface.

Easy handles attached to one share (``curl.setopt(SHARE, share)``) use one
cookie store, DNS cache, TLS session cache, connection pool, PSL or HSTS
cache, whichever of those the share shares (``share.setopt(SH_SHARE,
LOCK_DATA_DNS)``, or ``share.share(LOCK_DATA_DNS, LOCK_DATA_CONNECT)``).
They may perform in different threads at once: libcurl's lock callbacks
are C functions on one mutex per kind of data (handles.c), with no Python
and no GIL involved.  libcurl does not support sharing the connection pool
(LOCK_DATA_CONNECT) or the HSTS cache between concurrent threads
(CURLSHOPT_SHARE(3)): share those only among Curls used by one thread at a
time.

Lifetimes: a Curl keeps its share alive (``curl.share()``); the share keeps
weak references to its Curls, for ``close()``.  On the C side each attached
easy handle holds a reference on the share, so whatever order the garbage
collector frees them in, the CURLSH outlives the easy handles using it.

``close()`` with ``detach_on_close`` (the default) first detaches every
attached Curl that is not in a transfer; a Curl in a transfer (perform()
running in another thread, or added to a CurlMulti) keeps the share open and
close() raises ``ShareError`` (CURLSHE_IN_USE).  ``detach_on_close=False``:
close() raises while any Curl is attached.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from . import errors
from ._failure import take_parked
from ._ffi import c_range, ffi, lib
from ._handle import Handle
from ._lifetime import after_finalisers, report_unraisable
from .constants import OPTION_IDS, SHARE_CONSTANTS
from .easy import Curl, easy_struct, in_transfer, kept, register_dup_hook, register_setter
from .errors import ShareError, error

_SHARE = OPTION_IDS["SHARE"]
_LONG_MIN, _LONG_MAX = c_range("long")
_INT_MIN, _INT_MAX = c_range("int")
#: The options setopt() takes, by value: SH_SHARE and SH_UNSHARE.
_OPTIONS = {lib.CURLSHOPT_SHARE: "SH_SHARE", lib.CURLSHOPT_UNSHARE: "SH_UNSHARE"}
#: The kinds of data this libcurl's header can share: value -> pycurl name.
LOCK_DATA = {v: k for k, v in SHARE_CONSTANTS.items() if k.startswith("LOCK_DATA_")}


#: ffi.gc's release of a CurlShare's cell (the CurlShare was collected):
#: pcb_share_release drops the CurlShare's reference; the C side frees the
#: CURLSH when the last easy handle using it lets go (handles.h).  Nothing of
#: the CurlShare's runs; closing pooled connections may call the closesocket
#: of the Curls that opened them, through the callback registry.  It runs
#: after the CurlShare's __del__ (_lifetime.after_finalisers).
_RELEASE = after_finalisers(lib.pcb_share_release)

#: The release of a finalised CurlShare's pin (pcb_share_unpin), run like the
#: cell's release: after the finalisers of a collection.
_UNPIN = after_finalisers(lib.pcb_share_unpin)


def _pin_until_freed(share: CurlShare) -> None:
    """Hold a C reference on ``share``'s struct until the object is really freed.

    A finaliser may resurrect its object (``saved.append(self)`` in a
    subclass __del__).  When that object was part of a garbage cycle, the
    collector runs the release of its cell too (it finalises the ffi.gc cdata
    with every other object of the cycle): the pin keeps the struct, and the
    cell pointing at it, for the resurrected object.  The pin is dropped by an
    ffi.gc cdata the object itself holds, made here: the collector did not see
    it when it chose what to finalise, so its release runs only when the object
    is really freed and its attributes are cleared, whenever that comes.

    Not a weak reference with a callback, as before: CPython 3.14 (and 3.13
    updates, gh-91636) clears weak references made during finalisation without
    calling their callbacks, so the pin stayed, and with it the libcurl share
    and its pooled connections.  Reference counting of an attribute has no
    such exception.
    """
    s = share._s
    lib.pcb_share_pin(s)
    share._pin = ffi.gc(s, _UNPIN)


def _lock_data(value: Any, what: str) -> int:
    if isinstance(value, (list, tuple)):
        raise TypeError(
            f"{what}: list/tuple arguments are not expanded; pass each LOCK_DATA_* constant "
            "individually"
        )
    if not isinstance(value, int):
        raise TypeError(f"{what}: arguments must be LOCK_DATA_* integers, not {type(value).__name__}")
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise OverflowError(f"{what}: {value} does not fit in a C long")
    if value not in LOCK_DATA:
        raise TypeError(
            f"{what}: {value!r} is not a kind of data this libcurl shares; expected one of "
            + ", ".join(LOCK_DATA[v] for v in sorted(LOCK_DATA))
        )
    return int(value)


class CurlShare(Handle):
    """A libcurl share handle: ``s = pycurl.CurlShare()``.

    ``detach_on_close`` (keyword only, default True): close() detaches the
    Curls still attached instead of refusing.  Thread-safe: its methods, and
    transfers of the Curls attached to it, may run in any threads at once.
    pycurl's share constants are readable on instances (``s.SH_SHARE``).
    """

    #: struct pcb_share *[1], owned through ffi.gc (_RELEASE)
    _cell: Any
    _release: Any
    #: Serialises setopt/share/unshare/close and the attaching of Curls
    #: (pycurl's api_lock); re-entrant for a closesocket callback that runs
    #: inside close() and uses this share.
    _lock: threading.RLock
    #: The Curls attached to this share (close() detaches them).
    _easies: weakref.WeakSet[Curl]
    _detach_on_close: bool
    #: Set by __del__ (_pin_until_freed): the pin's release, run when freed.
    _pin: Any

    def __new__(cls, *args: Any, **kwargs: Any) -> CurlShare:
        # Made here, not in __init__ (pycurl makes its objects in tp_new).
        self = super().__new__(cls)
        s = lib.pcb_share_new()
        if s == ffi.NULL:
            raise error(lib.CURLE_FAILED_INIT, "initializing curl-share failed")
        self._cell = ffi.new("struct pcb_share *[1]", [s])
        self._release = ffi.gc(self._cell, _RELEASE)
        self._lock = threading.RLock()
        self._easies = weakref.WeakSet()
        self._detach_on_close = True
        self._ready = True
        return self

    def __init__(self, *, detach_on_close: bool = True) -> None:
        self._detach_on_close = bool(detach_on_close)

    # --- lifecycle ------------------------------------------------------------

    @property
    def _s(self) -> Any:
        """The struct pcb_share (closed for good once released)."""
        return self._cell[0]

    @property
    def closed(self) -> bool:
        """True once close() has freed the libcurl share handle."""
        return bool(self._s.sh == ffi.NULL)

    def close(self) -> None:
        """curl_share_cleanup(3); idempotent.

        With ``detach_on_close``, first detaches every attached Curl that is
        not in a transfer (their ``share()`` becomes None; they stay usable).
        Raises ``ShareError`` (CURLSHE_IN_USE) and leaves the share open if a
        Curl is still attached: one in a transfer, or any with
        ``detach_on_close=False``.  Closes the shared connections, so their
        closesocket callbacks may run.
        """
        with self._lock:
            if self.closed:
                return
            live = 0
            for curl in list(self._easies):
                if curl.closed or kept(curl).get(_SHARE) is not self:
                    self._easies.discard(curl)  # closed, reset, or unshared since
                elif self._detach_on_close and not _in_transfer(curl):
                    _detach(curl)
                    self._easies.discard(curl)
                else:
                    live += 1
            if live:
                raise ShareError(
                    lib.CURLSHE_IN_USE,
                    f"cannot close CurlShare: still in use by {live} active Curl "
                    f"object{'' if live == 1 else 's'}",
                )
            rc = lib.pcb_share_close(self._s)
        message = None
        if rc == lib.CURLSHE_IN_USE:  # an easy handle whose Curl is being collected
            message = "cannot close CurlShare: libcurl reports an easy handle still attached"
        exc = errors.outcome(rc, cause=take_parked(), message=message, cls=ShareError)
        if exc is not None:
            raise exc

    def __del__(self) -> None:
        # pycurl's finaliser: curl_share_cleanup without detaching anything.
        # A Curl still attached (a garbage cycle finalised in the other order)
        # makes libcurl refuse: the share stays open, and a later close() or
        # the last reference frees it.
        if not self._ready:
            return
        _pin_until_freed(self)
        lib.pcb_share_close(self._s)
        exc = take_parked()  # a closesocket callback's KeyboardInterrupt
        if exc is not None:
            report_unraisable(exc, f"{type(self).__name__}.__del__", self)

    def _handle(self, what: str) -> Any:
        if self.closed:
            raise ShareError(lib.CURLSHE_INVALID, f"cannot invoke {what}() - no share handle")
        return self._s

    # --- options --------------------------------------------------------------

    def setopt(self, option: int, value: int) -> None:
        """curl_share_setopt(3): ``setopt(SH_SHARE, LOCK_DATA_DNS)``, or SH_UNSHARE.

        ``value`` is one of the LOCK_DATA_* constants.  Raises TypeError for
        any other option or value, ``ShareError`` if the share is closed or
        libcurl refuses (CURLSHE_IN_USE: libcurl does not change what a share
        shares while a Curl is attached to it).
        """
        if not isinstance(option, int):
            raise TypeError(f"setopt() option must be SH_SHARE or SH_UNSHARE, not {type(option).__name__}")
        if not isinstance(value, int):
            raise TypeError(f"setopt() value must be a LOCK_DATA_* integer, not {type(value).__name__}")
        if not _INT_MIN <= option <= _INT_MAX:
            raise OverflowError(f"setopt(): option {option} does not fit in a C int")
        name = _OPTIONS.get(option)
        if name is None and option <= 0:
            raise TypeError(f"setopt(): {option!r} is not SH_SHARE or SH_UNSHARE")
        if not _LONG_MIN <= value <= _LONG_MAX:  # pycurl's order of checks
            raise OverflowError(f"setopt(): {value} does not fit in a C long")
        if name is None:
            raise TypeError(f"setopt(): {option!r} is not SH_SHARE or SH_UNSHARE")
        self._apply(option, (value,), "setopt", f"setopt({name})")

    def share(self, *lock_data: int) -> None:
        """Share each kind of data given: ``s.share(LOCK_DATA_COOKIE, LOCK_DATA_DNS)``.

        setopt(SH_SHARE, d) for each d, in order (a failure leaves the ones
        before it applied).  Raises TypeError for no argument, a list or
        tuple, or an int that is not a LOCK_DATA_* value; ``ShareError`` as
        setopt().
        """
        self._apply(lib.CURLSHOPT_SHARE, lock_data, "share", "share()")

    def unshare(self, *lock_data: int) -> None:
        """Stop sharing each kind of data given (setopt(SH_UNSHARE, d) for each d)."""
        self._apply(lib.CURLSHOPT_UNSHARE, lock_data, "unshare", "unshare()")

    def _apply(self, option: int, lock_data: tuple[Any, ...], method: str, what: str) -> None:
        if not lock_data:
            raise TypeError(f"{what}: at least one LOCK_DATA_* argument required")
        with self._lock:
            s = self._handle(method)
            for value in lock_data:
                rc = lib.pcb_share_setopt_long(s, option, _lock_data(value, what))
                if rc:
                    detail = f"{what} {LOCK_DATA[value]}: {errors.share_strerror(rc)}"
                    raise ShareError(rc, detail)

    # --- Curl.setopt(SHARE, ...) --------------------------------------------------

    def _attach(self, curl: Curl) -> None:
        with self._lock:
            if self.closed:
                raise error("CurlShare is closed")
            errors.check(lib.pcb_easy_set_share(easy_struct(curl), self._s), easy_struct(curl).errbuf)
            kept(curl)[_SHARE] = self
            self._easies.add(curl)


def _in_transfer(curl: Curl) -> bool:
    """A Curl close() must not detach: perform() running (in another thread),
    or added to a CurlMulti (its transfer may be under way; libcurl would go
    on with a connection of the freed share)."""
    return in_transfer(curl)


def _detach(curl: Curl) -> None:
    errors.check(lib.pcb_easy_set_share(easy_struct(curl), ffi.NULL), easy_struct(curl).errbuf)
    kept(curl).pop(_SHARE, None)


def _set_share(curl: Curl, value: Any) -> None:
    """Curl.setopt(SHARE, share)."""
    if not isinstance(value, CurlShare):
        raise TypeError(f"setopt(SHARE) expects a CurlShare, not {type(value).__name__}")
    if kept(curl).get(_SHARE) is not None:  # as pycurl, even for the same share
        raise error(
            lib.CURLE_BAD_FUNCTION_ARGUMENT,
            "Curl object already sharing. Unshare first.",
        )
    value._attach(curl)


def _unset_share(curl: Curl) -> None:
    """Curl.unsetopt(SHARE) and setopt(SHARE, None)."""
    share = kept(curl).get(_SHARE)
    if share is None:
        return
    with share._lock:
        _detach(curl)
        share._easies.discard(curl)


def _dup_share(src: Curl, dup: Curl) -> None:
    """duphandle(): pcb_easy_new attached the copy to the share; register it."""
    share = kept(dup).get(_SHARE)
    if share is not None:
        with share._lock:
            share._easies.add(dup)


register_setter(_SHARE, _set_share, _unset_share)
register_dup_hook(_dup_share)

for _name, _value in SHARE_CONSTANTS.items():
    setattr(CurlShare, _name, _value)  # pycurl's constants, readable on shares: s.SH_SHARE
