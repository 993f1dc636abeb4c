"""CurlMulti: one libcurl multi handle (curl_multi_init(3)), pycurl-compatible.

The socket interface: M_SOCKETFUNCTION is called as ``fn(what, fd, multi,
socketp)`` (pycurl's order), M_TIMERFUNCTION as ``fn(timeout_ms)``; the
application waits on the fds and calls ``socket_action(fd, ev_bitmask)``.

Errors: an exception raised in a multi callback, or in a callback of a Curl
this multi drives, is re-raised by the call that drove it (socket_action,
perform, add_handle, remove_handle, close) as the same object; the Curl's
transfer alone is failed (its callback returned the abort value), others go
on.  A multi callback that raises or returns -1 makes libcurl abort every
transfer of this multi (CURLMOPT_SOCKETFUNCTION(3)).

Lifetimes: the multi holds a strong reference to every Curl added to it; its
own callbacks' clientp lives as long as it does, so they may fire from
add_handle, remove_handle, pause and close (POLL_REMOVE during
curl_multi_cleanup).  A closed Curl whose connection sits in this multi's
cache keeps its callbacks alive until libcurl closes that socket.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Optional

from . import errors
from ._callbacks import EasyCallbacks, MultiCallbacks, has_stray, take_stray
from ._ffi import c_range, ffi, lib
from ._handle import Closable
from .constants import MOPT_LONG, MOPT_OBJECTPOINT, MOPT_OFF_T, MOpt
from .easy import Curl, _address
from .errors import MultiError, OptionError, error

_LONG_MIN, _LONG_MAX = c_range("long")
_OFF_MIN, _OFF_MAX = c_range("curl_off_t")
_CALLBACK_ATTR = {
    int(MOpt.SOCKETFUNCTION): "socket",
    int(MOpt.TIMERFUNCTION): "timer",
}


class CurlMulti(Closable):
    """A libcurl multi handle: ``m = pycurlcb.CurlMulti()``.

    ``close_handles``: when true, close() also closes every Curl still added
    (pycurl's ``CurlMulti(close_handles=True)``).
    """

    def __init__(self, close_handles: bool = False) -> None:
        self._handle = lib.curl_multi_init()
        if self._handle == ffi.NULL:
            raise MemoryError("curl_multi_init() failed")
        self.close_handles = close_handles
        self._cb = MultiCallbacks(weakref.ref(self))
        self._curls: dict[int, Curl] = {}  # CURL* address -> Curl
        self._out = ffi.new("int[2]")  # out-parameters: running handles, messages queued
        self._failed: list[EasyCallbacks] = []  # Curls whose callback raised
        #: Raise a Curl callback's exception from the driving call (True), or
        #: leave it on the Curl for whoever collects the result (AsyncCurlMulti).
        self._raise_easy_errors = True
        self._busy = False
        #: A socket callback returned -1: libcurl aborted every transfer and
        #: 7.88.1 crashes if driven again; only remove_handle and close remain.
        self._dead = False

    # --- lifecycle ------------------------------------------------------------

    def _usable(self, what: str) -> Any:
        if self._handle == ffi.NULL:
            raise error(lib.CURLE_BAD_FUNCTION_ARGUMENT, f"cannot invoke {what}() - multi-stack is closed")
        if self._busy:
            raise MultiError(
                lib.CURLM_RECURSIVE_API_CALL,
                f"cannot invoke {what}() from inside a callback of this CurlMulti",
            )
        return self._handle

    def close(self) -> None:
        """Remove every Curl, then curl_multi_cleanup(3); idempotent.

        Socket callbacks (POLL_REMOVE) and closesocket callbacks may run here;
        an exception from them is raised after the cleanup is complete.
        With ``close_handles`` the removed Curls are closed too.
        """
        if self._handle == ffi.NULL:
            return
        self._usable("close")
        curls = list(self._curls.values())
        for curl in curls:
            self._remove(curl)
        handle = self._handle
        self._busy = True
        try:
            lib.curl_multi_cleanup(handle)
        finally:
            self._busy = False
            self._handle = ffi.NULL
            self._cb.assigned.clear()
        if self.close_handles:
            for curl in curls:
                curl.close()
        self._raise_pending()

    def __contains__(self, curl: object) -> bool:
        return isinstance(curl, Curl) and curl._multi is self

    # --- errors ---------------------------------------------------------------

    def _drivable(self, what: str) -> Any:
        """The handle, for a call that makes libcurl run transfers."""
        handle = self._usable(what)
        if self._dead:
            raise MultiError(
                lib.CURLM_ABORTED_BY_CALLBACK,
                f"cannot invoke {what}() - the socket callback returned -1, libcurl aborted every "
                "transfer of this multi; remove them and close it",
            )
        return handle

    def _check_rc(self, rc: int) -> None:
        """check_multi, noting a multi that libcurl has given up (-1 from a callback)."""
        if rc == lib.CURLM_ABORTED_BY_CALLBACK:
            self._dead = True
        errors.check_multi(rc)

    def _raise_pending(self) -> None:
        """Raise a multi callback's exception, else the first Curl callback's.

        First the transfers whose socket callback raised are removed: failed.
        """
        cb = self._cb
        if not (cb.doomed or cb.exc is not None or self._failed or has_stray()):
            return
        doomed, cb.doomed = cb.doomed, []
        for easy in doomed:
            curl = self._curls.get(_address(easy))
            if curl is not None:
                self._remove(curl)
        exc = take_stray() or self._cb.take()
        while exc is None and self._failed:
            exc = self._failed.pop(0).take()
        if exc is not None:
            raise exc

    # --- options --------------------------------------------------------------

    def setopt(self, option: int, value: Any) -> None:
        """curl_multi_setopt(3); every CURLMoption of the installed headers.

        M_SOCKETFUNCTION and M_TIMERFUNCTION take a callable (None removes
        it); long options an int, passed to libcurl as a C long.  Raises
        TypeError/ValueError naming the option, OptionError for an unknown or
        unsupported one, MultiError if libcurl refuses.
        """
        handle = self._usable("setopt")
        if type(option) is bool or not isinstance(option, int):
            raise TypeError(f"option must be an int such as pycurlcb.M_MAXCONNECTS, not {option!r}")
        try:
            name = MOpt(option).name
        except ValueError:
            raise OptionError(lib.CURLE_UNKNOWN_OPTION, f"unknown multi option {option}") from None
        if option in _CALLBACK_ATTR:
            if value is not None and not callable(value):
                raise TypeError(f"setopt(M_{name}) expects a callable, not {type(value).__name__}")
            setattr(self._cb, _CALLBACK_ATTR[option], value)
            wanted = self._cb.socket is not None or self._cb.timer is not None
            errors.check_multi(
                lib.pcb_multi_set_callbacks(handle, self._cb.handle if wanted else ffi.NULL)
            )
        elif MOPT_LONG <= option < MOPT_OBJECTPOINT or option >= MOPT_OFF_T:
            is_long = option < MOPT_OBJECTPOINT
            ctype, low, high = (
                ("long", _LONG_MIN, _LONG_MAX) if is_long else ("curl_off_t", _OFF_MIN, _OFF_MAX)
            )
            if type(value) is bool:
                value = int(value)
            if not isinstance(value, int):
                raise TypeError(f"setopt(M_{name}) expects an int ({ctype}), not {type(value).__name__}")
            if not low <= value <= high:
                raise ValueError(f"setopt(M_{name}): {value} does not fit a C {ctype}")
            setter = lib.pcb_multi_setopt_long if is_long else lib.pcb_multi_setopt_off_t
            errors.check_multi(setter(handle, option, value))
        else:
            raise OptionError(
                lib.CURLE_UNKNOWN_OPTION, f"setopt(M_{name}) is managed by or not supported in pycurlcb"
            )

    # --- handles ----------------------------------------------------------------

    def add_handle(self, curl: Curl) -> None:
        """curl_multi_add_handle(3).  The multi keeps ``curl`` alive until removed.

        Raises error if ``curl`` is closed or already in a CurlMulti; the timer
        callback may run from here and its exception is raised.
        """
        handle = self._drivable("add_handle")
        if not isinstance(curl, Curl):
            raise TypeError(f"add_handle() expects a Curl, not {type(curl).__name__}")
        easy = curl._idle("add_handle")
        if curl._multi is not None:
            raise error(lib.CURLE_BAD_FUNCTION_ARGUMENT, "curl object already on a multi-stack")
        self._attach(curl)
        rc = self._drive(lib.curl_multi_add_handle, handle, easy)
        if rc != lib.CURLM_OK:
            self._detach(curl)
        self._raise_pending()
        self._check_rc(rc)

    def _attach(self, curl: Curl) -> None:
        self._curls[curl._key] = curl
        curl._multi = self
        curl._cb.home = self._failed
        curl._cb.sink = self._failed if self._raise_easy_errors else None
        curl._cb.exc = None
        curl._errbuf[0] = b"\0"

    def _detach(self, curl: Curl) -> None:
        self._curls.pop(curl._key, None)
        curl._multi = None
        curl._cb.sink = None

    def remove_handle(self, curl: Curl) -> None:
        """curl_multi_remove_handle(3); the multi drops its reference to ``curl``.

        Callbacks may run from here; their exception is raised after removal.
        """
        self._usable("remove_handle")
        if not isinstance(curl, Curl):
            raise TypeError(f"remove_handle() expects a Curl, not {type(curl).__name__}")
        if curl._multi is not self:
            raise error(lib.CURLE_BAD_FUNCTION_ARGUMENT, "curl object not on this multi-stack")
        rc = self._remove(curl)
        self._raise_pending()
        errors.check_multi(rc)

    def _remove(self, curl: Curl) -> int:
        rc: int = self._drive(lib.curl_multi_remove_handle, self._handle, curl._handle)
        if rc == lib.CURLM_OK:
            self._detach(curl)
        return rc

    def _drive(self, fn: Callable[..., int], *args: Any) -> int:
        """Call into libcurl with callbacks allowed to run, re-entry refused."""
        self._busy = True
        try:
            return fn(*args)
        finally:
            self._busy = False

    # --- driving ------------------------------------------------------------------

    def _socket_action(self, fd: int, ev_bitmask: int) -> tuple[int, int]:
        out = self._out
        rc = self._drive(lib.curl_multi_socket_action, self._handle, fd, ev_bitmask, out)
        return rc, out[0]

    def socket_action(self, fd: int, ev_bitmask: int) -> tuple[int, int]:
        """curl_multi_socket_action(3): ``(ret, running_handles)``.

        ``fd`` is a socket or SOCKET_TIMEOUT; ``ev_bitmask`` CSELECT_IN|OUT|ERR
        or 0.  Raises the exception of a callback that ran, else MultiError.
        """
        self._drivable("socket_action")
        rc, running = self._socket_action(fd, ev_bitmask)
        self._raise_pending()
        self._check_rc(rc)
        return rc, running

    def socket_all(self) -> tuple[int, int]:
        """socket_action(SOCKET_TIMEOUT, 0): let libcurl act on every due transfer."""
        return self.socket_action(lib.CURL_SOCKET_TIMEOUT, 0)

    def perform(self) -> tuple[int, int]:
        """curl_multi_perform(3): ``(ret, num_handles)`` as pycurl."""
        handle = self._drivable("perform")
        running = ffi.new("int *")
        rc = self._drive(lib.curl_multi_perform, handle, running)
        self._raise_pending()
        self._check_rc(rc)
        return rc, running[0]

    def timeout(self) -> int:
        """curl_multi_timeout(3): milliseconds until socket_action(SOCKET_TIMEOUT), -1 for none."""
        handle = self._usable("timeout")
        out = ffi.new("long *")
        errors.check_multi(lib.curl_multi_timeout(handle, out))
        return int(out[0])

    def select(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for activity on this multi's sockets.

        curl_multi_poll(3) with the GIL released; returns the number of
        sockets with activity.  For the perform() style, not with socket_action.
        """
        handle = self._usable("select")
        if not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f"select() expects a timeout in seconds >= 0, not {timeout!r}")
        numfds = ffi.new("int *")
        errors.check_multi(lib.curl_multi_poll(handle, ffi.NULL, 0, int(timeout * 1000), numfds))
        return int(numfds[0])

    def fdset(self) -> tuple[list[int], list[int], list[int]]:
        """curl_multi_fdset(3) as pycurl: ``(read_fds, write_fds, exc_fds)``."""
        handle = self._usable("fdset")
        cap = lib.PCB_FD_SETSIZE
        r, w, e = ffi.new("int[]", cap), ffi.new("int[]", cap), ffi.new("int[]", cap)
        nr, nw, ne = ffi.new("int *"), ffi.new("int *"), ffi.new("int *")
        errors.check_multi(lib.pcb_multi_fdset(handle, r, w, e, cap, nr, nw, ne))
        return list(r[0 : nr[0]]), list(w[0 : nw[0]]), list(e[0 : ne[0]])

    def info_read(
        self, max_objects: Optional[int] = None
    ) -> tuple[int, list[Curl], list[tuple[Curl, int, str]]]:
        """curl_multi_info_read(3): ``(num_queued, ok_list, err_list)`` as pycurl.

        ok_list holds the Curls that completed; err_list ``(curl, code,
        message)`` for those that failed, message the Curl's error buffer or
        curl_easy_strerror(code).  At most ``max_objects`` messages are read.
        """
        handle = self._usable("info_read")
        if max_objects is not None and (not isinstance(max_objects, int) or max_objects < 1):
            raise ValueError(f"info_read() expects max_objects >= 1, not {max_objects!r}")
        queued = self._out + 1
        ok: list[Curl] = []
        err: list[tuple[Curl, int, str]] = []
        while max_objects is None or len(ok) + len(err) < max_objects:
            msg = lib.curl_multi_info_read(handle, queued)
            if msg == ffi.NULL:
                break
            if msg.msg != lib.CURLMSG_DONE:
                continue
            curl = self._curls[_address(msg.easy_handle)]
            code = msg.data.result
            if code == lib.CURLE_OK:
                ok.append(curl)
            else:
                err.append((curl, code, errors.make_error(code, curl._errbuf).args[1]))
        return int(queued[0]), ok, err

    def assign(self, fd: int, obj: Any) -> None:
        """curl_multi_assign(3): ``obj`` is passed as socketp to the socket callback for ``fd``.

        The multi keeps a strong reference until unassign(fd), a new assign,
        the socket's POLL_REMOVE, or close().  May be called from inside the
        socket callback; the value is seen from the next callback on.  None
        is the same as unassign(fd).
        """
        handle = self._handle
        if handle == ffi.NULL:
            raise error(lib.CURLE_BAD_FUNCTION_ARGUMENT, "cannot invoke assign() - multi-stack is closed")
        if obj is None:
            self.unassign(fd)
            return
        entry = (obj, ffi.new_handle(obj))
        errors.check_multi(lib.curl_multi_assign(handle, fd, entry[1]))
        self._cb.assigned[fd] = entry

    def unassign(self, fd: int) -> None:
        """Forget the object assigned to ``fd`` (curl_multi_assign(fd, NULL))."""
        handle = self._handle
        if handle == ffi.NULL:
            raise error(lib.CURLE_BAD_FUNCTION_ARGUMENT, "cannot invoke unassign() - multi-stack is closed")
        known = self._cb.assigned.pop(fd, None) is not None
        rc = lib.curl_multi_assign(handle, fd, ffi.NULL)
        if rc != lib.CURLM_OK and not known:
            errors.check_multi(rc)

    def handles(self) -> list[Curl]:
        """The Curls currently added, in the order they were added."""
        return list(self._curls.values())

