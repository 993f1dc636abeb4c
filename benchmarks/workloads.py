"""The workloads, one function per workload and peer: fn(url, n) -> Counts.

`url` is the server's base ("http://127.0.0.1:PORT"); `n` the number of
transfers. pycurl and pycurlcb share one implementation, parametrised by the
module (`import pycurlcb as pycurl` is the API contract). The C peer lives in
benchmarks/c/ and is launched by run.py. Every function checks that each
transfer answered 200 with the expected body and raises WorkloadError if not.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import os
import selectors
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable

SMALL = b"hello"
BIG_SIZE = 1 << 20
CONCURRENCY = 50


@dataclass(frozen=True)
class Workload:
    name: str
    path: str
    n: int
    body_size: int
    what: str


WORKLOADS = {
    w.name: w
    for w in [
        Workload(
            "W1",
            "/small",
            5000,
            len(SMALL),
            "sequential GETs, fresh connection each (FORBID_REUSE), opensocket/sockopt/closesocket callbacks",
        ),
        Workload(
            "W2",
            "/small",
            20000,
            len(SMALL),
            "sequential keep-alive GETs on one handle, WRITEFUNCTION",
        ),
        Workload(
            "W3",
            "/small",
            20000,
            len(SMALL),
            f"{CONCURRENCY} at a time, multi socket_action driven by a selectors loop",
        ),
        Workload("W4", "/small", 20000, len(SMALL), f"{CONCURRENCY} at a time through asyncio"),
        Workload("W4u", "/small", 20000, len(SMALL), "W4 on uvloop's event loop"),
        Workload("W4t", "/small", 20000, len(SMALL), "W4 under trio (pycurlcb only)"),
        Workload("W5", "/big", 300, BIG_SIZE, "sequential keep-alive GETs of 1 MiB into a buffer"),
        Workload(
            "W6",
            "/big",
            300,
            BIG_SIZE,
            "sequential keep-alive GETs of 1 MiB into a new io.BytesIO each, via WRITEDATA",
        ),
        Workload(
            "W7",
            "/upload",
            1500,
            BIG_SIZE,
            "sequential keep-alive PUTs of 1 MiB from a new io.BytesIO each, via READDATA",
        ),
    ]
}

PEERS = ["pycurlcb", "pycurl", "c", "curl_cffi"]


@dataclass
class Counts:
    ok: int = 0  # transfers that completed with HTTP 200
    bytes: int = 0  # body bytes received


class WorkloadError(Exception):
    pass


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise WorkloadError(msg)


def big_body() -> bytes:
    """/big's body (nginx.py serves it) and W7's upload: 0..255 repeated, BIG_SIZE bytes."""
    return bytes(range(256)) * (BIG_SIZE // 256)


def check_big(data: bytes) -> None:
    check(len(data) == BIG_SIZE, f"/big body is {len(data)} bytes, expected {BIG_SIZE}")
    check(data[:256] == bytes(range(256)) and data[-1] == 255, "/big body content is wrong")


def make_sink() -> tuple[list[bytes], Callable[[bytes], int]]:
    """A WRITEFUNCTION shared by every Python peer: append the chunk, return its length."""
    chunks: list[bytes] = []

    def write(data: bytes) -> int:
        chunks.append(data)
        return len(data)

    return chunks, write


# --- pycurl and pycurlcb: one implementation, parametrised by the module -------


def w1_easy(mod: Any, url: str, n: int) -> Counts:
    calls = {"open": 0, "sockopt": 0, "close": 0}

    def opensocket(purpose: int, address: Any) -> socket.socket:
        calls["open"] += 1
        # pycurl passes libcurl dup(sock.fileno()); the object is closed when collected
        return socket.socket(address.family, address.socktype, address.protocol)

    def sockopt(fd: int, purpose: int) -> int:
        calls["sockopt"] += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0, fd)  # wraps, does not dup
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.detach()
        return mod.SOCKOPT_OK

    def closesocket(fd: int) -> int:
        calls["close"] += 1
        os.close(fd)
        return 0

    chunks, write = make_sink()
    c = mod.Curl()
    c.setopt(mod.URL, url + "/small")
    c.setopt(mod.FORBID_REUSE, 1)
    c.setopt(mod.OPENSOCKETFUNCTION, opensocket)
    c.setopt(mod.SOCKOPTFUNCTION, sockopt)
    c.setopt(mod.CLOSESOCKETFUNCTION, closesocket)
    c.setopt(mod.WRITEFUNCTION, write)
    counts = Counts()
    for _ in range(n):
        c.perform()
        check(c.getinfo(mod.RESPONSE_CODE) == 200, "W1: response code is not 200")
        counts.ok += 1
    c.close()
    counts.bytes = sum(map(len, chunks))
    check(
        calls == {"open": n, "sockopt": n, "close": n},
        f"W1: socket callbacks ran {calls}, expected {n} each",
    )
    return counts


def w2_easy(mod: Any, url: str, n: int) -> Counts:
    chunks, write = make_sink()
    c = mod.Curl()
    c.setopt(mod.URL, url + "/small")
    c.setopt(mod.WRITEFUNCTION, write)
    counts = Counts()
    for _ in range(n):
        c.perform()
        check(c.getinfo(mod.RESPONSE_CODE) == 200, "W2: response code is not 200")
        counts.ok += 1
    c.close()
    counts.bytes = sum(map(len, chunks))
    return counts


def w3_multi(mod: Any, url: str, n: int) -> Counts:
    """CurlMulti.socket_action driven by a selectors loop; handles are reused."""
    sel = selectors.DefaultSelector()
    registered: dict[int, int] = {}  # fd -> selectors events
    deadline: list[float | None] = [None]  # when libcurl's timer fires (loop time)
    clock = time.monotonic

    def on_socket(what: int, fd: int, multi: Any, socketp: Any) -> None:
        events = 0
        if what != mod.POLL_REMOVE:
            if what & mod.POLL_IN:
                events |= selectors.EVENT_READ
            if what & mod.POLL_OUT:
                events |= selectors.EVENT_WRITE
        old = registered.pop(fd, 0)
        if old and events:
            sel.modify(fd, events)
        elif old:
            sel.unregister(fd)
        elif events:
            sel.register(fd, events)
        if events:
            registered[fd] = events

    def on_timer(timeout_ms: int) -> None:
        deadline[0] = None if timeout_ms < 0 else clock() + timeout_ms / 1000

    m = mod.CurlMulti()
    m.setopt(mod.M_SOCKETFUNCTION, on_socket)
    m.setopt(mod.M_TIMERFUNCTION, on_timer)
    chunks, write = make_sink()
    target = url + "/small"
    handles = []
    for _ in range(min(CONCURRENCY, n)):
        c = mod.Curl()
        c.setopt(mod.URL, target)
        c.setopt(mod.WRITEFUNCTION, write)
        handles.append(c)
    started = 0
    for c in handles:
        m.add_handle(c)
        started += 1
    counts = Counts()
    while counts.ok < n:
        if deadline[0] is None:
            wait = 10.0  # nothing should take this long on loopback
        else:
            wait = max(0.0, deadline[0] - clock())
        events = sel.select(wait)
        for key, mask in events:
            ev = 0
            if mask & selectors.EVENT_READ:
                ev |= mod.CSELECT_IN
            if mask & selectors.EVENT_WRITE:
                ev |= mod.CSELECT_OUT
            m.socket_action(key.fd, ev)
        if deadline[0] is not None and clock() >= deadline[0]:
            deadline[0] = None
            m.socket_action(mod.SOCKET_TIMEOUT, 0)
        elif not events and deadline[0] is None:
            raise WorkloadError(f"W3: stalled after {counts.ok} transfers")
        while True:
            queued, ok_list, err_list = m.info_read()
            check(not err_list, f"W3: transfers failed: {err_list[:3]}")
            for c in ok_list:
                check(c.getinfo(mod.RESPONSE_CODE) == 200, "W3: response code is not 200")
                counts.ok += 1
                m.remove_handle(c)
                if started < n:
                    m.add_handle(c)
                    started += 1
            if not queued:
                break
    for c in handles:
        c.close()
    m.close()
    sel.close()
    counts.bytes = sum(map(len, chunks))
    return counts


def run_on(loop_name: str, main: Callable[[], Any]) -> None:
    """asyncio.run(main()) on asyncio's default loop, or on a new uvloop loop."""
    if loop_name == "asyncio":
        asyncio.run(main())
        return
    try:
        import uvloop
    except ImportError as exc:
        raise WorkloadError(f"uvloop is not installed: {exc}") from None
    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def w4_async(mod: Any, url: str, n: int, loop_name: str = "asyncio") -> Counts:
    """n tasks, at most CONCURRENCY at a time (a semaphore), each taking a Curl
    from a pool of CONCURRENCY handles and awaiting AsyncCurlMulti.perform."""
    if not hasattr(mod, "AsyncCurlMulti"):
        raise WorkloadError(f"{mod.__name__} has no AsyncCurlMulti")
    chunks, write = make_sink()
    target = url + "/small"
    counts = Counts()

    async def main() -> None:
        sem = asyncio.Semaphore(CONCURRENCY)
        pool = []
        for _ in range(CONCURRENCY):
            c = mod.Curl()
            c.setopt(mod.URL, target)
            c.setopt(mod.WRITEFUNCTION, write)
            pool.append(c)

        async with mod.AsyncCurlMulti() as multi:

            async def one() -> None:
                async with sem:
                    c = pool.pop()
                    try:
                        await multi.perform(c)
                        check(c.getinfo(mod.RESPONSE_CODE) == 200, "W4: response code is not 200")
                        counts.ok += 1
                    finally:
                        pool.append(c)

            await asyncio.gather(*(one() for _ in range(n)))
        for c in pool:
            c.close()

    run_on(loop_name, main)
    counts.bytes = sum(map(len, chunks))
    return counts


def w4t_trio(mod: Any, url: str, n: int) -> Counts:
    """W4 under trio: n tasks in a nursery, at most CONCURRENCY at a time (a
    CapacityLimiter), each taking a Curl from the pool and awaiting AsyncCurlMulti.perform."""
    try:
        import trio
    except ImportError as exc:
        raise WorkloadError(f"trio is not installed: {exc}") from None
    chunks, write = make_sink()
    target = url + "/small"
    counts = Counts()

    async def main() -> None:
        limiter = trio.CapacityLimiter(CONCURRENCY)
        pool = []
        for _ in range(CONCURRENCY):
            c = mod.Curl()
            c.setopt(mod.URL, target)
            c.setopt(mod.WRITEFUNCTION, write)
            pool.append(c)

        async with mod.AsyncCurlMulti() as multi:

            async def one() -> None:
                async with limiter:
                    c = pool.pop()
                    try:
                        await multi.perform(c)
                        check(c.getinfo(mod.RESPONSE_CODE) == 200, "W4t: response code is not 200")
                        counts.ok += 1
                    finally:
                        pool.append(c)

            async with trio.open_nursery() as nursery:
                for _ in range(n):
                    nursery.start_soon(one)
        for c in pool:
            c.close()

    trio.run(main)
    counts.bytes = sum(map(len, chunks))
    return counts


def w5_easy(mod: Any, url: str, n: int) -> Counts:
    chunks, write = make_sink()
    c = mod.Curl()
    c.setopt(mod.URL, url + "/big")
    c.setopt(mod.WRITEFUNCTION, write)
    counts = Counts()
    for _ in range(n):
        c.perform()
        check(c.getinfo(mod.RESPONSE_CODE) == 200, "W5: response code is not 200")
        data = b"".join(chunks)
        chunks.clear()
        check_big(data)
        counts.ok += 1
        counts.bytes += len(data)
    c.close()
    return counts


def w6_easy(mod: Any, url: str, n: int) -> Counts:
    """The most common pycurl pattern: setopt(WRITEDATA, BytesIO()), perform, getvalue."""
    c = mod.Curl()
    c.setopt(mod.URL, url + "/big")
    counts = Counts()
    for _ in range(n):
        buf = io.BytesIO()
        c.setopt(mod.WRITEDATA, buf)
        c.perform()
        check(c.getinfo(mod.RESPONSE_CODE) == 200, "W6: response code is not 200")
        data = buf.getvalue()
        check_big(data)
        counts.ok += 1
        counts.bytes += len(data)
    c.close()
    return counts


def w7_easy(mod: Any, url: str, n: int) -> Counts:
    """W6's upload twin: setopt(READDATA, BytesIO(body)), a PUT, perform."""
    body = big_body()
    c = mod.Curl()
    c.setopt(mod.URL, url + "/upload")
    c.setopt(mod.UPLOAD, 1)
    c.setopt(mod.INFILESIZE_LARGE, BIG_SIZE)
    c.setopt(mod.HTTPHEADER, ["Expect:"])  # no 100-continue round trip, in every peer
    counts = Counts()
    for _ in range(n):
        c.setopt(mod.READDATA, io.BytesIO(body))
        c.perform()
        check(c.getinfo(mod.RESPONSE_CODE) == 200, "W7: response code is not 200")
        sent = int(c.getinfo(mod.SIZE_UPLOAD_T))
        check(sent == BIG_SIZE, f"W7: {sent} bytes uploaded, expected {BIG_SIZE}")
        counts.ok += 1
        counts.bytes += sent
    c.close()
    return counts


# --- curl_cffi (bundles its own libcurl) ---------------------------------------


def w2_curl_cffi(url: str, n: int, path: str = "/small") -> Counts:
    """The low-level curl_cffi.Curl, the closest shape to W2: one handle, a
    WRITEFUNCTION. curl_cffi drops callback handles after every perform(), so
    the write callback is set again before each one (as its Session does)."""
    from curl_cffi import Curl, CurlInfo, CurlOpt

    chunks, write = make_sink()
    c = Curl()
    c.setopt(CurlOpt.URL, (url + path).encode())
    counts = Counts()
    for _ in range(n):
        c.setopt(CurlOpt.WRITEFUNCTION, write)
        c.perform()
        check(c.getinfo(CurlInfo.RESPONSE_CODE) == 200, "response code is not 200")
        if path == "/big":
            data = b"".join(chunks)
            chunks.clear()
            check_big(data)
            counts.bytes += len(data)
        counts.ok += 1
    c.close()
    if path != "/big":
        counts.bytes = sum(map(len, chunks))
    return counts


def w5_curl_cffi(url: str, n: int) -> Counts:
    return w2_curl_cffi(url, n, "/big")


def w6_curl_cffi(url: str, n: int) -> Counts:
    """curl_cffi.Curl's setopt(WRITEDATA, BytesIO()) (its C callback calls
    buffer.write with a copy of every chunk); set before each perform, as
    curl_cffi drops callback handles after perform."""
    from curl_cffi import Curl, CurlInfo, CurlOpt

    c = Curl()
    c.setopt(CurlOpt.URL, (url + "/big").encode())
    counts = Counts()
    for _ in range(n):
        buf = io.BytesIO()
        c.setopt(CurlOpt.WRITEDATA, buf)
        c.perform()
        check(c.getinfo(CurlInfo.RESPONSE_CODE) == 200, "W6: response code is not 200")
        data = buf.getvalue()
        check_big(data)
        counts.ok += 1
        counts.bytes += len(data)
    c.close()
    return counts


def w7_curl_cffi(url: str, n: int) -> Counts:
    """curl_cffi.Curl's setopt(READDATA, BytesIO(body)).  READDATA and
    HTTPHEADER are set before each perform: curl_cffi frees its header list
    after perform() while libcurl keeps the pointer (set once, the second
    perform() crashes with SIGSEGV in curl_cffi 0.17)."""
    from curl_cffi import Curl, CurlInfo, CurlOpt

    body = big_body()
    c = Curl()
    c.setopt(CurlOpt.URL, (url + "/upload").encode())
    c.setopt(CurlOpt.UPLOAD, 1)
    c.setopt(CurlOpt.INFILESIZE_LARGE, BIG_SIZE)
    counts = Counts()
    for _ in range(n):
        c.setopt(CurlOpt.HTTPHEADER, [b"Expect:"])
        c.setopt(CurlOpt.READDATA, io.BytesIO(body))
        c.perform()
        check(c.getinfo(CurlInfo.RESPONSE_CODE) == 200, "W7: response code is not 200")
        sent = int(c.getinfo(CurlInfo.SIZE_UPLOAD_T))
        check(sent == BIG_SIZE, f"W7: {sent} bytes uploaded, expected {BIG_SIZE}")
        counts.ok += 1
        counts.bytes += sent
    c.close()
    return counts


def w4_curl_cffi(url: str, n: int, loop_name: str = "asyncio") -> Counts:
    """curl_cffi's AsyncSession(max_clients=50), n tasks behind a semaphore of 50."""
    from curl_cffi.requests import AsyncSession

    counts = Counts()
    target = url + "/small"

    async def main() -> None:
        sem = asyncio.Semaphore(CONCURRENCY)
        async with AsyncSession(max_clients=CONCURRENCY) as s:

            async def one() -> None:
                async with sem:
                    r = await s.get(target)
                check(r.status_code == 200, "W4: response code is not 200")
                counts.ok += 1
                counts.bytes += len(r.content)

            await asyncio.gather(*(one() for _ in range(n)))

    run_on(loop_name, main)
    return counts


# --- dispatch -------------------------------------------------------------------

NOT_APPLICABLE = {
    ("W1", "curl_cffi"): "curl_cffi has no socket callbacks (opensocket/sockopt/closesocket)",
    ("W3", "curl_cffi"): "curl_cffi has no public socket_action API to drive from a selectors loop",
    ("W4t", "pycurl"): "pycurl's AsyncCurlMulti is asyncio-only (no trio support)",
    ("W4t", "curl_cffi"): "curl_cffi's AsyncSession is asyncio-only (no trio support)",
    ("W4t", "c"): "no trio in C: W4's C figure (the same epoll program) is the floor",
}

def w4u_async(mod: Any, url: str, n: int) -> Counts:
    return w4_async(mod, url, n, "uvloop")


def w4u_curl_cffi(url: str, n: int) -> Counts:
    return w4_curl_cffi(url, n, "uvloop")


_EASY = {
    "W1": w1_easy, "W2": w2_easy, "W3": w3_multi, "W4": w4_async, "W4u": w4u_async, "W4t": w4t_trio,
    "W5": w5_easy,
    "W6": w6_easy, "W7": w7_easy,
}
_CURL_CFFI = {
    "W2": w2_curl_cffi, "W4": w4_curl_cffi, "W4u": w4u_curl_cffi, "W5": w5_curl_cffi,
    "W6": w6_curl_cffi, "W7": w7_curl_cffi,
}


def get(workload: str, peer: str) -> Callable[[str, int], Counts]:
    """The Python function for (workload, peer); the module is imported here."""
    if peer in ("pycurl", "pycurlcb"):
        mod = importlib.import_module(peer)
        fn = _EASY[workload]
        return lambda url, n: fn(mod, url, n)
    if peer == "curl_cffi":
        return _CURL_CFFI[workload]
    raise ValueError(f"no Python workload for peer {peer!r}")
