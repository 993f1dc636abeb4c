"""struct curl_sockaddr <-> the socket module's address forms.

The opensocket callback receives a ``CurlSockAddr(family, socktype, protocol,
addr)`` whose ``addr`` has the form ``socket.getpeername()`` would give:

* AF_INET:  ``(host, port)``
* AF_INET6: ``(host, port, flowinfo, scope_id)``: port and flowinfo in host
  byte order, exactly as the socket module converts them
* AF_UNIX:  the path as ``bytes`` (as pycurl; a Linux abstract address keeps
  its leading NUL)
* any other family: the raw ``sockaddr`` bytes.

It may hand back a new address in the same forms (AF_INET6 also accepts
``(host, port)``), which is written into libcurl's struct so that libcurl
connects there instead (CURLOPT_OPENSOCKETFUNCTION(3): "the callback may
modify the address").
"""

from __future__ import annotations

import _socket as socket  # the C module has all this uses; socket.py costs import time
import os
from typing import Any, NamedTuple, Union

from ._ffi import ffi

#: ``CurlSockAddr.addr``: (host, port) for AF_INET, (host, port, flowinfo,
#: scope_id) for AF_INET6, bytes for AF_UNIX and any other family; never a str.
Address = Union[tuple[str, int], tuple[str, int, int, int], bytes]


class CurlSockAddr(NamedTuple):
    """The ``address`` argument of an opensocket callback (pycurl's shape)."""

    family: int
    socktype: int
    protocol: int
    addr: Address


# libcurl stores the address in a sockaddr_storage (struct Curl_sockaddr_ex),
# so a rewritten address may be that large, not just sizeof(struct sockaddr).
_STORAGE = 128
_IN_ADDR = ffi.offsetof("struct sockaddr_in", "sin_addr")
_IN6_ADDR = ffi.offsetof("struct sockaddr_in6", "sin6_addr")
_SUN_PATH = ffi.offsetof("struct sockaddr_un", "sun_path")
_SUN_PATH_MAX = ffi.sizeof("struct sockaddr_un") - _SUN_PATH


def from_c(address: Any) -> CurlSockAddr:
    """Read a ``struct curl_sockaddr *`` into a CurlSockAddr."""
    family = address.family
    sa = ffi.addressof(address, "addr")
    addr: Address
    if family == socket.AF_INET:
        sin = ffi.cast("struct sockaddr_in *", sa)
        raw = ffi.buffer(sin)[_IN_ADDR : _IN_ADDR + 4]
        addr = (socket.inet_ntop(family, raw), socket.ntohs(sin.sin_port))
    elif family == socket.AF_INET6:
        sin6 = ffi.cast("struct sockaddr_in6 *", sa)
        raw = ffi.buffer(sin6)[_IN6_ADDR : _IN6_ADDR + 16]
        addr = (
            socket.inet_ntop(family, raw),
            socket.ntohs(sin6.sin6_port),
            socket.ntohl(sin6.sin6_flowinfo),
            sin6.sin6_scope_id,
        )
    elif family == socket.AF_UNIX:
        path = ffi.buffer(ffi.cast("char *", sa), address.addrlen)[_SUN_PATH:]
        addr = bytes(path) if path[:1] == b"\0" else path.split(b"\0", 1)[0]
    else:
        addr = ffi.buffer(ffi.cast("char *", sa), min(address.addrlen, _STORAGE))[:]
    return CurlSockAddr(family, address.socktype, address.protocol, addr)


def packed(address: Any) -> tuple[int, Any, int]:
    """``(family, address, port)`` of a ``struct curl_sockaddr *``, for a policy:
    the packed address bytes (4 or 16) for AF_INET/AF_INET6, the path for
    AF_UNIX, None with port 0 for another family."""
    family = address.family
    sa = ffi.addressof(address, "addr")
    if family == socket.AF_INET:
        sin = ffi.cast("struct sockaddr_in *", sa)
        return family, ffi.buffer(sin)[_IN_ADDR : _IN_ADDR + 4], socket.ntohs(sin.sin_port)
    if family == socket.AF_INET6:
        sin6 = ffi.cast("struct sockaddr_in6 *", sa)
        return family, ffi.buffer(sin6)[_IN6_ADDR : _IN6_ADDR + 16], socket.ntohs(sin6.sin6_port)
    if family == socket.AF_UNIX:
        return family, from_c(address).addr, 0
    return family, None, 0


def packed_text(family: int, raw: Any) -> str:
    """The text of what packed() returned: an IP literal, or a Unix path's repr."""
    if family in (socket.AF_INET, socket.AF_INET6):
        return str(socket.inet_ntop(family, raw))
    return repr(raw)


def _ip(family: int, host: Any, what: str) -> bytes:
    if not isinstance(host, str):
        raise TypeError(f"{what} host must be a str address literal, not {type(host).__name__}")
    try:
        return socket.inet_pton(family, host)
    except OSError:
        raise ValueError(f"{what} host must be an address literal, got {host!r}") from None


def _port(port: Any) -> int:
    if type(port) is not int or not 0 <= port <= 0xFFFF:
        raise ValueError(f"port must be an int from 0 to 65535, got {port!r}")
    return port


def _u32(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{what} must be an int from 0 to 2**32-1, got {value!r}")
    return value


def family_of(addr: Any) -> int:
    """The family an address in socket-module form belongs to.

    A str/bytes path is AF_UNIX; a tuple is AF_INET6 if its host is an IPv6
    literal (or it has 3-4 items), else AF_INET.  Raises TypeError otherwise.
    """
    if isinstance(addr, (str, bytes)):
        return socket.AF_UNIX
    if isinstance(addr, tuple) and addr and isinstance(addr[0], str):
        return socket.AF_INET6 if ":" in addr[0] or len(addr) > 2 else socket.AF_INET
    raise TypeError(
        "an address is (host, port), (host, port, flowinfo, scope_id) or a "
        f"Unix socket path, got {addr!r}"
    )


def to_c(address: Any, family: int, addr: Any) -> None:
    """Write ``addr`` (socket-module form for ``family``) into ``address``.

    Raises TypeError or ValueError, naming what was expected, and leaves
    ``address`` untouched if ``addr`` is not a valid address of ``family``.
    """
    sa = ffi.cast("char *", ffi.addressof(address, "addr"))
    if family == socket.AF_INET:
        if not isinstance(addr, tuple) or len(addr) != 2:
            raise TypeError(f"an AF_INET address is a (host, port) tuple, got {addr!r}")
        raw, port = _ip(family, addr[0], "AF_INET"), _port(addr[1])
        size = ffi.sizeof("struct sockaddr_in")
        ffi.memmove(sa, b"\0" * size, size)
        sin = ffi.cast("struct sockaddr_in *", sa)
        sin.sin_family = family
        sin.sin_port = socket.htons(port)
        ffi.memmove(sa + _IN_ADDR, raw, 4)
    elif family == socket.AF_INET6:
        if not isinstance(addr, tuple) or not 2 <= len(addr) <= 4:
            raise TypeError(
                f"an AF_INET6 address is a (host, port[, flowinfo[, scope_id]]) tuple, got {addr!r}"
            )
        raw, port = _ip(family, addr[0], "AF_INET6"), _port(addr[1])
        flowinfo = _u32(addr[2], "flowinfo") if len(addr) > 2 else 0
        scope_id = _u32(addr[3], "scope_id") if len(addr) > 3 else 0
        size = ffi.sizeof("struct sockaddr_in6")
        ffi.memmove(sa, b"\0" * size, size)
        sin6 = ffi.cast("struct sockaddr_in6 *", sa)
        sin6.sin6_family = family
        sin6.sin6_port = socket.htons(port)
        sin6.sin6_flowinfo = socket.htonl(flowinfo)
        sin6.sin6_scope_id = scope_id
        ffi.memmove(sa + _IN6_ADDR, raw, 16)
    elif family == socket.AF_UNIX:
        if not isinstance(addr, (str, bytes)):
            raise TypeError(f"an AF_UNIX address is a str or bytes path, got {addr!r}")
        path = os.fsencode(addr)
        abstract = path[:1] == b"\0"
        if not path or (not abstract and b"\0" in path):
            raise ValueError(f"invalid AF_UNIX path {addr!r}")
        if len(path) + (0 if abstract else 1) > _SUN_PATH_MAX:
            raise ValueError(f"AF_UNIX path is longer than {_SUN_PATH_MAX - 1} bytes: {addr!r}")
        size = _SUN_PATH + len(path) + (0 if abstract else 1)
        ffi.memmove(sa, b"\0" * size, size)
        ffi.cast("struct sockaddr_un *", sa).sun_family = family
        ffi.memmove(sa + _SUN_PATH, path, len(path))
    else:
        raise ValueError(f"cannot rewrite an address of family {family}")
    address.family = family
    address.addrlen = size
