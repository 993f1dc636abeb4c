"""Address translation in CURLOPT_OPENSOCKETFUNCTION: connect somewhere else.

libcurl lets the opensocket callback modify the address it is about to
connect to.  pycurlcb exposes that: return ``(socket_or_fd, new_address)``,
the new address in the socket module's form for the socket's family, and
libcurl connects there.  The URL (and so the Host header, TLS SNI and
certificate check) stays as it was, much as curl's --connect-to.

Here the URL names 192.0.2.1 (TEST-NET-1, where nothing ever answers) and a
routing table sends that address to the local server.

Run: python docs/examples/address_translation.py
"""

from __future__ import annotations

import io
import socket
from typing import Any

import pycurlcb
from pycurlcb.cli.server import EmbeddedServer


class Router:
    """opensocket(purpose, address): the socket, and where it should connect."""

    def __init__(self, routes: dict[tuple[str, int], tuple[str, int]]) -> None:
        self.routes = routes
        self.log: list[str] = []

    def __call__(self, purpose: pycurlcb.SockType, address: pycurlcb.CurlSockAddr) -> Any:
        host, port = address.addr[:2]
        new = self.routes.get((host, port))
        sock = socket.socket(address.family, address.socktype, address.protocol)
        if new is None:
            return sock.detach()  # unchanged
        self.log.append(f"{host}:{port} -> {new[0]}:{new[1]}")
        # Same family (AF_INET) here; a socket object instead of an int fd
        # would let the new address be of another family than the old one.
        return sock.detach(), new


def main() -> None:
    with EmbeddedServer() as server:
        router = Router({("192.0.2.1", 80): ("127.0.0.1", server.port)})
        body = io.BytesIO()
        with pycurlcb.Curl() as curl:
            curl.setopt(pycurlcb.URL, "http://192.0.2.1/hello")
            curl.setopt(pycurlcb.WRITEDATA, body)
            curl.setopt(pycurlcb.OPENSOCKETFUNCTION, router)
            curl.setopt(pycurlcb.CONNECTTIMEOUT, 5)  # only if the rewrite did not happen
            curl.perform()
            status = curl.getinfo(pycurlcb.RESPONSE_CODE)
        print("rewrote:", *router.log)
        print(f"status {status}:", body.getvalue().decode().strip())
        assert status == 200 and router.log


if __name__ == "__main__":
    main()
