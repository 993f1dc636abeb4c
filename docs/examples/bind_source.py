"""Bind the source address in CURLOPT_OPENSOCKETFUNCTION.

The callback creates the socket itself, so it can bind() it before libcurl
connects: choose the source address (a given interface's address, a source
port range, ...).  libcurl's own CURLOPT_INTERFACE does the same inside
libcurl; doing it here lets the choice depend on the destination.

On Linux every 127/8 address is local, so the example binds to 127.0.0.2
and the server sees the connection come from there.

Run: python docs/examples/bind_source.py
"""

from __future__ import annotations

import io
import socket

import pycurlcb
from pycurlcb.cli.server import EmbeddedServer


def can_bind(ip: str) -> bool:
    with socket.socket() as s:
        try:
            s.bind((ip, 0))
        except OSError:
            return False
    return True


def bound_to(source_ip: str) -> pycurlcb.Curl:
    """A Curl whose IPv4 sockets are bound to source_ip before they connect."""

    def opensocket(purpose: pycurlcb.SockType, address: pycurlcb.CurlSockAddr) -> int | None:
        if address.family != socket.AF_INET:
            return None  # an IPv4 source cannot reach an IPv6 address: skip this one
        sock = socket.socket(address.family, address.socktype, address.protocol)
        try:
            sock.bind((source_ip, 0))  # port 0: any free port
        except OSError:
            sock.close()
            raise  # perform() raises this same OSError; nothing is connected
        return sock.detach()

    curl = pycurlcb.Curl()
    curl.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
    return curl


def main() -> None:
    source = "127.0.0.2" if can_bind("127.0.0.2") else "127.0.0.1"
    with EmbeddedServer() as server:
        url = server.url
        body = io.BytesIO()
        with bound_to(source) as curl:
            curl.setopt(pycurlcb.URL, url)
            curl.setopt(pycurlcb.WRITEDATA, body)
            curl.perform()
            local = f"{curl.getinfo(pycurlcb.LOCAL_IP)}:{curl.getinfo(pycurlcb.LOCAL_PORT)}"
        print("libcurl's LOCAL_IP:LOCAL_PORT:", local)
        print("the server says:", body.getvalue().decode().strip())
        assert body.getvalue().decode().startswith(f"hello {source}:")

        # An address that is not ours: bind() fails, and perform() raises that OSError.
        with bound_to("192.0.2.55") as curl:
            curl.setopt(pycurlcb.URL, url)
            try:
                curl.perform()
            except OSError as exc:
                print("binding 192.0.2.55:", exc.strerror)


if __name__ == "__main__":
    main()
