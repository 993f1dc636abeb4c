"""An SSRF guard in CURLOPT_OPENSOCKETFUNCTION: refuse private addresses.

The check runs in opensocket, on the address libcurl is about to connect to,
after DNS: a host name that resolves to 127.0.0.1 (or to a public address the
first time and a private one the next, "DNS rebinding") is caught, and a
redirect to such an address would be too.  Returning None refuses that one
address; libcurl tries the host's other addresses, and when none is left
perform() raises pycurlcb.error with E_COULDNT_CONNECT.

Run: python docs/examples/ssrf_guard.py
"""

from __future__ import annotations

import io
import socket

import pycurlcb
from pycurlcb.cli.server import EmbeddedServer
from pycurlcb.ssrf import refusal


class Guard:
    """opensocket(purpose, address): a socket for public addresses, None for the rest."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, purpose: pycurlcb.SockType, address: pycurlcb.CurlSockAddr) -> int | None:
        reason = refusal(address.addr, address.family)
        if reason is not None:
            self.refused.append(reason)
            return None  # refused: libcurl never connects there
        sock = socket.socket(address.family, address.socktype, address.protocol)
        return sock.detach()  # an int fd: ownership passes to libcurl


def fetch(url: str, guard: Guard | None) -> bytes:
    body = io.BytesIO()
    with pycurlcb.Curl() as curl:
        curl.setopt(pycurlcb.URL, url)
        curl.setopt(pycurlcb.WRITEDATA, body)
        if guard is not None:
            curl.setopt(pycurlcb.OPENSOCKETFUNCTION, guard)
        curl.perform()
    return body.getvalue()


def main() -> None:
    with EmbeddedServer() as server:
        url = server.url
        print("without the guard:", fetch(url, None).decode().strip())

        guard = Guard()
        try:
            fetch(url, guard)
        except pycurlcb.error as exc:
            print(f"with the guard:    {exc.name}, refused: {'; '.join(guard.refused)}")
            assert exc.code == pycurlcb.E_COULDNT_CONNECT
        else:
            raise AssertionError("the guard let a loopback connection through")

    # Pure policy, no network: what the guard would say of some addresses.
    for host in ("10.0.0.5", "169.254.169.254", "::ffff:127.0.0.1", "93.184.216.34"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        print(f"  {host:18} {refusal((host, 80), family) or 'allowed'}")


if __name__ == "__main__":
    main()
