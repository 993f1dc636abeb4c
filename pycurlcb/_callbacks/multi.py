"""The multi trampolines: CURLMOPT_SOCKETFUNCTION, TIMERFUNCTION, NOTIFYFUNCTION."""

from __future__ import annotations

from typing import Any

from .._convert import c_int
from .._ffi import ffi, lib
from ..constants import Poll
from .core import MultiCallbacks, trampoline

#: The small enum socket callables get instead of a bare int.
_POLL = {m.value: m for m in Poll}


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
def _multi_notify(state: Any, multi: Any, notification: int, easy: Any, user: Any) -> None:
    fn = state._cb_notify
    if fn is not None:
        fn(notification, state.curl_of(easy))
