"""CurlMulti: one libcurl multi handle (curl_multi_init(3)), pycurl 7.49's interface.

The socket interface: M_SOCKETFUNCTION is called as ``fn(what, fd, multi,
socketp)`` (pycurl's order), M_TIMERFUNCTION as ``fn(timeout_ms)``; the
application waits on the fds and calls ``socket_action(fd, ev_bitmask)``.

Errors (the exception contract):

* an exception raised in a callback of a Curl this multi drives fails that
  transfer alone: no driving call raises it; ``info_read()`` lists the Curl in
  its error list and ``curl.callback_error`` holds the exception;
* an exception raised in this multi's own socket or timer callback (or a -1
  returned by the timer callback) is raised by the call that ran it as
  ``MultiError`` (CURLM_ABORTED_BY_CALLBACK) with the exception as
  ``__cause__``; the transfer whose socket callback failed is removed, the
  others go on (libcurl is not handed -1, which crashes 7.88.1 later);
* KeyboardInterrupt and SystemExit from any callback are raised as themselves.

Lifetimes: the multi holds a strong reference to every Curl added to it, each
Curl a weak one to its multi; its callbacks may fire from add_handle,
remove_handle, pause and close (POLL_REMOVE during curl_multi_cleanup).
"""

from __future__ import annotations

import threading
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Callable, Optional, cast

from . import _callbacks, _features, errors
from ._callbacks import MultiCallbacks, slot
from ._convert import INT_MAX, INT_MIN, LONG_MAX, LONG_MIN, OFF_T_MAX, OFF_T_MIN, int_in, option_text
from ._failure import has_parked, take_failure, take_parked
from ._ffi import ffi, lib
from ._handle import Handle
from ._lifetime import after_finalisers, reactivate, register, report_unraisable, unregister
from .constants import MOPT_LONG, MOPT_OBJECTPOINT, MOPT_OFF_T, MULTI_CONSTANTS, MOpt
from .easy import TRAMPOLINES, WRITE_FAILED, Curl, refused_error
from .errors import MULTI_ABORTED_BY_CALLBACK, MultiError, error

if TYPE_CHECKING:
    from ._callbacks import OptionRow

#: Callback option id -> its row of the callback table (multi rows this build has).
CALLBACK_ROWS = cast("dict[int, OptionRow]", {
    int(getattr(MOpt, row.option)): row
    for row in _callbacks.ROWS.values()
    if row.owner == "multi" and row.option is not None and row.option in MOpt.__members__
})
#: Options whose value is a NULL-terminated char ** (CURLMOPT_PIPELINING_SITE_BL ...).
_STRING_ARRAYS = frozenset(
    int(getattr(MOpt, n)) for n in ("PIPELINING_SITE_BL", "PIPELINING_SERVER_BL") if n in MOpt.__members__
)


#: Bulk bodies (bulk.h) in a CurlMulti: only where libcurl hands a transfer
#: more than one chunk per driving call (7.88.1: a whole 1 MiB body in one
#: call; 8.5.0 up to 100 chunks, 8.21.0 up to 10); 7.73.0-7.81.0 read one
#: chunk of a plain HTTP body per call, so buffering would only add a copy.
#: The loaded libcurl decides (docs/performance.md).
_MULTI_BULK = _features.available("multi_bulk")

#: struct pcb_multi -> its clientp, for _release (which only gets the struct).
_KEYS: dict[Any, Any] = {}


def _release(
    cell: Any,
    keys: dict[Any, Any] = _KEYS,
    as_ptr: Callable[[str, Any], Any] = ffi.cast,
    forget: Callable[[Any], None] = unregister,
    released: Callable[[], Any] = lib.pcb_multi_released,
    free: Callable[[Any], None] = lib.pcb_multi_free,
) -> None:
    """ffi.gc's release of a CurlMulti's cell: it was collected without close().

    No Python runs from here on (its clientp is unregistered first).  The
    cell is left pointing at a multi closed for good (handles.h).  (The
    defaults bind what it needs: at interpreter exit the module's globals may
    already be gone.)
    """
    m, cell[0] = cell[0], released()
    clientp = keys.pop(as_ptr("void *", m), None)
    if clientp is not None:
        forget(clientp)
    free(m)


#: _release as ffi.gc runs it: after the CurlMulti's __del__ (_lifetime.after_finalisers).
_RELEASE = after_finalisers(_release)



def _c_int_arg(call: str, name: str, value: Any, expected: str) -> None:
    """Raise TypeError/OverflowError for argument ``name`` of ``call`` if it is not a
    C int (``expected`` says what it should be), instead of cffi's unnamed one."""
    int_in(value, INT_MIN, INT_MAX, "{call}() {name} must be an int ({expected}), not {type}",
           "{call}() {name} {value} does not fit in a C int ({expected})",
           call=call, name=name, expected=expected)

class CurlMulti(MultiCallbacks, Handle):
    """A libcurl multi handle: ``m = pycurl.CurlMulti()``.

    ``close_handles`` (keyword only): when true, close() also closes every
    Curl still added (pycurl's ``CurlMulti(close_handles=True)``).
    """

    #: The thread inside a call into libcurl that may run callbacks, or None.
    _running: Optional[int] = None
    close_handles = False
    #: Told when a transfer leaves this multi behind its driver's back (AsyncCurlMulti
    #: sets it): called as ``fn(curl, False)`` at the end of ``curl.close()`` that
    #: removed ``curl`` from here, ``fn(curl, True)`` after remove_handle(curl), and
    #: ``fn(None, False)`` at the end of ``close()``.  Never called by a driving call.
    _on_leave: Optional[Callable[[Optional[Curl], bool], None]] = None
    # Set in __new__:
    _cell: Any  # struct pcb_multi *[1], owned through ffi.gc (_release)
    _release: Any
    _clientp: Any
    _curls: dict[Any, Curl]  # CURL* -> Curl, in the order they were added
    _weakself: weakref.ref[CurlMulti]
    _out: Any
    _arrays: dict[int, Any]
    _dead: bool
    #: The SSRF policy attached to this multi (ssrf.Policy.attach), guarding every Curl added.
    _policy: Any = None

    def __new__(cls, *args: Any, **kwargs: Any) -> CurlMulti:
        self = super().__new__(cls)
        m = lib.pcb_multi_new()
        if m == ffi.NULL:
            raise error("initializing curl-multi failed")
        self._cell = ffi.new("struct pcb_multi *[1]", [m])
        self._release = ffi.gc(self._cell, _RELEASE)
        self._init_callbacks()
        self._clientp = register(self)
        _KEYS[ffi.cast("void *", m)] = self._clientp
        self._curls = {}  # CURL* -> Curl, in the order they were added
        self._weakself = weakref.ref(self)  # what the Curls added here point back with
        self._out = ffi.new("int[2]")  # out-parameters: running handles, messages queued
        self._arrays = {}  # option -> the char ** libcurl points into
        #: A socket callback returned -1: libcurl aborted every transfer and
        #: 7.88.1 crashes if driven again; only remove_handle and close remain.
        self._dead = False
        self._ready = True
        return self

    def __init__(self, *, close_handles: bool = False) -> None:
        self.close_handles = bool(close_handles)

    # --- lifecycle ------------------------------------------------------------

    @property
    def _m(self) -> Any:
        """The struct pcb_multi (closed for good once released)."""
        return self._cell[0]

    @property
    def closed(self) -> bool:
        """True once close() has run."""
        return bool(self._m.m == ffi.NULL)

    def _handle(self, what: str) -> Any:
        m = self._m.m
        if m == ffi.NULL:
            raise error(f"cannot invoke {what}() - multi-stack is closed")
        if self._running is not None:
            raise error(f"cannot invoke {what}() - multi_perform() is currently running")
        return m

    def close(self) -> None:
        """Remove every Curl, then curl_multi_cleanup(3); idempotent.

        Closing is teardown, as in pycurl: socket and timer callbacks (and the
        callbacks of the Curls being removed) may run, and what they raise
        goes to ``sys.unraisablehook``, not to the caller.  With
        ``close_handles`` the removed Curls are closed too.  The CurlMulti of
        an AsyncCurlMulti (``curl.multi()``) closed this way fails every
        future still pending there with ``error("multi-stack closed while the
        transfer was running")`` and leaves the AsyncCurlMulti closed.
        """
        if self._m.m == ffi.NULL:
            return
        self._handle("close")
        reactivate(self._clientp, self)  # a finaliser: the collector cleared it
        curls = list(self._curls.values())
        failures: list[BaseException] = []
        for curl in curls:  # what their callbacks raise from here on is teardown's
            curl._exc = None
            reactivate(curl._clientp, curl)  # a finaliser: see close() above
        self._running = threading.get_ident()
        try:
            for curl in curls:
                self._detach(curl)
            lib.pcb_multi_close(self._m)  # closes the cached connections: closesocket runs
        finally:
            # _take() returns the _exc just tested (a cast: close() is no hot path)
            failures.extend(cast(BaseException, curl._take()) for curl in curls if curl._exc is not None)
            self._running = None
            self._assigned.clear()
            self._arrays.clear()
            _KEYS.pop(ffi.cast("void *", self._m), None)
            unregister(self._clientp)
            self._doomed.clear()
            self._aborted = False
            mine = take_failure(self)
            if mine is not None:
                failures.insert(0, mine)
        for failure in failures:
            report_unraisable(failure, f"{type(self).__name__}.close()", self)
        on_leave = self._on_leave
        if on_leave is not None:
            on_leave(None, False)
        if self.close_handles:
            for curl in curls:
                curl.close()

    def _set_policy(self, policy: Any) -> None:
        """Policy.attach()/detach()'s seam: guard every Curl added, now and later."""
        if self._m.m == ffi.NULL:
            raise error("cannot invoke Policy.attach() - multi-stack is closed")
        self._policy = policy
        for curl in self._curls.values():
            curl._set_multi_policy(policy)

    def __contains__(self, curl: object) -> bool:
        if not isinstance(curl, Curl):
            raise TypeError(f"expected a Curl object, not {type(curl).__name__}")
        return curl._multi_now() is self

    # --- errors ---------------------------------------------------------------

    def _drivable(self, what: str) -> Any:
        """The handle, for a call that makes libcurl run transfers."""
        m = self._handle(what)
        if self._dead:
            raise MultiError(
                MULTI_ABORTED_BY_CALLBACK,
                f"cannot invoke {what}() - the socket callback returned -1, libcurl aborted every "
                "transfer of this multi; remove them and close it",
            )
        return m

    def _check(self, rc: int, what: str) -> None:
        """Raise for a CURLMcode: a -1 from a callback leaves libcurl's multi dead."""
        if rc == getattr(lib, "CURLM_ABORTED_BY_CALLBACK", None):
            self._dead = True
        if rc:
            errors.check_multi(rc, message=what)

    def _pending(self) -> Optional[BaseException]:
        """What the driving call that just returned must raise, or None.

        First the transfers whose socket callback failed are removed (failed).
        """
        doomed, self._doomed = self._doomed, []
        for easy in doomed:
            curl = self._curls.get(easy)
            if curl is not None:
                self._detach(curl)
        parked = take_parked()
        exc, self._exc = self._exc, None
        if parked is not None:
            return parked  # (the multi's own record of it, if any, is dropped with it)
        if exc is None and not self._aborted:
            return None
        if self._aborted:
            self._aborted = False
            if exc is None:
                return MultiError(MULTI_ABORTED_BY_CALLBACK, "the timer callback returned -1")
        return errors.outcome(0, None, exc, cls=MultiError, message="a multi callback raised")

    def _raise_pending(self) -> None:
        exc = self._pending()
        if exc is not None:
            raise exc

    # --- options --------------------------------------------------------------

    def setopt(self, option: int, value: Any) -> None:
        """curl_multi_setopt(3); every CURLMoption of the installed headers.

        M_SOCKETFUNCTION, M_TIMERFUNCTION (and M_NOTIFYFUNCTION where libcurl
        has it) take a callable (None removes it); long and off_t options an
        int; M_PIPELINING_SITE_BL/SERVER_BL a list or tuple of str/bytes.
        Raises TypeError/OverflowError naming what was expected, ``error``
        (E_UNKNOWN_OPTION) for an unknown or unsupported option, MultiError
        if libcurl refuses.
        """
        m = self._handle("setopt")
        if not isinstance(option, int) or type(option) is bool:
            raise TypeError(f"option must be an int such as pycurl.M_MAXCONNECTS, not {option!r}")
        try:
            name = MOpt(option).name
        except ValueError:
            raise error(lib.CURLE_UNKNOWN_OPTION, f"unknown multi option {option}") from None
        row = CALLBACK_ROWS.get(option)
        if row is not None:
            if value is not None and not callable(value):
                raise TypeError(f"setopt(M_{name}) expects a callable, not {type(value).__name__}")
            setattr(self, slot(row.attr), value)
            self._install(option, value is not None)
        elif option in _STRING_ARRAYS:
            self._set_array(option, name, value)
        elif value is None:
            raise TypeError(f"unsetting is not supported for this option: setopt(M_{name}, None)")
        elif MOPT_LONG <= option < MOPT_OBJECTPOINT or option >= MOPT_OFF_T:
            is_long = option < MOPT_OBJECTPOINT
            ctype, low, high = (
                ("long", LONG_MIN, LONG_MAX) if is_long else ("curl_off_t", OFF_T_MIN, OFF_T_MAX)
            )
            if not isinstance(value, int):
                raise TypeError(f"setopt(M_{name}) expects an int, not {type(value).__name__}")
            if not low <= value <= high:
                raise OverflowError(f"setopt(M_{name}): {value} does not fit in a C {ctype}")
            setter = lib.pcb_multi_setopt_long if is_long else lib.pcb_multi_setopt_off_t
            rc = setter(m, option, int(value))
            if rc:
                errors.check_multi(
                    rc,
                    message=f"{errors.multi_strerror(rc)}: libcurl refused setopt(M_{name}, {value!r}) "
                    f"(CURLMOPT_{name}(3) lists the values it takes)",
                )
        else:
            raise error(
                lib.CURLE_UNKNOWN_OPTION, f"setopt(M_{name}) is managed by or not supported in pycurlcb"
            )

    def _set_array(self, option: int, name: str, value: Any) -> None:
        if value is None or not value:
            errors.check_multi(lib.pcb_multi_setopt_ptr(self._m.m, option, ffi.NULL))
            self._arrays.pop(option, None)
            return
        if isinstance(value, int):
            raise TypeError(
                f"integers are not supported for this option: setopt(M_{name}, {value!r}) "
                "expects a list or tuple of str or bytes"
            )
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"setopt(M_{name}) expects a list or tuple of str or bytes")
        items = [ffi.new("char[]", option_text(item, f"setopt(M_{name})")) for item in value]
        array = ffi.new("char *[]", [*items, ffi.NULL])
        errors.check_multi(lib.pcb_multi_setopt_ptr(self._m.m, option, array))
        self._arrays[option] = (array, items)  # libcurl copies them; kept as pycurl does

    def unsetopt(self, option: int) -> None:
        """Remove a callback or list option (setopt(option, None))."""
        self.setopt(option, None)

    def _install(self, option: int, on: bool) -> None:
        row = CALLBACK_ROWS[option]
        m = self._m.m
        fn = TRAMPOLINES[row.trampoline] if on else ffi.NULL
        errors.check_multi(lib.pcb_multi_setopt_fn(m, option, fn))
        errors.check_multi(
            lib.pcb_multi_setopt_ptr(m, int(getattr(MOpt, row.data)), self._clientp if on else ffi.NULL)
        )

    # --- handles ----------------------------------------------------------------

    def add_handle(self, curl: Curl) -> None:
        """curl_multi_add_handle(3).  The multi keeps ``curl`` alive until removed.

        Raises error if ``curl`` is closed or already in a CurlMulti; the timer
        callback may run from here: if it fails, ``curl`` is not added.
        """
        # A closed multi or Curl makes the C call refuse (CURLM_BAD_HANDLE):
        # the messages are worked out only then.
        if (
            self._running is not None or self._dead or not isinstance(curl, Curl)
            or curl._multi_ref is not None or curl._running is not None
        ):
            self._refuse_add(curl)
        h = curl._h
        curl._exc = None
        curl._refused = None
        self._curls[h] = curl
        curl._multi_ref = self._weakself
        if self._policy is not None:
            curl._set_multi_policy(self._policy)
        bulk = _MULTI_BULK and curl._bulk_write is not None and curl._bulk_begin()
        self._running = _get_ident()
        try:
            rc = _multi_add(self._cell[0], curl._e)  # also resets the error buffer
        finally:
            self._running = None
        if rc and bulk:
            lib.pcb_bulk_stop(curl._e)  # not added: the write trampoline back
        if rc == _BAD_HANDLE:
            self._curls.pop(h, None)
            _left(curl)
            self._refuse_add(curl)
        if rc or self._exc is not None or self._aborted or self._doomed or has_parked():
            if rc:
                self._curls.pop(h, None)
                _left(curl)
            elif self._aborted or self._exc is not None:
                self._doomed.append(h)  # the timer callback failed: this transfer with it
            self._raise_pending()
            self._check(rc, "curl_multi_add_handle() failed due to internal errors")

    def _refuse_add(self, curl: Curl) -> None:
        """add_handle()'s refusals (returns if there is nothing to refuse)."""
        if self._m.m == ffi.NULL:
            raise error("cannot add/remove handle - multi-stack is closed")
        self._drivable("add_handle")
        if not isinstance(curl, Curl):
            raise TypeError(f"add_handle() expects a Curl, not {type(curl).__name__}")
        if curl.closed:
            raise error("curl object already closed")
        current = curl._multi_now()
        if current is self:
            raise error("curl object already on this multi-stack")
        if current is not None:
            raise error("cannot add/remove handle - curl object already on another multi-stack")
        if curl._running is not None:
            raise error("cannot add/remove handle - perform() of curl object already running")
        _left(curl)  # its multi is gone

    def remove_handle(self, curl: Curl) -> None:
        """curl_multi_remove_handle(3); the multi drops its reference to ``curl``.

        A closed Curl is accepted and ignored (pycurl).  Callbacks may run
        from here; what they raised is raised after the removal.
        """
        if (
            self._running is not None or not isinstance(curl, Curl)
            or curl._multi_ref is not self._weakself
        ):
            if self._refuse_remove(curl):
                return
        self._running = _get_ident()
        try:
            rc = _multi_remove(self._cell[0], curl._e)
        finally:
            self._running = None
        if rc == 0:
            del self._curls[curl._h]
            _left(curl)
            if self._on_leave is not None:  # an AsyncCurlMulti's transfer: its future ends
                self._on_leave(curl, True)
        if rc or self._exc is not None or self._aborted or self._doomed or has_parked():
            self._raise_pending()
            self._check(rc, "curl_multi_remove_handle() failed due to internal errors")

    def _refuse_remove(self, curl: Curl) -> bool:
        """remove_handle()'s refusals; True for a closed Curl (nothing to do)."""
        if self._m.m == ffi.NULL:
            raise error("cannot add/remove handle - multi-stack is closed")
        self._handle("remove_handle")
        if not isinstance(curl, Curl):
            raise TypeError(f"remove_handle() expects a Curl, not {type(curl).__name__}")
        if curl.closed:
            return True
        if curl._multi_now() is not self:
            raise error("curl object not on this multi-stack")
        return False

    def _detach(self, curl: Curl) -> int:
        """curl_multi_remove_handle with callbacks allowed; forget ``curl`` if libcurl did."""
        e = curl._e
        rc: int = self._call(_multi_remove, self._m, e)
        if rc == lib.CURLM_OK:
            self._curls.pop(curl._h, None)
            _left(curl)
        return rc

    def _call(self, fn: Any, *args: Any) -> Any:
        """Call into libcurl with callbacks allowed to run, re-entry refused."""
        outer = self._running
        self._running = threading.get_ident()
        try:
            return fn(*args)
        finally:
            self._hand_over_bodies()
            self._running = outer

    def _hand_over_bodies(self) -> None:
        """The end of a driving call: the bodies its transfers buffered go to
        their obj.write (bulk.h), with the call's callback rules still on."""
        cell = self._cell[0]
        if cell.bulk_queue:
            lib.pcb_multi_bulk_drain(cell)

    def handles(self) -> list[Curl]:
        """The Curls currently added, in the order they were added."""
        return list(self._curls.values())

    def curl_of(self, easy: Any) -> Optional[Curl]:
        """The Curl of a CURL* libcurl handed to a callback (None if not added here)."""
        return self._curls.get(easy)

    # --- driving ------------------------------------------------------------------

    def socket_action(self, fd: int, ev_bitmask: int) -> tuple[int, int]:
        """curl_multi_socket_action(3): ``(ret, running_handles)``.

        ``fd`` is a socket or SOCKET_TIMEOUT; ``ev_bitmask`` CSELECT_IN|OUT|ERR
        or 0.  Raises as the module docstring says.
        """
        m = self._cell[0].m
        if m == ffi.NULL or self._running is not None or self._dead:
            self._drivable("socket_action")
        out = self._out
        self._running = _get_ident()
        try:
            rc = _socket_action(m, fd, ev_bitmask, out)
        except (TypeError, OverflowError):  # cffi's, naming neither the argument nor the call
            _c_int_arg("socket_action", "fd", fd, "a socket fd from the socket callback, or SOCKET_TIMEOUT")
            _c_int_arg("socket_action", "ev_bitmask", ev_bitmask, "CSELECT_IN|CSELECT_OUT|CSELECT_ERR or 0")
            raise
        finally:
            self._hand_over_bodies()
            self._running = None
        if rc or self._exc is not None or self._aborted or self._doomed or has_parked():
            self._raise_pending()
            self._check(rc, "multi_socket_action failed")
        return rc, out[0]

    def _cmulti(self) -> Any:
        """The ``struct pcb_multi *`` (handles.h), for a C driver: ``.m`` is the CURLM*,
        NULL once closed; a driver that keeps the pointer takes a reference (``refs``)."""
        return self._m

    def _drive_with(self, fn: Callable[..., int], *args: Any) -> None:
        """Call ``fn(*args)``, a C function that runs curl_multi_socket_action(3) on this
        multi and returns its CURLMcode, exactly as socket_action() does: refused while
        closed, running or dead; then what its callbacks left is raised."""
        self._drivable("socket_action")
        rc = self._call(fn, *args)
        self._raise_pending()
        self._check(rc, "multi_socket_action failed")

    def socket_all(self) -> tuple[int, int]:
        """curl_multi_socket_all(3), deprecated by libcurl (as pycurl warns): use
        socket_action(SOCKET_TIMEOUT, 0), which this calls."""
        warnings.warn("socket_all is deprecated; use socket_action", DeprecationWarning, stacklevel=2)
        return self.socket_action(lib.CURL_SOCKET_TIMEOUT, 0)

    def perform(self) -> tuple[int, int]:
        """curl_multi_perform(3): ``(ret, num_handles)`` as pycurl."""
        m = self._drivable("perform")
        out = self._out
        rc = self._call(lib.curl_multi_perform, m, out)
        self._raise_pending()
        self._check(rc, "perform failed")
        return rc, out[0]

    def timeout(self) -> int:
        """curl_multi_timeout(3): milliseconds until socket_action(SOCKET_TIMEOUT), -1 for none."""
        m = self._handle("timeout")
        out = ffi.new("long *")
        errors.check_multi(lib.curl_multi_timeout(m, out))
        return int(out[0])

    def select(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for activity on this multi's sockets.

        curl_multi_poll(3) with the GIL released; returns the number of
        sockets with activity.  For the perform() style, not with socket_action.
        """
        m = self._handle("select")
        if not isinstance(timeout, (int, float)):
            raise TypeError(f"select() timeout must be an int or float number of seconds, not {timeout!r}")
        if not timeout >= 0:  # NaN too
            raise ValueError(f"select() timeout must be a number of seconds >= 0, not {timeout!r}")
        if timeout * 1000 > INT_MAX:
            raise OverflowError(
                f"select() timeout {timeout!r} seconds is more than curl_multi_poll's C int of "
                f"milliseconds holds (at most {INT_MAX // 1000} seconds)"
            )
        numfds = ffi.new("int *")
        errors.check_multi(lib.curl_multi_poll(m, ffi.NULL, 0, int(timeout * 1000), numfds))
        return int(numfds[0])

    def fdset(self) -> tuple[list[int], list[int], list[int]]:
        """curl_multi_fdset(3) as pycurl: ``(read_fds, write_fds, exc_fds)``."""
        m = self._handle("fdset")
        cap = lib.PCB_FD_SETSIZE
        r, w, e = ffi.new("int[]", cap), ffi.new("int[]", cap), ffi.new("int[]", cap)
        nr, nw, ne = ffi.new("int *"), ffi.new("int *"), ffi.new("int *")
        errors.check_multi(lib.pcb_multi_fdset(m, r, w, e, cap, nr, nw, ne))
        return list(r[0 : nr[0]]), list(w[0 : nw[0]]), list(e[0 : ne[0]])

    def info_read(
        self, max_objects: Optional[int] = None
    ) -> tuple[int, list[Curl], list[tuple[Curl, int, str]]]:
        """curl_multi_info_read(3): ``(num_queued, ok_list, err_list)`` as pycurl.

        ok_list holds the Curls that completed; err_list ``(curl, code,
        message)`` for those that failed, message the Curl's error buffer or
        curl_easy_strerror(code).  If a callback of the Curl raised, that
        exception is ``curl.callback_error``.  At most ``max_objects``
        messages are read.
        """
        m = self._handle("info_read")
        if max_objects is not None:
            if not isinstance(max_objects, int):
                raise TypeError(f"info_read() max_objects must be an int or None, not {max_objects!r}")
            if max_objects < 1:  # pycurl's text, compared in tests/test_pycurl_compat.py
                raise error("argument to info_read must be greater than zero")
        queued = self._out + 1
        ok: list[Curl] = []
        err: list[tuple[Curl, int, str]] = []
        curls = self._curls
        while max_objects is None or len(ok) + len(err) < max_objects:
            msg = lib.curl_multi_info_read(m, queued)
            if msg == ffi.NULL:
                break
            if msg.msg != lib.CURLMSG_DONE:
                continue
            _sort_done(curls[msg.easy_handle], msg.data.result, ok, err)
        return int(queued[0]), ok, err

    def _take_done(self, d: Any) -> tuple[list[Curl], list[tuple[Curl, int, str]]]:
        """The transfers AsyncCurlMulti's C driver ``d`` finished (``d.ndone``,
        driver.h), as info_read()'s ok and err lists; those it also removed are
        forgotten here as remove_handle() forgets them."""
        ok: list[Curl] = []
        err: list[tuple[Curl, int, str]] = []
        n = d.ndone
        if n:
            d.ndone = 0  # taken once, also if this raises
            curls = self._curls
            done = zip(ffi.unpack(d.done_easy, n), ffi.unpack(d.done_code, n), ffi.unpack(d.done_removed, n))
            for h, code, removed in done:
                if removed:
                    curl = curls.pop(h)
                    _left(curl)
                else:
                    curl = curls[h]
                _sort_done(curl, code, ok, err)
        return ok, err

    def assign(self, fd: int, obj: Any) -> None:
        """curl_multi_assign(3): ``obj`` is passed as socketp to the socket callback for ``fd``.

        The multi keeps a strong reference until unassign(fd), a new assign,
        the socket's POLL_REMOVE, or close().  May be called from inside the
        socket callback; the value is seen from the next callback on.  None
        is the same as unassign(fd).
        """
        m = self._m.m
        if m == ffi.NULL:
            raise error("cannot invoke assign() - multi-stack is closed")
        if obj is None:
            self.unassign(fd)
            return
        _c_int_arg("assign", "fd", fd, "a socket fd from the socket callback")
        entry = (obj, ffi.new_handle(obj))
        rc = lib.curl_multi_assign(m, fd, entry[1])
        if rc:
            errors.check_multi(
                rc,
                message=f"{errors.multi_strerror(rc)}: assign({fd}, ...): libcurl has no socket {fd} "
                "(assign the fds its socket callback is given)",
            )
        self._assigned[fd] = entry

    def unassign(self, fd: int) -> None:
        """Forget the object assigned to ``fd`` (curl_multi_assign(fd, NULL))."""
        m = self._m.m
        if m == ffi.NULL:
            raise error("cannot invoke unassign() - multi-stack is closed")
        _c_int_arg("unassign", "fd", fd, "a socket fd from the socket callback")
        known = self._assigned.pop(fd, None) is not None
        rc = lib.curl_multi_assign(m, fd, ffi.NULL)
        if rc != lib.CURLM_OK and not known:
            errors.check_multi(
                rc, message=f"{errors.multi_strerror(rc)}: unassign({fd}): libcurl has no socket {fd}"
            )

    # --- notifications (libcurl 8.17.0) ---------------------------------------------

    def notify_enable(self, *notifications: int) -> None:
        """curl_multi_notify_enable(3) for each of ``notifications`` (M_NOTIFY_INFO_READ ...):
        M_NOTIFYFUNCTION is then called as ``fn(notification, curl_or_None)``."""
        self._notify("notify_enable", notifications, 1)

    def notify_disable(self, *notifications: int) -> None:
        """curl_multi_notify_disable(3) for each of ``notifications``."""
        self._notify("notify_disable", notifications, 0)

    def _notify(self, what: str, notifications: tuple[int, ...], on: int) -> None:
        m = self._handle(what)
        _features.require("curl_multi_notify_enable", f"{what}()")
        if not notifications:
            raise TypeError(f"{what} requires at least one notification")
        for notification in notifications:
            if not isinstance(notification, int):
                raise TypeError(f"{what}() expects int notifications, not {type(notification).__name__}")
            if not 0 <= notification <= 0xFFFFFFFF:
                raise OverflowError(f"{what} notification value out of range")
            errors.check_multi(lib.pcb_multi_notify_set(m, notification, on), message=f"{what} failed")


_BAD_HANDLE = lib.CURLM_BAD_HANDLE
_CURLE_OK = lib.CURLE_OK
_multi_add = lib.pcb_multi_add
_multi_remove = lib.pcb_multi_remove
_socket_action = lib.curl_multi_socket_action
_get_ident = threading.get_ident


# --- the driver seam: what an event-loop driver (async_multi.AsyncCurlMulti, its asyncio
# and trio sides, the C epoll driver) uses of a CurlMulti (docs/internals.md) ------------


def c_multi(multi: CurlMulti) -> Any:
    """The multi's ``struct pcb_multi *`` (handles.h), for a C driver: ``.m`` is the
    CURLM*, NULL once closed; a driver that keeps the pointer takes a reference."""
    return multi._cmulti()


def drive_function(multi: CurlMulti) -> Callable[..., None]:
    """``drive(fn, *args)``: call ``fn(*args)``, a C function that runs
    curl_multi_socket_action(3) on the multi and returns its CURLMcode, exactly as
    socket_action() does (refused while closed, running or dead; then what the
    callbacks left is raised).  A bound method: the driver keeps it for its wake-ups."""
    return multi._drive_with


def take_done(multi: CurlMulti, d: Any) -> tuple[list[Curl], list[tuple[Curl, int, str]]]:
    """The transfers the C driver ``d`` (driver.h) finished, as info_read()'s ok and
    err lists; those it also removed are forgotten as remove_handle() forgets them."""
    return multi._take_done(d)


def _sort_done(curl: Curl, code: int, ok: list[Curl], err: list[tuple[Curl, int, str]]) -> None:
    """A finished transfer into info_read()'s ok list or its err list (curl, code, message)."""
    if code == _CURLE_OK and not curl._e.bulk_failed:
        ok.append(curl)
    elif code == _CURLE_OK:  # obj.write failed after libcurl's last write (bulk.h)
        err.append((curl, lib.CURLE_WRITE_ERROR, WRITE_FAILED))
    else:
        refused = refused_error(curl, code) if curl._refused is not None else None
        if refused is not None:  # its SSRF policy refused it: the address and the reason
            err.append((curl, refused.code or code, refused.args[1]))
        else:
            err.append((curl, code, errors.make_error(code, curl._e.errbuf).args[1]))


def _left(curl: Curl) -> None:
    """``curl`` is no longer added to its CurlMulti: neither its multi's policy."""
    curl._multi_ref = None
    if curl._mpolicy is not None:
        curl._set_multi_policy(None)


for _name, _value in MULTI_CONSTANTS.items():
    setattr(CurlMulti, _name, _value)  # pycurl's constants, readable on handles: m.M_MAXCONNECTS
