"""Fetch 100 URLs concurrently with AsyncCurlMulti.

``await multi.perform(curl)`` transfers one Curl on the running asyncio loop
and returns it; ``asyncio.gather`` runs them all at once.  AsyncCurlMulti
drives libcurl's multi socket interface (docs/event-loop.md): on Linux its C
driver keeps every socket in one epoll set that the loop watches, so Python
runs once per wake-up of the loop; ``--driver python`` uses pycurl's driver
(loop.add_reader/add_writer per socket, call_soon/call_later for the timer).
No thread, no polling either way.

The local server is pycurlcb's embedded one (pycurlcb.cli.server, the
standard library's http.server, a thread per connection, a listen backlog
of 1024 so 100 simultaneous connects need no SYN retry).  It answers
``hello <client ip>:<client port>``, so each body can be checked against the
local port of its own connection.  Runs on uvloop too:
``python docs/examples/asyncio_100.py --uvloop``.

Run: python docs/examples/asyncio_100.py [--uvloop] [--driver epoll|python]
"""

from __future__ import annotations

import asyncio
import sys
import time

import pycurlcb
from pycurlcb.cli.server import EmbeddedServer

N = 100


async def fetch_all(urls: list[str], driver: str | None = None) -> list[tuple[pycurlcb.Curl, bytes]]:
    bodies: list[list[bytes]] = [[] for _ in urls]
    curls = []
    for url, body in zip(urls, bodies):
        curl = pycurlcb.Curl()
        curl.setopt(pycurlcb.URL, url)
        curl.setopt(pycurlcb.WRITEFUNCTION, body.append)
        curls.append(curl)
    async with pycurlcb.AsyncCurlMulti(driver=driver) as multi:
        # Each perform() resolves to its Curl, or raises pycurlcb.error as
        # Curl.perform() would; return_exceptions keeps one failure from
        # hiding the others.
        done = await asyncio.gather(*(multi.perform(c) for c in curls), return_exceptions=True)
    for result in done:
        if isinstance(result, BaseException):
            raise result
    return [(curl, b"".join(body)) for curl, body in zip(curls, bodies)]


async def main(base_url: str, driver: str | None = None) -> None:
    urls = [f"{base_url}item/{i}" for i in range(N)]
    t0 = time.perf_counter()
    results = await fetch_all(urls, driver)  # closes its multi: every connection is closed
    elapsed = time.perf_counter() - t0
    ports = set()
    for curl, body in results:
        local_port = curl.getinfo(pycurlcb.LOCAL_PORT)
        assert curl.getinfo(pycurlcb.RESPONSE_CODE) == 200
        assert body.decode().strip() == f"hello 127.0.0.1:{local_port}", body
        ports.add(local_port)
        curl.close()
    print(
        f"fetched {len(results)} URLs in {elapsed * 1000:.0f} ms over {len(ports)} connections"
        f" ({pycurlcb.async_multi.DEFAULT_DRIVER if driver is None else driver} driver)"
    )
    print(f"first: {urls[0]} -> {results[0][1].decode().strip()}")


if __name__ == "__main__":
    args = sys.argv[1:]
    chosen = args[args.index("--driver") + 1] if "--driver" in args else None
    with EmbeddedServer() as server:
        if "--uvloop" in args:
            import uvloop

            uvloop.run(main(server.url, chosen))
        else:
            asyncio.run(main(server.url, chosen))
