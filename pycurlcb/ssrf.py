"""SSRF protection checked where libcurl connects: ``Policy``, ``AddressRefused``.

A ``Policy`` attached to a Curl, a CurlMulti or an AsyncCurlMulti is checked
on the address of every connection libcurl opens for a guarded transfer,
after DNS and after any rewrite, in the OPENSOCKETFUNCTION trampoline
(CURLOPT_OPENSOCKETFUNCTION(3)); a connection libcurl would reuse is
checked again on its peer address in the PREREQFUNCTION trampoline
(CURLOPT_PREREQFUNCTION(3), libcurl 7.80.0; older libcurls get
CURLOPT_FRESH_CONNECT instead).  Routes that would connect somewhere the
check cannot see are closed: environment proxy variables are never used,
an explicit PROXY/PRE_PROXY refuses the transfer unless
``allow_proxy=True`` (then the proxy's own address is what is checked),
DOH_URL always refuses it.  docs/ssrf.md has the threat model.

The verdicts come from this module's table of the IANA IPv4 and IPv6
Special-Purpose Address Registries (plus multicast, 240.0.0.0/4 and IPv6
outside 2000::/3), never from ``ipaddress``'s ``is_*`` predicates, whose
answers changed between Python 3.12 and 3.13 (CVE-2024-4032).  Every IPv6
form that embeds an IPv4 address (IPv4-mapped, -compatible, -translated,
6to4, Teredo, NAT64) is denied, whatever the IPv4 inside.
"""

from __future__ import annotations

import _socket as _sock  # the C module: socket.py costs import time
import ipaddress
from collections.abc import Iterable
from typing import Any, NamedTuple, Optional, Union

from ._ffi import ffi, lib
from .errors import CurlConnectionError

__all__ = ["DEFAULT_DENY", "GLOBAL_UNICAST", "AddressRefused", "Policy", "Refusal", "refusal"]

Network = Union[str, ipaddress.IPv4Network, ipaddress.IPv6Network]

_AF_INET, _AF_INET6 = _sock.AF_INET, _sock.AF_INET6
_AF_UNIX = getattr(_sock, "AF_UNIX", None)

# --- the default table ------------------------------------------------------------------
#
# (network, what it is, where it is defined).  Denied unless a Policy's
# ``allow`` opens it.  The IANA registries:
# https://www.iana.org/assignments/iana-ipv4-special-registry/
# https://www.iana.org/assignments/iana-ipv6-special-registry/
# A more specific entry gives its own reason (longest prefix first).
DEFAULT_DENY: tuple[tuple[str, str, str], ...] = (
    # IPv4 Special-Purpose Address Registry
    ("0.0.0.0/8", "'this network'", "RFC 791"),
    ("0.0.0.0/32", "'this host on this network'", "RFC 1122"),
    ("10.0.0.0/8", "private-use", "RFC 1918"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)", "RFC 6598"),
    ("127.0.0.0/8", "loopback", "RFC 1122"),
    ("169.254.0.0/16", "link-local", "RFC 3927"),
    ("172.16.0.0/12", "private-use", "RFC 1918"),
    ("192.0.0.0/24", "IETF protocol assignments", "RFC 6890"),
    ("192.0.0.0/29", "IPv4 service continuity prefix", "RFC 7335"),
    ("192.0.0.8/32", "IPv4 dummy address", "RFC 7600"),
    ("192.0.0.9/32", "Port Control Protocol anycast", "RFC 7723"),
    ("192.0.0.10/32", "TURN anycast", "RFC 8155"),
    ("192.0.0.170/31", "NAT64/DNS64 discovery", "RFC 8880"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)", "RFC 5737"),
    ("192.31.196.0/24", "AS112-v4", "RFC 7535"),
    ("192.52.193.0/24", "AMT", "RFC 7450"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast", "RFC 7526"),
    ("192.168.0.0/16", "private-use", "RFC 1918"),
    ("192.175.48.0/24", "direct delegation AS112 service", "RFC 7534"),
    ("198.18.0.0/15", "benchmarking", "RFC 2544"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)", "RFC 5737"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)", "RFC 5737"),
    ("224.0.0.0/4", "multicast", "RFC 5771"),
    ("240.0.0.0/4", "reserved", "RFC 1112"),
    ("255.255.255.255/32", "limited broadcast", "RFC 919"),
    # IPv6 Special-Purpose Address Registry
    ("::/128", "unspecified", "RFC 4291"),
    ("::1/128", "loopback", "RFC 4291"),
    ("::/96", "IPv4-compatible (deprecated)", "RFC 4291"),
    ("::ffff:0:0/96", "IPv4-mapped", "RFC 4291"),
    ("::ffff:0:0:0/96", "IPv4-translated", "RFC 2765"),
    ("64:ff9b::/96", "IPv4/IPv6 translation (NAT64)", "RFC 6052"),
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation (NAT64)", "RFC 8215"),
    ("100::/64", "discard-only", "RFC 6666"),
    ("100:0:0:1::/64", "dummy IPv6 prefix", "RFC 9780"),
    ("2001::/23", "IETF protocol assignments", "RFC 2928"),
    ("2001::/32", "Teredo", "RFC 4380"),
    ("2001:1::1/128", "Port Control Protocol anycast", "RFC 7723"),
    ("2001:1::2/128", "TURN anycast", "RFC 8155"),
    ("2001:1::3/128", "DNS-SD SRP anycast", "RFC 9665"),
    ("2001:2::/48", "benchmarking", "RFC 5180"),
    ("2001:3::/32", "AMT", "RFC 7450"),
    ("2001:4:112::/48", "AS112-v6", "RFC 7535"),
    ("2001:10::/28", "deprecated ORCHID", "RFC 4843"),
    ("2001:20::/28", "ORCHIDv2", "RFC 7343"),
    ("2001:30::/28", "drone remote ID entity tags", "RFC 9374"),
    ("2001:db8::/32", "documentation", "RFC 3849"),
    ("2002::/16", "6to4", "RFC 3056"),
    ("2620:4f:8000::/48", "direct delegation AS112 service", "RFC 7534"),
    ("3fff::/20", "documentation", "RFC 9637"),
    ("5f00::/16", "segment routing (SRv6) SIDs", "RFC 9602"),
    ("fc00::/7", "unique-local", "RFC 4193"),
    ("fe80::/10", "link-local", "RFC 4291"),
    ("fec0::/10", "site-local (deprecated)", "RFC 3879"),
    ("ff00::/8", "multicast", "RFC 4291"),
)
#: IPv6 outside this range is not global unicast: denied (RFC 4291 section 2.4).
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


class _Table:
    """Networks of one family for longest-prefix lookups on an address as an int."""

    __slots__ = ("bits", "levels")

    def __init__(self, bits: int, entries: Iterable[tuple[Any, str]]) -> None:
        self.bits = bits
        by_len: dict[int, dict[int, tuple[Any, str]]] = {}
        for net, reason in entries:
            by_len.setdefault(net.prefixlen, {}).setdefault(
                int(net.network_address) >> (bits - net.prefixlen), (net, reason)
            )
        #: (shift, {address >> shift: (network, what it is)}), most specific first
        self.levels = tuple((bits - n, by_len[n]) for n in sorted(by_len, reverse=True))

    def find(self, value: int) -> Optional[tuple[Any, str]]:
        for shift, nets in self.levels:
            hit = nets.get(value >> shift)
            if hit is not None:
                return hit
        return None


def _default_tables() -> tuple[_Table, _Table]:
    nets = [(ipaddress.ip_network(n), f"{what}, {src}") for n, what, src in DEFAULT_DENY]
    return (
        _Table(32, [(n, r) for n, r in nets if n.version == 4]),
        _Table(128, [(n, r) for n, r in nets if n.version == 6]),
    )


_DEFAULT_V4, _DEFAULT_V6 = _default_tables()


def _embedded_ipv4(value: int) -> tuple[int, ...]:
    """The IPv4 addresses an IPv6 address (as an int) carries, for the ``deny`` list."""
    low = value & 0xFFFFFFFF
    top96 = value >> 32
    if top96 in (0xFFFF, 0, 0xFFFF0000) or top96 == 0x0064FF9B << 64:
        return (low,)  # mapped, compatible, translated, NAT64 /96 (RFC 4291, 2765, 6052)
    if value >> 80 == 0x0064FF9B0001:  # RFC 8215's /48: octets 6-7 and 9-10 (RFC 6052 2.2)
        return (((value >> 64) & 0xFFFF) << 16 | (value >> 40) & 0xFFFF,)
    if value >> 112 == 0x2002:  # 6to4: bits 16..47
        return ((value >> 80) & 0xFFFFFFFF,)
    if value >> 96 == 0x20010000:  # Teredo: the server, and the client (inverted)
        return ((value >> 64) & 0xFFFFFFFF, low ^ 0xFFFFFFFF)
    return ()


def _networks(value: Any, what: str) -> list[Union[ipaddress.IPv4Network, ipaddress.IPv6Network]]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(
            f"Policy({what}=...) expects an iterable of CIDR strings or ipaddress networks, "
            f"not {type(value).__name__}"
        )
    nets = []
    for item in value:
        if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            nets.append(item)
            continue
        if not isinstance(item, str):
            raise TypeError(
                f"Policy({what}=...): {item!r} is not a CIDR string or an ipaddress network"
            )
        try:
            nets.append(ipaddress.ip_network(item))
        except ValueError as exc:
            raise ValueError(f"Policy({what}=...): {item!r} is not a network: {exc}") from None
    return nets


def _ports(value: Any) -> Optional[frozenset[int]]:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"Policy(ports=...) expects None or a set of ints, not {type(value).__name__}")
    ports = frozenset(value)
    for port in ports:
        if type(port) is not int or not 1 <= port <= 0xFFFF:
            raise ValueError(f"Policy(ports=...): {port!r} is not a port number from 1 to 65535")
    return ports


def _parse_host(host: Any) -> tuple[int, int, str]:
    """(family, address as an int, its text) for an IP literal or ipaddress address."""
    if isinstance(host, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return (_AF_INET if host.version == 4 else _AF_INET6), int(host), str(host)
    if not isinstance(host, str):
        raise TypeError(f"Policy.check() expects an IP address literal (str), not {type(host).__name__}")
    text = host.split("%", 1)[0]  # an IPv6 zone id (fe80::1%eth0) does not change the verdict
    for family in (_AF_INET, _AF_INET6):
        try:
            raw = _sock.inet_pton(family, text)
        except OSError:
            continue
        return family, int.from_bytes(raw, "big"), text
    raise ValueError(f"Policy.check(): {host!r} is not an IP address literal")


class Policy:
    """Policy(*, allow=(), deny=(), ports=None, allow_proxy=False): where a guarded transfer may connect.

    allow, deny: iterables of CIDR strings ("10.0.0.0/8", "fd00::/8", a
      bare address is a /32 or /128) or ``ipaddress`` networks.  An address
      in ``deny`` is refused; else one in ``allow`` is allowed (it opens a
      range the defaults deny, e.g. one internal service); else one in the
      default table (``DEFAULT_DENY``, IPv6 outside 2000::/3) is refused;
      else it is allowed.  ``deny`` also matches the IPv4 address inside an
      IPv6 form that embeds one.
    ports: None (any destination port) or a set of ports (ints 1-65535).
    allow_proxy: let a transfer use an explicit PROXY/PRE_PROXY; the
      policy then checks the proxy's address only, not where the proxy
      connects (docs/ssrf.md).

    Raises TypeError or ValueError naming the argument for bad input.
    ``attach()`` guards a Curl, CurlMulti or AsyncCurlMulti; ``check()`` is
    the pure verdict.
    """

    __slots__ = ("allow", "deny", "ports", "allow_proxy", "_allow", "_deny", "_c")

    def __init__(
        self,
        *,
        allow: Iterable[Network] = (),
        deny: Iterable[Network] = (),
        ports: Optional[Iterable[int]] = None,
        allow_proxy: bool = False,
    ) -> None:
        if not isinstance(allow_proxy, bool):
            raise TypeError(f"Policy(allow_proxy=...) expects a bool, not {type(allow_proxy).__name__}")
        allowed, denied = _networks(allow, "allow"), _networks(deny, "deny")
        #: The ``allow`` networks, as given (ipaddress networks).
        self.allow = tuple(allowed)
        #: The ``deny`` networks.
        self.deny = tuple(denied)
        #: None, or the frozenset of allowed destination ports.
        self.ports = _ports(ports)
        self.allow_proxy = allow_proxy
        self._allow = self._tables(allowed, "in the policy's allow list")
        self._deny = self._tables(denied, "denied by the policy")
        self._c: Any = None  # its struct pcb_guard_policy parts, made on first attach (c_policy)

    @staticmethod
    def _tables(nets: list[Any], what: str) -> tuple[_Table, _Table]:
        return (
            _Table(32, [(n, what) for n in nets if n.version == 4]),
            _Table(128, [(n, what) for n in nets if n.version == 6]),
        )

    def __repr__(self) -> str:
        return (
            f"Policy(allow={[str(n) for n in self.allow]}, deny={[str(n) for n in self.deny]}, "
            f"ports={None if self.ports is None else sorted(self.ports)}, "
            f"allow_proxy={self.allow_proxy})"
        )

    def check(self, host: Any, port: Optional[int] = None) -> Optional[str]:
        """The verdict for ``host``: None if allowed, else a one-line reason.

        host: an IP address literal (str; an IPv6 zone id is accepted) or an
        ``ipaddress`` address.  port: the destination port, or None to skip
        the ``ports`` rule.  The reason names the address and the range, e.g.
        ``"127.0.0.1 is in 127.0.0.0/8 (loopback, RFC 1122)"``.  Raises
        ValueError for a host that is not an IP literal (a host name has no
        verdict: check the address it resolves to), TypeError for other types.
        """
        family, value, text = _parse_host(host)
        if port is not None and (type(port) is not int or not 0 <= port <= 0xFFFF):
            raise ValueError(f"Policy.check(): port must be an int from 0 to 65535, got {port!r}")
        return self._verdict(family, value, text, port)

    def _verdict(self, family: int, value: int, text: str, port: Optional[int]) -> Optional[str]:
        """check() on a parsed address: ``value`` the address as an int."""
        v6 = family == _AF_INET6
        deny4, deny6 = self._deny
        hit = (deny6 if v6 else deny4).find(value)
        if hit is None and v6 and deny4.levels:
            for ipv4 in _embedded_ipv4(value):
                inner = deny4.find(ipv4)
                if inner is not None:
                    return f"{text} embeds {ipaddress.IPv4Address(ipv4)}, which is in {inner[0]} ({inner[1]})"
        if hit is None and self._allow[v6].find(value) is None:
            hit = (_DEFAULT_V6 if v6 else _DEFAULT_V4).find(value)
            if hit is None and v6 and value >> 125 != 1:
                return f"{text} is outside {_net_text(GLOBAL_UNICAST)} (not global unicast, RFC 4291)"
        if hit is not None:
            return f"{text} is in {_net_text(hit[0])} ({hit[1]})"
        ports = self.ports
        if port is not None and ports is not None and port not in ports:
            allowed = ", ".join(map(str, sorted(ports)))
            return f"{text} port {port} is not one of the policy's ports ({allowed})"
        return None

    def attach(self, handle: Any) -> None:
        """Guard ``handle``: a Curl, a CurlMulti or an AsyncCurlMulti.

        On a multi, every transfer it runs is guarded, those added before
        included, for as long as they are added (on top of a Curl's own
        policy: both must allow).  Attaching a second policy to a handle
        replaces the first.  The policy stays through setopt/unsetopt of any
        option, ``Curl.reset()`` and ``Curl.duphandle()`` (the copy carries
        it).  TypeError for another object, ``pycurlcb.error`` for a closed
        handle.
        """
        _setter(handle, "attach")(handle, self)

    def detach(self, handle: Any) -> None:
        """Remove ``handle``'s policy (whichever is attached): its options are again as set."""
        _setter(handle, "detach")(handle, None)


def _net_text(net: Any) -> str:
    """``net`` as RFC 5952 writes it, the same on every Python: from 3.13,
    str() writes an IPv4-mapped IPv6 address with a dotted quad
    (``::ffff:0.0.0.0/96``; earlier ``::ffff:0:0/96``)."""
    if net.version == 4:
        return str(net)
    value = int(net.network_address)
    groups = [(value >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    best, at = 1, -1  # the longest run of zero groups, if two or more
    run = 0
    for i, g in enumerate(groups):
        run = run + 1 if g == 0 else 0
        if run > best:
            best, at = run, i - run + 1
    hexes = [f"{g:x}" for g in groups]
    if at >= 0:
        text = ":".join(hexes[:at]) + "::" + ":".join(hexes[at + best:])
    else:
        text = ":".join(hexes)
    return f"{text}/{net.prefixlen}"


_DEFAULT_NETS = tuple(ipaddress.ip_network(n) for n, _, _ in DEFAULT_DENY)


def _c_rules(policy: Policy) -> list[tuple[int, int, int, bytes]]:
    """(v6, prefix length, kind, packed network) rows for guard.c, in _verdict's
    terms: kind 0 the policy's deny, 1 its allow, 2 the default table."""
    rows = []
    for kind, nets in ((0, policy.deny), (1, policy.allow), (2, _DEFAULT_NETS)):
        for net in nets:
            packed = net.network_address.packed.ljust(16, b"\0")
            rows.append((int(net.version == 6), net.prefixlen, kind, packed))
    return rows


def c_policy(policy: Policy) -> Any:
    """``policy`` as guard.c's struct pcb_guard_policy (made once, kept on the policy)."""
    if policy._c is None:
        rows = _c_rules(policy)
        rules = ffi.new("struct pcb_guard_rule[]", max(1, len(rows)))
        for i, (v6, plen, kind, packed) in enumerate(rows):
            rule = rules[i]
            rule.v6, rule.plen, rule.kind = v6, plen, kind
            ffi.memmove(rule.addr, packed, 16)
        ports = sorted(policy.ports) if policy.ports is not None else []
        cports = ffi.new("unsigned short[]", max(1, len(ports)))
        for i, port in enumerate(ports):
            cports[i] = port
        policy._c = (rules, cports, {
            "nrules": len(rows), "rules": rules, "deny4": int(any(n.version == 4 for n in policy.deny)),
            "nports": -1 if policy.ports is None else len(ports), "ports": cports,
        })
    return policy._c


class CGuard:
    """A Guard as guard.c's struct pcb_guard (``g``), for pcb_guard_opensocket and
    pcb_guard_prereq: allowed addresses are checked in C; a refused one goes on to
    the Python trampolines with ``clientp`` (the Curl's), which record the reason.
    The object keeps every part of the struct alive: hold it while libcurl may call."""

    __slots__ = ("g", "_parts")

    def __init__(self, guard: Guard, clientp: Any) -> None:
        parts = [c_policy(p) for p in guard.policies]
        policies = ffi.new("struct pcb_guard_policy[]", max(1, len(parts)))
        for i, (_, _, fields) in enumerate(parts):
            for name, value in fields.items():
                setattr(policies[i], name, value)
        self._parts = (parts, policies)
        self.g = ffi.new("struct pcb_guard *", {
            "clientp": clientp, "blocked": int(guard.blocked is not None),
            "npolicies": len(parts), "policies": policies,
        })


def _setter(handle: Any, what: str) -> Any:
    """The handle type's ``_set_policy(handle, policy_or_None)``: the seam each
    guarded handle type (Curl, CurlMulti, AsyncCurlMulti) provides."""
    setter = getattr(type(handle), "_set_policy", None)
    if setter is None:
        raise TypeError(
            f"Policy.{what}() expects a Curl, CurlMulti or AsyncCurlMulti, not {type(handle).__name__}"
        )
    return setter


#: Anything refused ends the transfer with this code (a refused connect is libcurl's too).
COULDNT_CONNECT: int = lib.CURLE_COULDNT_CONNECT


class Refusal(NamedTuple):
    """One connection attempt a policy refused: address (text), port, reason."""

    address: str
    port: int
    reason: str


class Guard:
    """What a guarded Curl checks at connect time: its policies (all must allow),
    or, when a route the policies forbid is set (``blocked``), nothing at all."""

    __slots__ = ("policies", "blocked")

    def __init__(self, policies: tuple[Policy, ...], blocked: Optional[str]) -> None:
        self.policies = policies
        self.blocked = blocked

    def refuse(self, family: int, raw: Any, port: int) -> Optional[str]:
        """The reason to refuse connecting to ``raw``, or None.

        family, raw, port: as ``sockaddr.packed()`` gives them (the packed
        address bytes of an IP family, the path of AF_UNIX).

        Port 0 is a listening socket libcurl binds (FTP active mode), never a
        connection: allowed unless a route is blocked.
        """
        if self.blocked is not None:
            return self.blocked
        if family == _AF_INET or family == _AF_INET6:
            if port == 0:
                return None
            value = int.from_bytes(raw, "big")
            text = _sock.inet_ntop(family, raw)
            for policy in self.policies:
                reason = policy._verdict(family, value, text, port)
                if reason is not None:
                    return reason
            return None
        if family == _AF_UNIX:
            return f"Unix socket {raw!r} is a local address"
        return f"address family {family} is not an IP family"

    def refuse_peer(self, host: str, port: int) -> Optional[str]:
        """The reason to refuse a connection libcurl reuses, whose peer is ``host`` (a literal)."""
        if self.blocked is not None:
            return self.blocked
        try:
            family, value, text = _parse_host(host)
        except ValueError:
            return f"the connection's peer {host!r} is not an IP address"
        for policy in self.policies:
            reason = policy._verdict(family, value, text, port)
            if reason is not None:
                return reason
        return None


def route_refusal(routes: dict[str, Any], policies: tuple[Policy, ...]) -> Optional[str]:
    """Why a guarded transfer with these route options set cannot run, or None.

    routes: option name -> the value the user set (PROXY, PRE_PROXY, DOH_URL).
    """
    for name in ("PROXY", "PRE_PROXY"):
        value = routes.get(name)
        if value and not all(p.allow_proxy for p in policies):
            return (
                f"the transfer is set to use the proxy {_shown(value)} ({name}), and its SSRF "
                f"policy does not allow proxies (Policy(allow_proxy=True) checks the proxy's address)"
            )
    value = routes.get("DOH_URL")
    if value:
        return (
            f"the transfer is set to resolve names with DNS-over-HTTPS at {_shown(value)} (DOH_URL), "
            "whose requests the SSRF policy cannot check"
        )
    return None


def _shown(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "backslashreplace")
    return repr(value)


class AddressRefused(CurlConnectionError):
    """A guarded transfer was refused: every address it would connect to is
    one its policy denies (or a route it is set to use is one the policy forbids).

    A ``pycurlcb.error`` with ``args == (E_COULDNT_CONNECT, message)``, the
    message naming the address and the reason.  ``address`` (text), ``port``
    and ``reason`` are those of the last refused attempt; ``refused`` lists
    every refused attempt of the transfer as ``Refusal`` tuples, in order.
    Raised by ``Curl.perform()`` and by an AsyncCurlMulti's awaited
    ``perform()``; a CurlMulti's ``info_read()`` lists the transfer with
    E_COULDNT_CONNECT and this message.
    """

    address: str
    port: int
    reason: str
    refused: tuple[Refusal, ...]

    def __init__(self, *args: Any, refused: Iterable[Refusal] = (), detail: str = "") -> None:
        super().__init__(*args, detail=detail)
        self.refused = tuple(refused)
        last = self.refused[-1] if self.refused else Refusal("", 0, "")
        self.address, self.port, self.reason = last


def refused_message(refused: list[Refusal]) -> str:
    """The error text for a transfer whose attempts were refused: the last one, and how many."""
    last = refused[-1]
    where = f"{last.address} port {last.port}" if last.address else "the connection"
    more = f" ({len(refused)} attempts refused)" if len(refused) > 1 else ""
    return f"SSRF policy refused {where}: {last.reason}{more}"


def refused_error(refused: list[Refusal]) -> AddressRefused:
    """The AddressRefused for a transfer's refused attempts (not empty)."""
    message = refused_message(refused)
    return AddressRefused(COULDNT_CONNECT, message, refused=refused, detail=message)


# --- the function of earlier releases --------------------------------------------------

_DEFAULT = Policy()


def refusal(addr: Any, family: int) -> Optional[str]:
    """Why the default Policy refuses connecting to ``addr``, or None to allow it.

    addr: the socket module's form for ``family`` (an opensocket callback's
    ``address.addr``): AF_INET ``(host, port)``, AF_INET6 ``(host, port,
    flowinfo, scope_id)`` or ``(host, port)``, AF_UNIX a str or bytes path.
    family: an AF_* int.  Never raises for a malformed address: it is refused.
    ``Policy().attach(curl)`` is the guard to use; this is its verdict alone.
    """
    if family == _AF_UNIX:
        return f"Unix socket {addr!r} is a local address"
    if family not in (_AF_INET, _AF_INET6):
        return f"address family {family} is not an IP family"
    host = addr[0] if isinstance(addr, tuple) and addr else addr
    if not isinstance(host, str):
        return f"{host!r} is not an IP address literal"
    try:
        parsed, value, text = _parse_host(host)
    except ValueError:
        return f"{host!r} is not an IP address literal"
    if parsed != family:
        return f"{host} is not an address of family {'AF_INET' if family == _AF_INET else 'AF_INET6'}"
    return _DEFAULT._verdict(parsed, value, host, None)
