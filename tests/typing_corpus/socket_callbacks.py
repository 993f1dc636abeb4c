"""The socket callbacks, a debug callback, progress and the multi socket API."""

import socket
import sys
from typing import Any, Optional

import pycurl

opened: list[int] = []


def opensocket(purpose: int, address: Any) -> socket.socket:
    sock = socket.socket(address.family, address.socktype, address.protocol)
    opened.append(purpose)
    return sock


def sockopt(fd: int, purpose: int) -> int:
    return pycurl.SOCKOPT_OK


def closesocket(fd: int) -> int:
    socket.close(fd)
    return 0


def debug(kind: int, data: bytes) -> None:
    if kind == pycurl.INFOTYPE_TEXT:
        pass


def progress(dltotal: int, dlnow: int, ultotal: int, ulnow: int) -> Optional[int]:
    return None


def main(url: str) -> None:
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.OPENSOCKETFUNCTION, opensocket)
    c.setopt(pycurl.SOCKOPTFUNCTION, sockopt)
    c.setopt(pycurl.CLOSESOCKETFUNCTION, closesocket)
    c.setopt(pycurl.DEBUGFUNCTION, debug)
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.NOPROGRESS, 0)
    c.setopt(pycurl.XFERINFOFUNCTION, progress)
    c.setopt(pycurl.WRITEFUNCTION, lambda data: None)

    timeouts: list[int] = []
    sockets: dict[int, int] = {}

    def on_socket(what: int, fd: int, multi: pycurl.CurlMulti, data: Any) -> None:
        if what == pycurl.POLL_REMOVE:
            sockets.pop(fd, None)
        else:
            sockets[fd] = what

    def on_timer(timeout_ms: int) -> None:
        timeouts.append(timeout_ms)

    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_SOCKETFUNCTION, on_socket)
    m.setopt(pycurl.M_TIMERFUNCTION, on_timer)
    m.add_handle(c)
    running = 1
    while running:
        _, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        for fd, what in list(sockets.items()):
            mask = pycurl.CSELECT_IN if what & pycurl.POLL_IN else pycurl.CSELECT_OUT
            _, running = m.socket_action(fd, mask)
        if running:
            m.select(0.05)
    m.remove_handle(c)
    m.close()
    c.close()
    print(opened, len(timeouts) > 0)


if __name__ == "__main__":
    main(sys.argv[1])
