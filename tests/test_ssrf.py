"""ssrf.refusal(): the --deny-private policy, a pure function (no network)."""

from __future__ import annotations

import socket

import pytest

from pycurlcb.ssrf import refusal

INET, INET6 = socket.AF_INET, socket.AF_INET6

# (host, what the reason must say); every host is refused and named in the reason.
REFUSED_V4 = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),  # the cloud metadata address
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("100.64.0.1", "non-public"),  # carrier-grade NAT, not private nor global
]
REFUSED_V6 = [
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("ff02::1", "multicast"),
    ("fec0::1", "site-local"),
    ("2001:db8::1", "private"),  # documentation
    ("::ffff:127.0.0.1", "IPv4-mapped IPv6 address of 127.0.0.1, a loopback"),
    ("::ffff:10.1.2.3", "IPv4-mapped IPv6 address of 10.1.2.3, a private"),
    ("::ffff:169.254.169.254", "IPv4-mapped IPv6 address of 169.254.169.254, a link-local"),
    ("2002:7f00:1::", "6to4 address of 127.0.0.1, a loopback"),
    ("2002:c0a8:101::1", "6to4 address of 192.168.1.1, a private"),
    ("64:ff9b::7f00:1", "NAT64 address of 127.0.0.1, a loopback"),
    ("64:ff9b::a00:1", "NAT64 address of 10.0.0.1, a private"),
]
ALLOWED_V4 = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "151.101.1.69"]
ALLOWED_V6 = [
    "2606:2800:220:1::",
    "2001:4860:4860::8888",
    "::ffff:93.184.216.34",  # IPv4-mapped public address
    "2002:5db8:d822::",  # 6to4 of 93.184.216.34
    "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
]


@pytest.mark.parametrize(("host", "says"), REFUSED_V4)
def test_refuses_ipv4(host: str, says: str) -> None:
    reason = refusal((host, 80), INET)
    assert reason is not None
    assert reason.startswith(host + " is ")
    assert says in reason


@pytest.mark.parametrize(("host", "says"), REFUSED_V6)
def test_refuses_ipv6(host: str, says: str) -> None:
    reason = refusal((host, 443, 0, 0), INET6)
    assert reason is not None
    assert reason.startswith(host + " is ")
    assert says in reason


@pytest.mark.parametrize("host", ALLOWED_V4)
def test_allows_public_ipv4(host: str) -> None:
    assert refusal((host, 80), INET) is None


@pytest.mark.parametrize("host", ALLOWED_V6)
def test_allows_public_ipv6(host: str) -> None:
    assert refusal((host, 443, 0, 0), INET6) is None


def test_ipv6_two_tuple_and_zone() -> None:
    assert refusal(("2606:2800:220:1::", 443), INET6) is None
    reason = refusal(("fe80::1%eth0", 80, 0, 2), INET6)
    assert reason is not None and "link-local" in reason


@pytest.mark.parametrize("path", ["/run/docker.sock", b"\0abstract"])
def test_refuses_unix_sockets(path: object) -> None:
    reason = refusal(path, socket.AF_UNIX)
    assert reason is not None and "Unix socket" in reason and "local" in reason


@pytest.mark.parametrize(
    ("addr", "family"),
    [
        (("not-an-ip", 80), INET),
        (("example.com", 80), INET6),
        ((2130706433, 80), INET),  # an int is not an address literal, even 127.0.0.1's
        (("::1", 80), INET),  # family mismatch
        (("127.0.0.1", 80), INET6),
        ((), INET),
        (b"\x00" * 16, 17),  # AF_PACKET: not an IP family
    ],
)
def test_fails_closed_on_anything_else(addr: object, family: int) -> None:
    assert refusal(addr, family) is not None
