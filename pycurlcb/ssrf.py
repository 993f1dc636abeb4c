"""The address policy of ``--deny-private``: refuse what is not a public address.

``refusal(addr, family)`` is a pure function over the socket module's address
forms (those an opensocket callback receives in ``CurlSockAddr.addr``).  It
returns ``None`` for an address a server may be asked to connect to, or a
one-line reason naming the refused address.

Refused, IPv4 and IPv6 alike, using the standard library's ``ipaddress``
classification: loopback, private, link-local, site-local (IPv6), multicast,
unspecified, reserved, and anything else ``ipaddress`` does not call globally
reachable (100.64.0.0/10, ...).  IPv6 forms that carry an IPv4 address are
judged by that IPv4 address: IPv4-mapped (``::ffff:127.0.0.1``), 6to4
(``2002:7f00:1::``) and the NAT64 well-known prefix (``64:ff9b::7f00:1``).
AF_UNIX paths are local by definition and refused; so is any other family
(fail closed).

Use it where the address is final, in opensocket, after DNS: a check of the
URL's host name before the transfer can be bypassed by a name that resolves
differently the second time (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Optional, Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

#: RFC 6052's well-known prefix: the last 32 bits are an IPv4 address.
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")

# (attribute of the address, what to call it), checked in this order.
_CATEGORIES = (
    ("is_unspecified", "an unspecified"),
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_site_local", "a site-local"),
    ("is_reserved", "a reserved"),
    ("is_private", "a private"),
)


def _category(ip: IPAddress) -> Optional[str]:
    """Why ``ip`` (a plain address, no embedded IPv4) is refused, or None."""
    for attr, name in _CATEGORIES:
        if getattr(ip, attr, False):
            return f"{name} address"
    if not ip.is_global:
        return "a non-public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> Optional[tuple[str, ipaddress.IPv4Address]]:
    """(form name, IPv4 address) for an IPv6 address that carries one."""
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6", ip.ipv4_mapped
    if ip.sixtofour is not None:
        return "a 6to4", ip.sixtofour
    if ip in NAT64_WELL_KNOWN:
        return "a NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _reason(ip: IPAddress) -> Optional[str]:
    """What ``ip`` is, if that is refused ("a loopback address"), else None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            form, ipv4 = embedded
            reason = _category(ipv4)
            return None if reason is None else f"{form} address of {ipv4}, {reason}"
    return _category(ip)


def ip_refusal(ip: IPAddress) -> Optional[str]:
    """The reason ``ip`` is refused, naming it, or None if it is public."""
    reason = _reason(ip)
    return None if reason is None else f"{ip} is {reason}"


def refusal(addr: Any, family: int) -> Optional[str]:
    """Why connecting to ``addr`` must be refused, or None to allow it.

    addr: the socket module's form for ``family``: AF_INET ``(host, port)``,
    AF_INET6 ``(host, port, flowinfo, scope_id)`` (``(host, port)`` also
    accepted), AF_UNIX a str or bytes path.  family: an AF_* int.
    Returns a one-line reason that names the refused address, e.g.
    ``"127.0.0.1 is a loopback address"``.  Never raises for a malformed
    address: it is refused.
    """
    if family == getattr(socket, "AF_UNIX", None):
        return f"Unix socket {addr!r} is a local address"
    if family not in (socket.AF_INET, socket.AF_INET6):
        return f"address family {family} is not an IP family"
    host = addr[0] if isinstance(addr, tuple) and addr else addr
    if not isinstance(host, str):
        return f"{host!r} is not an IP address literal"
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return f"{host!r} is not an IP address literal"
    if (ip.version == 4) != (family == socket.AF_INET):
        return f"{host} is not an address of family {socket.AddressFamily(family).name}"
    reason = _reason(ip)
    return None if reason is None else f"{host} is {reason}"
