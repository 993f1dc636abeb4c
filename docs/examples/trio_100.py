"""Fetch 100 URLs, 10 at a time, with AsyncCurlMulti under trio or AnyIO.

The same AsyncCurlMulti as on asyncio: it sees which library runs it (sniffio)
and waits on its one epoll fd with that library's own primitive
(``trio.lowlevel.wait_readable`` under trio).  ``await multi.perform(curl)``
returns the Curl or raises ``pycurlcb.error``; cancelling the awaiting task
(here a ``move_on_after`` around one transfer to a server that never
answers) removes that transfer and leaves the others running.

The local server is pycurlcb's embedded one (pycurlcb.cli.server); it answers
``hello <client ip>:<client port>``.  The stalled transfer goes to a socket
that accepts connections and never answers.

Run: python docs/examples/trio_100.py [--anyio-asyncio | --anyio-trio]
     (pip install 'pycurlcb[trio]' or 'pycurlcb[anyio]')
"""

from __future__ import annotations

import socket
import sys
import time

import pycurlcb
from pycurlcb.cli.server import EmbeddedServer

N = 100
AT_ONCE = 10


async def trio_main(base_url: str, stall_url: str) -> None:
    import trio

    results: dict[int, bytes] = {}
    limiter = trio.CapacityLimiter(AT_ONCE)
    t0 = time.perf_counter()
    async with pycurlcb.AsyncCurlMulti() as multi:

        async def fetch(i: int) -> None:
            async with limiter:
                body: list[bytes] = []
                curl = pycurlcb.Curl()
                curl.setopt(pycurlcb.URL, f"{base_url}item/{i}")
                curl.setopt(pycurlcb.WRITEFUNCTION, body.append)
                try:
                    await multi.perform(curl)  # pycurlcb.error if it fails
                    assert curl.getinfo(pycurlcb.RESPONSE_CODE) == 200
                    results[i] = b"".join(body)
                finally:
                    curl.close()

        async def stalled() -> None:
            curl = pycurlcb.Curl()
            curl.setopt(pycurlcb.URL, stall_url)
            with trio.move_on_after(0.2) as scope:  # removes the transfer, the others go on
                await multi.perform(curl)
            assert scope.cancelled_caught
            curl.close()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(stalled)
            for i in range(N):
                nursery.start_soon(fetch, i)
    report(results, time.perf_counter() - t0, "trio")


async def anyio_main(base_url: str, stall_url: str) -> None:
    import anyio
    import sniffio

    results: dict[int, bytes] = {}
    limiter = anyio.CapacityLimiter(AT_ONCE)
    t0 = time.perf_counter()
    async with pycurlcb.AsyncCurlMulti() as multi:

        async def fetch(i: int) -> None:
            async with limiter:
                body: list[bytes] = []
                curl = pycurlcb.Curl()
                curl.setopt(pycurlcb.URL, f"{base_url}item/{i}")
                curl.setopt(pycurlcb.WRITEFUNCTION, body.append)
                try:
                    await multi.perform(curl)
                    results[i] = b"".join(body)
                finally:
                    curl.close()

        async def stalled() -> None:
            curl = pycurlcb.Curl()
            curl.setopt(pycurlcb.URL, stall_url)
            with anyio.move_on_after(0.2):
                await multi.perform(curl)
            curl.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(stalled)
            for i in range(N):
                tg.start_soon(fetch, i)
    report(results, time.perf_counter() - t0, f"anyio on {sniffio.current_async_library()}")


def report(results: dict[int, bytes], elapsed: float, how: str) -> None:
    assert sorted(results) == list(range(N))
    assert all(body.startswith(b"hello 127.0.0.1:") for body in results.values())
    print(f"fetched {len(results)} URLs, {AT_ONCE} at a time, in {elapsed * 1000:.0f} ms ({how});"
          " one stalled transfer cancelled after 200 ms")


if __name__ == "__main__":
    args = sys.argv[1:]
    with EmbeddedServer() as server, socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # connects complete in the backlog; nothing is ever read or sent
        stall_url = f"http://127.0.0.1:{silent.getsockname()[1]}/never"
        if "--anyio-asyncio" in args or "--anyio-trio" in args:
            import anyio

            backend = "trio" if "--anyio-trio" in args else "asyncio"
            anyio.run(anyio_main, server.url, stall_url, backend=backend)
        else:
            import trio

            trio.run(trio_main, server.url, stall_url)
