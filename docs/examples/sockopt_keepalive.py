"""TCP keepalive and TCP_NODELAY in CURLOPT_SOCKOPTFUNCTION.

libcurl calls sockopt(fd, purpose) after it created a socket and before it
connects it.  The fd belongs to libcurl: wrap it in a socket object to call
setsockopt(), then detach() so the wrapper does not close it.  Return
SOCKOPT_OK (or None); SOCKOPT_ERROR aborts the transfer with
E_ABORTED_BY_CALLBACK, and an exception aborts it and comes back from
perform() as the same object.

(libcurl has options for these two, CURLOPT_TCP_KEEPALIVE and
CURLOPT_TCP_NODELAY; the callback is for what it has no option for, or for
settings that depend on the purpose or the fd.)

Run: python docs/examples/sockopt_keepalive.py
"""

from __future__ import annotations

import io
import socket

import pycurlcb
from pycurlcb.cli.server import EmbeddedServer

#: (name, level, option, value); the TCP_KEEP* names are Linux's.
OPTIONS = [
    ("SO_KEEPALIVE", socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
    ("TCP_NODELAY", socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
] + [
    (name, socket.IPPROTO_TCP, getattr(socket, name), value)
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
]


def sockopt(fd: int, purpose: pycurlcb.SockType) -> int:
    sock = socket.socket(fileno=fd)  # borrows libcurl's fd ...
    try:
        for _name, level, option, value in OPTIONS:
            sock.setsockopt(level, option, value)
        applied = " ".join(f"{n}={sock.getsockopt(lv, o)}" for n, lv, o, _ in OPTIONS)
    finally:
        sock.detach()  # ... and gives it back without closing it
    print(f"sockopt(fd={fd}, purpose={purpose.name}): {applied}")
    return pycurlcb.SOCKOPT_OK


def main() -> None:
    with EmbeddedServer() as server:
        url = server.url
        body = io.BytesIO()
        with pycurlcb.Curl() as curl:
            curl.setopt(pycurlcb.URL, url)
            curl.setopt(pycurlcb.WRITEDATA, body)
            curl.setopt(pycurlcb.SOCKOPTFUNCTION, sockopt)
            curl.perform()
            print("status", curl.getinfo(pycurlcb.RESPONSE_CODE), body.getvalue().decode().strip())

            # Refusing in sockopt: libcurl closes the socket, perform() raises.
            curl.setopt(pycurlcb.FRESH_CONNECT, 1)  # a new socket, not the cached one
            curl.setopt(pycurlcb.SOCKOPTFUNCTION, lambda fd, purpose: pycurlcb.SOCKOPT_ERROR)
            try:
                curl.perform()
            except pycurlcb.error as exc:
                print("SOCKOPT_ERROR ->", exc.name)
                assert exc.code == pycurlcb.E_ABORTED_BY_CALLBACK


if __name__ == "__main__":
    main()
