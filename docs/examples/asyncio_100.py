"""Fetch 100 URLs concurrently with AsyncCurlMulti.

``await multi.perform(curl)`` transfers one Curl on the running asyncio loop
and returns it; ``asyncio.gather`` runs them all at once.  AsyncCurlMulti
drives libcurl's multi socket interface (docs/event-loop.md): on Linux its C
driver keeps every socket in one epoll set that the loop watches, so Python
runs once per wake-up of the loop; ``--driver python`` uses pycurl's driver
(loop.add_reader/add_writer per socket, call_soon/call_later for the timer).
No thread, no polling either way.

The local HTTP/1.1 server runs on the same loop (a few lines of
asyncio.Protocol below; a stdlib http.server's listen backlog of 5 would
turn 100 simultaneous connects into SYN retries).  It answers
``hello <client ip>:<client port>``, so each body can be checked against the
local port of its own connection.  Runs on uvloop too:
``python docs/examples/asyncio_100.py --uvloop``.

Run: python docs/examples/asyncio_100.py [--uvloop] [--driver epoll|python]
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import pycurlcb

N = 100


class HelloServer(asyncio.Protocol):
    """One connection: answer every GET with ``hello <ip>:<port>``, keep-alive."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport  # uvloop's is not an asyncio.Transport subclass
        self.buffer = b""
        ip, port = transport.get_extra_info("peername")[:2]
        self.body = f"hello {ip}:{port}\n".encode()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:  # one request head (GET: no body)
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(self.body), self.body)
            )


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


async def main(driver: str | None = None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HelloServer, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    urls = [f"http://127.0.0.1:{port}/item/{i}" for i in range(N)]
    t0 = time.perf_counter()
    results = await fetch_all(urls, driver)  # closes its multi: every connection is closed
    elapsed = time.perf_counter() - t0
    server.close()
    await server.wait_closed()
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
    if "--uvloop" in args:
        import uvloop

        uvloop.run(main(chosen))
    else:
        asyncio.run(main(chosen))
