"""Socket addresses as the command shows and reads them.

``format_addr`` and ``family_name`` write addresses in the socket module's
forms (those of ``CurlSockAddr.addr``) for the timeline.  The ``parse_*``
functions read option values and raise ValueError with a one-line message
that names what was expected; args.py turns it into a usage error.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

#: (family, address in the socket module's form): where a socket connects.
Target = tuple[int, tuple[Any, ...]]


def family_name(family: int) -> str:
    """``AF_INET``, ``AF_INET6``, ``AF_UNIX``, or ``family N``."""
    try:
        return socket.AddressFamily(family).name
    except ValueError:
        return f"family {family}"


def format_addr(family: int, addr: Any) -> str:
    """``1.2.3.4:80``, ``[::1]:80``, or a Unix path."""
    if family == socket.AF_INET6 and isinstance(addr, tuple):
        return f"[{addr[0]}]:{addr[1]}"
    if family == socket.AF_INET and isinstance(addr, tuple):
        return f"{addr[0]}:{addr[1]}"
    return str(addr)


def ip_port(ip: str, port: int) -> str:
    """``ip:port``, IPv6 in brackets (the form of CURLINFO_PRIMARY_IP / _PORT)."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def same_ip(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` are the same IP address (``::1`` == ``0::1``)."""
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def parse_ip(text: str) -> str:
    """An IP literal, brackets allowed around IPv6, in its normal form."""
    host = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def _port(text: str, what: str, allow_empty: bool = False) -> None:
    if allow_empty and text == "":
        return
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{what} must be a port number from 1 to 65535, got {text!r}")


def parse_rewrite_address(text: str) -> tuple[Target, ...]:
    """``ADDR:PORT`` (``--rewrite-address``) -> where opensocket sends sockets, one per family.

    ADDR is an IP literal (IPv6 in brackets) or a name, resolved here with
    ``socket.getaddrinfo`` (IPv4 and IPv6 addresses, the first of each).
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected ADDR:PORT (IPv6 in brackets), got {text!r}")
    _port(port_text, "PORT")
    port = int(port_text)
    try:
        ip = parse_ip(host)
    except ValueError:
        if host.startswith("["):
            raise
    else:
        if ipaddress.ip_address(ip).version == 6:
            return ((socket.AF_INET6, (ip, port, 0, 0)),)
        return ((socket.AF_INET, (ip, port)),)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ValueError(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
    targets: dict[int, Target] = {}
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            targets.setdefault(family, (family, tuple(sockaddr)))
    if not targets:
        raise ValueError(f"{host!r} has no IPv4 or IPv6 address")
    return tuple(targets.values())


def _split_outside_brackets(text: str) -> list[str]:
    parts, current, depth = [], "", 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def parse_connect_to(text: str) -> str:
    """``HOST1:PORT1:HOST2:PORT2`` (``--connect-to``), checked; returned as given.

    curl's syntax, for CURLOPT_CONNECT_TO(3): connections to HOST1:PORT1 go to
    HOST2:PORT2 instead.  An empty HOST1 or PORT1 matches any host or port; an
    empty HOST2 or PORT2 keeps the URL's.  IPv6 addresses in brackets.
    """
    parts = _split_outside_brackets(text)
    if len(parts) != 4:
        raise ValueError(f"expected HOST1:PORT1:HOST2:PORT2 (IPv6 in brackets), got {text!r}")
    host1, port1, host2, port2 = parts
    for host in (host1, host2):
        if host.startswith("[") or host.endswith("]"):
            parse_ip(host)  # a bracketed host must be an IPv6 literal
    _port(port1, "PORT1", allow_empty=True)
    _port(port2, "PORT2", allow_empty=True)
    return text
