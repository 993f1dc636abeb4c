"""The socket trampolines: OPENSOCKETFUNCTION, SOCKOPTFUNCTION, CLOSESOCKETFUNCTION.

They count the sockets opened and closed through each clientp (``_lifetime.Key.fds``),
so that a Curl closed with sockets still in a connection cache stays an orphan
until libcurl closes them (docs/internals.md: the lifetime model).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from .. import _features, sockaddr
from .._convert import c_int
from .._ffi import lib
from .._lifetime import (
    GC_HOOKED,
    ORPHANS,
    STATES,
    UNCLOSED,
    close_quietly,
    collecting,
    report_unraisable,
    socket_inode,
    unregister,
)
from ..constants import SockType
from .core import EasyCallbacks, trampoline

SOCKET_BAD: int = lib.CURL_SOCKET_BAD
_SOCKOPT_OK: int = lib.CURL_SOCKOPT_OK
#: The small enum opensocket's address carries instead of a bare int (IntEnum: == and int() as pycurl's).
_SOCKTYPE = {m.value: m for m in SockType}
_ALREADY_CONNECTED_BROKEN = _features.available("sockopt_already_connected_broken")
_warned_already_connected = False


# --- socket callbacks ------------------------------------------------------------------


def _family_name(family: int) -> str:
    import socket  # only for this message: socket costs import time

    return repr(socket.AddressFamily(family))


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
            close_quietly(sock)  # its ownership had passed to us
        raise
    fd = _fd_of(sock)
    if fd == SOCKET_BAD:
        raise ValueError("opensocket callback returned an address with no socket")
    return fd


def _refuses(state: EasyCallbacks, guard: Any, address: Any) -> bool:
    """Whether the SSRF guard refuses connecting to ``address`` (a struct curl_sockaddr *);
    a refusal is recorded on the Curl (ssrf.Refusal) for the error its transfer ends with."""
    family, raw, port = sockaddr.packed(address)
    reason = guard.refuse(family, raw, port)
    if reason is None:
        return False
    record_refusal(state, sockaddr.packed_text(family, raw), port, reason)
    return True


def record_refusal(state: EasyCallbacks, address: str, port: int, reason: str) -> None:
    from ..ssrf import Refusal  # loaded by whoever attached the policy

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
            close_quietly(fd)  # rewritten to a refused address: libcurl never gets the socket
            return SOCKET_BAD
    if fd != SOCKET_BAD:
        key = STATES.get(clientp)
        if key is not None:
            key.fds[fd] = socket_inode(fd)
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


@trampoline("pcb_closesocket")
def _closesocket(state: EasyCallbacks, clientp: Any, fd: int) -> int:
    try:
        fn = state._cb_closesocket
        if fn is None:
            key = STATES.get(clientp) if collecting[0] or not GC_HOOKED else None
            if key is not None and key.ref() is None:
                # Still registered, but the collector cleared the weak
                # reference: the Curl is garbage in this collection and its
                # __del__ is still to come (a CurlMulti of the same cycle is
                # closing the Curl's cached connection first).  libcurl is done
                # with the fd; leave it open for that __del__ to close it with
                # the Curl's closesocket.
                UNCLOSED.setdefault(clientp, []).append(fd)
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
        key = STATES.get(clientp)
        if key is not None:
            key.fds.pop(fd, None)
            if state._orphan is not None and not key.fds:
                ORPHANS.discard(state)
                unregister(state._orphan)
                state._orphan = None
