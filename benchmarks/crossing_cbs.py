#!/usr/bin/env python3
"""What each pycurlcb callback costs per crossing, measured as the floor is
(benchmarks/crossing_floor.py): instructions inside the C function libcurl
calls, inclusive, per call, with a trivial user callable.

    .venv/bin/python benchmarks/crossing_cbs.py CALLBACK N   # one run (instructions.py --crossings)

The trampolines are called from Python through the compiled module
(``lib.pcb_write(...)``: cffi releases the GIL around the call, as it does
around curl_easy_perform), with the clientp of a real Curl or CurlMulti whose
callables were set with setopt.  Each user callable is a ``def`` that
returns at once what the workloads' callables return (the fd of an open
socket for opensocket, 0 for sockopt and closesocket, None for write,
header and the multi callbacks, ``b"hello"`` for read), so what is counted
beyond the floor is pycurlcb's own: the state look-up, the argument
conversions (the CurlSockAddr, the bytes of a write), the checks of the
return value and the socket bookkeeping.
"""

from __future__ import annotations

import socket
import sys
from typing import Any, Callable

#: The callbacks, each run alone (callgrind counts inside cffi_call_python,
#: which every extern "Python" stub calls, so one kind per run).
CALLBACKS = ("opensocket", "sockopt", "closesocket", "multi_socket", "multi_timer",
             "write", "header", "read")


def setup(name: str, keep: list[Any]) -> Callable[[], Any]:
    """One crossing of ``name``.

    closesocket runs on an fd opensocket did not report (the bookkeeping's
    pop finds nothing): what a real round costs it differs by a dict entry.
    What must stay alive (the handles) is appended to ``keep``.
    """
    import pycurlcb
    from pycurlcb._ffi import ffi, lib

    if name in ("opensocket", "sockopt", "closesocket"):
        sock = socket.socket()
        keep.append(sock)
        fd = sock.fileno()

        def opensocket(purpose: int, address: Any) -> int:
            return fd

        def sockopt(fd: int, purpose: int) -> int:
            return 0

        def closesocket(fd: int) -> int:
            return 0  # the socket stays open: the next round hands it out again

        c = pycurlcb.Curl()
        keep.append(c)
        c.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
        c.setopt(pycurlcb.SOCKOPTFUNCTION, sockopt)
        c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
        addr = ffi.new("struct curl_sockaddr *")
        addr.family, addr.socktype, addr.protocol = socket.AF_INET, socket.SOCK_STREAM, 6
        addr.addrlen = ffi.sizeof("struct sockaddr_in")
        sin = ffi.cast("struct sockaddr_in *", ffi.addressof(addr, "addr"))
        sin.sin_family, sin.sin_port = socket.AF_INET, socket.htons(8080)
        ffi.memmove(ffi.addressof(sin, "sin_addr"), socket.inet_aton("127.0.0.1"), 4)
        keep.append(addr)
        p, o, s, x = c._clientp, lib.pcb_opensocket, lib.pcb_sockopt, lib.pcb_closesocket
        purpose = lib.CURLSOCKTYPE_IPCXN

        if name == "opensocket":
            return lambda: o(p, purpose, addr)
        if name == "sockopt":
            return lambda: s(p, fd, purpose)
        return lambda: x(p, fd)
    if name in ("multi_socket", "multi_timer"):
        def on_socket(what: int, fd: int, multi: Any, socketp: Any) -> None:
            return None

        def on_timer(timeout_ms: int) -> None:
            return None

        m = pycurlcb.CurlMulti()
        keep.append(m)
        m.setopt(pycurlcb.M_SOCKETFUNCTION, on_socket)
        m.setopt(pycurlcb.M_TIMERFUNCTION, on_timer)
        p, ms, mt = m._clientp, lib.pcb_multi_socket, lib.pcb_multi_timer
        easy, null = ffi.cast("CURL *", 1), ffi.NULL

        if name == "multi_socket":
            return lambda: ms(easy, 7, 1, p, null)  # CURL_POLL_IN
        return lambda: mt(null, 100, p)
    c = pycurlcb.Curl()
    keep.append(c)
    p = c._clientp
    buf = ffi.new("char[]", 16384)
    keep.append(buf)
    if name in ("write", "header"):
        def sink(data: bytes) -> None:
            return None

        c.setopt(pycurlcb.WRITEFUNCTION if name == "write" else pycurlcb.HEADERFUNCTION, sink)
        fn = lib.pcb_write if name == "write" else lib.pcb_header
        size = 5 if name == "write" else 30  # W2's body; a header line

        def one_data() -> None:
            fn(buf, 1, size, p)

        return one_data
    if name == "read":
        def source(n: int) -> bytes:
            return b"hello"

        c.setopt(pycurlcb.READFUNCTION, source)
        rd = lib.pcb_read

        def one_read() -> None:
            rd(buf, 1, 16384, p)

        return one_read
    raise SystemExit(f"unknown callback {name!r}")


def main() -> None:
    name, n = sys.argv[1], int(sys.argv[2])
    keep: list[Any] = []
    one = setup(name, keep)
    for _ in range(n):
        one()


if __name__ == "__main__":
    main()
