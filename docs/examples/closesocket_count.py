"""Counting and keeping track of sockets with CURLOPT_CLOSESOCKETFUNCTION.

opensocket creates each socket and closesocket gets it back: together they
see every socket libcurl uses for its connections (the data socket an FTP
server connects back with in active mode is the exception, see
docs/closesocket.md).  closesocket owns the fd it is given: it must close it
(or keep it on purpose, as a pool would).

libcurl keeps a finished transfer's connection cached for the next one, so
the close usually comes later than perform(): from Curl.close(), or, when the
Curl ran on a multi handle, from the multi's connection cache, even after
that Curl is closed.  pycurlcb keeps the callbacks alive until then.

Run: python docs/examples/closesocket_count.py
"""

from __future__ import annotations

import asyncio
import os
import socket

import pycurlcb
from pycurlcb.cli.server import EmbeddedServer


class SocketLedger:
    """The opensocket/closesocket pair: which fds libcurl holds, and how many it used."""

    def __init__(self) -> None:
        self.live: dict[int, str] = {}  # fd -> "ip:port" it was opened for
        self.opened = 0
        self.closed = 0

    def opensocket(self, purpose: pycurlcb.SockType, address: pycurlcb.CurlSockAddr) -> int:
        fd = socket.socket(address.family, address.socktype, address.protocol).detach()
        self.live[fd] = "{}:{}".format(*address.addr[:2])
        self.opened += 1
        return fd

    def closesocket(self, fd: int) -> int:
        os.close(fd)  # ours to close now
        del self.live[fd]
        self.closed += 1
        return 0

    def install(self, curl: pycurlcb.Curl) -> None:
        curl.setopt(pycurlcb.OPENSOCKETFUNCTION, self.opensocket)
        curl.setopt(pycurlcb.CLOSESOCKETFUNCTION, self.closesocket)

    def __str__(self) -> str:
        return f"opened {self.opened}, closed {self.closed}, live {sorted(self.live.items())}"


def easy(url: str) -> None:
    ledger = SocketLedger()
    curl = pycurlcb.Curl()
    ledger.install(curl)
    curl.setopt(pycurlcb.URL, url)
    curl.setopt(pycurlcb.WRITEFUNCTION, lambda data: None)
    for _ in range(3):
        curl.perform()  # one connection, reused
    print("after 3 perform():   ", ledger)
    assert len(ledger.live) == 1
    curl.close()  # curl_easy_cleanup closes the cached connection
    print("after Curl.close():  ", ledger)
    assert ledger.live == {} and ledger.opened == ledger.closed == 1


async def multi(url: str) -> None:
    ledger = SocketLedger()
    async with pycurlcb.AsyncCurlMulti() as m:
        curl = pycurlcb.Curl()
        ledger.install(curl)
        curl.setopt(pycurlcb.URL, url)
        curl.setopt(pycurlcb.WRITEFUNCTION, lambda data: None)
        await m.perform(curl)
        curl.close()  # the connection stays in the multi's cache
        print("multi, Curl closed:  ", ledger)
        assert len(ledger.live) == 1
    # Leaving the block closes the multi: libcurl calls this Curl's closesocket now.
    print("after the multi:     ", ledger)
    assert ledger.live == {}


def main() -> None:
    with EmbeddedServer() as server:
        easy(server.url)
        asyncio.run(multi(server.url))


if __name__ == "__main__":
    main()
