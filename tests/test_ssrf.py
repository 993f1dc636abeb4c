"""pycurlcb.ssrf: the Policy's verdicts (pure, no network) and, against real local
servers, every route a guarded transfer could take around it.

Loopback plays the network: 127.0.0.1 is "the internal service" (denied by the
default table), 127.0.0.3 "a public site" (opened with ``allow``), 127.0.0.2 a
forward proxy.  Each bypass test first shows the attack getting through
without the policy, then the policy stopping it.
"""

from __future__ import annotations

import asyncio
import http.client
import http.server
import io
import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any, Optional

import pytest
from fds import open_fds
from hypothesis import given, settings
from hypothesis import strategies as st
from servers import FixedBodyHandler, StdlibServer, ipv6_loopback_available, make_tls_server
from ssrf_vectors import ALLOWED_BY_PEERS, DENIED_BY_PEERS

import pycurlcb
from pycurlcb import ssrf
from pycurlcb.ssrf import AddressRefused, Policy, refusal
from pycurlcb.version import LIBCURL_VERSION_NUM

INET, INET6 = socket.AF_INET, socket.AF_INET6
DEFAULT = Policy()

# --- verdicts ------------------------------------------------------------------------------

# (host, the range its reason must name): the default table, one per kind of entry.
DENIED = [
    ("127.0.0.1", "127.0.0.0/8 (loopback"),
    ("127.255.255.254", "127.0.0.0/8"),
    ("0.0.0.0", "0.0.0.0/32"),
    ("0.1.2.3", "0.0.0.0/8"),
    ("10.0.0.1", "10.0.0.0/8 (private-use"),
    ("100.64.0.1", "100.64.0.0/10"),
    ("169.254.169.254", "169.254.0.0/16 (link-local"),  # the cloud metadata address
    ("172.16.5.4", "172.16.0.0/12"),
    ("172.31.255.255", "172.16.0.0/12"),
    ("192.0.0.1", "192.0.0.0/29"),
    ("192.0.0.8", "192.0.0.8/32"),  # is_global up to Python 3.12.1
    ("192.0.0.9", "192.0.0.9/32"),  # globally reachable in IANA's table
    ("192.0.0.10", "192.0.0.10/32"),
    ("192.0.0.171", "192.0.0.170/31"),
    ("192.0.0.255", "192.0.0.0/24"),  # is_global up to Python 3.12.1
    ("192.0.2.1", "192.0.2.0/24"),
    ("192.31.196.1", "192.31.196.0/24"),
    ("192.52.193.1", "192.52.193.0/24"),
    ("192.88.99.1", "192.88.99.0/24"),  # is_global on every Python
    ("192.168.1.1", "192.168.0.0/16"),
    ("192.175.48.1", "192.175.48.0/24"),
    ("198.18.0.1", "198.18.0.0/15"),
    ("198.51.100.1", "198.51.100.0/24"),
    ("203.0.113.1", "203.0.113.0/24"),
    ("224.0.0.1", "224.0.0.0/4 (multicast"),
    ("239.255.255.250", "224.0.0.0/4"),
    ("240.0.0.1", "240.0.0.0/4"),
    ("255.255.255.255", "255.255.255.255/32"),
    ("::", "::/128 (unspecified"),
    ("::1", "::1/128 (loopback"),
    ("::7f00:1", "::/96 (IPv4-compatible"),
    ("::ffff:127.0.0.1", "::ffff:0:0/96 (IPv4-mapped"),
    ("::ffff:93.184.216.34", "::ffff:0:0/96"),  # a public IPv4 inside: still denied
    ("::ffff:0:5db8:d822", "::ffff:0:0:0/96 (IPv4-translated"),
    ("64:ff9b::7f00:1", "64:ff9b::/96"),
    ("64:ff9b::5db8:d822", "64:ff9b::/96"),
    ("64:ff9b:1::1", "64:ff9b:1::/48"),
    ("100::1", "100::/64"),
    ("2001::1", "2001::/32 (Teredo"),
    ("2001:1::1", "2001:1::1/128"),  # is_global from Python 3.13.0
    ("2001:1::4", "2001::/23"),
    ("2001:2::1", "2001:2::/48"),
    ("2001:3::1", "2001:3::/32"),  # is_global from Python 3.13.0
    ("2001:4:112::1", "2001:4:112::/48"),  # is_global from Python 3.13.0
    ("2001:10::1", "2001:10::/28"),
    ("2001:20::1", "2001:20::/28"),  # is_global from Python 3.13.0
    ("2001:30::1", "2001:30::/28"),  # is_global from Python 3.13.0
    ("2001:db8::1", "2001:db8::/32 (documentation"),
    ("2002:7f00:1::", "2002::/16 (6to4"),
    ("2002:5db8:d822::", "2002::/16"),  # 6to4 of a public IPv4: still denied
    ("2620:4f:8000::1", "2620:4f:8000::/48"),
    ("3fff::1", "3fff::/20"),
    ("5f00::1", "5f00::/16"),
    ("fc00::1", "fc00::/7 (unique-local"),
    ("fd12:3456:789a::1", "fc00::/7"),
    ("fe80::1", "fe80::/10 (link-local"),
    ("fec0::1", "fec0::/10"),
    ("ff02::1", "ff00::/8 (multicast"),
    ("4000::1", "outside 2000::/3"),
    ("1::", "outside 2000::/3"),
]
ALLOWED = [
    "93.184.216.34", "8.8.8.8", "1.1.1.1", "151.101.1.69", "192.0.1.255", "192.0.3.0",
    "192.88.98.255", "192.88.100.0", "100.63.255.255", "100.128.0.0", "172.15.255.255",
    "172.32.0.0", "223.255.255.255",
    "2606:2800:220:1::", "2001:4860:4860::8888", "2001:200::1", "2620:4f:7fff::1",
    "3ffe::1", "2003::1",
]


@pytest.mark.parametrize(("host", "names"), DENIED)
def test_default_policy_denies_the_special_purpose_ranges(host: str, names: str) -> None:
    reason = DEFAULT.check(host, 443)
    assert reason is not None
    assert reason.startswith(f"{host} is "), reason
    assert names in reason


@pytest.mark.parametrize("host", ALLOWED)
def test_default_policy_allows_public_unicast(host: str) -> None:
    assert DEFAULT.check(host) is None
    assert DEFAULT.check(host, 443) is None


def _all_predicates_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: Any) -> bool:
        raise AssertionError("ipaddress's predicates must not decide the verdict")

    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network,
                ipaddress.IPv6Network):
        for name in dir(cls):
            if name.startswith("is_") or name in ("ipv4_mapped", "sixtofour", "teredo"):
                monkeypatch.setattr(cls, name, property(boom))


def test_verdicts_do_not_come_from_ipaddress_predicates(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same answers on every Python: with every is_* predicate raising.
    expected = [DEFAULT.check(h, 80) for h, _ in DENIED] + [DEFAULT.check(h, 80) for h in ALLOWED]
    _all_predicates_raise(monkeypatch)
    fresh = Policy(allow=["10.0.0.0/8"], deny=["8.8.8.0/24"])
    assert [DEFAULT.check(h, 80) for h, _ in DENIED] + [DEFAULT.check(h, 80) for h in ALLOWED] == expected
    assert fresh.check("10.1.1.1") is None and fresh.check("8.8.8.8") is not None


def _c_verdict(policy: Policy, host: str, port: int) -> bool:
    """guard.c's verdict (True: refused) for ``host``, as the guard installed on a Curl has it."""
    from pycurlcb._ffi import ffi, lib

    cguard = ssrf.CGuard(ssrf.Guard((policy,), None), ffi.NULL)
    family = INET6 if ":" in host else INET
    raw = socket.inet_pton(family, host)
    return bool(lib.pcb_guard_refuses(cguard.g, family, raw, port))


_POLICIES = [
    DEFAULT,
    Policy(allow=["10.0.0.0/8", "::ffff:0:0/96", "2002::/16", "2001::/32", "64:ff9b::/96", "fc00::/7"],
           deny=["10.9.0.0/16", "93.184.216.0/24", "2606:2800::/32"], ports={80, 443}),
    Policy(allow=["0.0.0.0/0", "::/0"], deny=["127.0.0.1/32"]),
]


@given(
    which=st.integers(0, len(_POLICIES) - 1),
    v6=st.booleans(),
    value=st.integers(0, 2**128 - 1),
    port=st.integers(1, 65535),
)
@settings(max_examples=3000, deadline=None)
def test_the_c_check_agrees_with_the_python_verdict(which: int, v6: bool, value: int, port: int) -> None:
    # guard.c decides for allowed addresses without calling Python: it must never
    # allow what ssrf.Policy._verdict refuses (nor refuse what it allows).
    policy = _POLICIES[which]
    host = str(ipaddress.IPv6Address(value) if v6 else ipaddress.IPv4Address(value >> 96))
    assert _c_verdict(policy, host, port) == (policy.check(host, port) is not None), host


@pytest.mark.parametrize("policy", _POLICIES, ids=["default", "allow-deny-ports", "allow-all"])
def test_the_c_check_agrees_on_every_vector(policy: Policy) -> None:
    hosts = [h for h, _ in DENIED] + ALLOWED
    hosts += [a for table in (DENIED_BY_PEERS, ALLOWED_BY_PEERS)
              for _, addrs in table.values() for a in addrs]
    for host in hosts:
        for port in (80, 8080):
            assert _c_verdict(policy, host, port) == (policy.check(host, port) is not None), (host, port)
    # The ranges' edges, where an off-by-one in a prefix compare would show.
    for net in [*ssrf._DEFAULT_NETS, *policy.allow, *policy.deny]:
        first, last = int(net.network_address), int(net.broadcast_address)
        for value in (first - 1, first, last, last + 1):
            if 0 <= value < 2 ** net.max_prefixlen:
                host = str(ipaddress.IPv6Address(value) if net.version == 6 else ipaddress.IPv4Address(value))
                assert _c_verdict(policy, host, 80) == (policy.check(host, 80) is not None), host


def _peers(table: dict[str, tuple[str, tuple[str, ...]]]) -> list[Any]:
    return [pytest.param(addr, id=f"{peer}:{addr}") for peer, (_, addrs) in table.items() for addr in addrs]


@pytest.mark.parametrize("addr", _peers(DENIED_BY_PEERS))
def test_denies_everything_the_peers_deny(addr: str) -> None:
    # advocate, smokescreen, ssrf_filter and safeurl, on their own vectors (ssrf_vectors.py
    # cites each file): the default policy is at least as strict as the strictest.
    assert DEFAULT.check(addr, 80) is not None


# smokescreen's tests allow 64:ff9c::1 (in ::/8, IETF-reserved, outside 2000::/3):
# pycurlcb denies all IPv6 outside the global unicast range, deliberately stricter.
STRICTER_THAN_PEERS = {"64:ff9c::1"}


@pytest.mark.parametrize("addr", _peers(ALLOWED_BY_PEERS))
def test_allows_the_public_addresses_the_peers_allow(addr: str) -> None:
    if addr in STRICTER_THAN_PEERS:
        assert DEFAULT.check(addr) is not None
    else:
        assert DEFAULT.check(addr) is None


def test_allow_opens_a_default_denied_range_and_deny_wins() -> None:
    policy = Policy(allow=["10.0.0.0/8", ipaddress.ip_network("fd00::/8")], deny=["10.9.0.0/16"])
    assert policy.check("10.0.0.5") is None
    assert policy.check("fd00::5") is None
    assert policy.check("10.9.1.1") == "10.9.1.1 is in 10.9.0.0/16 (denied by the policy)"
    assert policy.check("127.0.0.1") is not None  # the rest of the defaults stay
    overlap = Policy(allow=["10.0.0.0/8"], deny=["10.0.0.0/8"])
    assert overlap.check("10.0.0.1") is not None


def test_deny_matches_the_ipv4_inside_an_embedding_form() -> None:
    # Opening the IPv4-mapped range does not open a denied IPv4 address through it.
    policy = Policy(allow=["::ffff:0:0/96", "2002::/16", "64:ff9b::/96", "2001::/32"],
                    deny=["93.184.216.0/24"])
    for host in ("::ffff:93.184.216.34", "2002:5db8:d822::1", "64:ff9b::5db8:d822",
                 "2001:0:5db8:d822::"):
        reason = policy.check(host)
        assert reason is not None and "embeds 93.184.216.34" in reason, (host, reason)
    assert policy.check("::ffff:8.8.8.8") is None


def test_ports_rule_and_check_without_a_port() -> None:
    policy = Policy(ports={80, 443})
    assert policy.check("8.8.8.8", 443) is None
    assert policy.check("8.8.8.8", 22) == "8.8.8.8 port 22 is not one of the policy's ports (80, 443)"
    assert policy.check("8.8.8.8") is None  # no port: the port rule is skipped


def test_check_accepts_zone_ids_and_ipaddress_objects() -> None:
    assert DEFAULT.check("fe80::1%eth0") == "fe80::1 is in fe80::/10 (link-local, RFC 4291)"
    assert DEFAULT.check(ipaddress.ip_address("10.0.0.1")) is not None
    assert DEFAULT.check(ipaddress.ip_address("8.8.8.8")) is None


@pytest.mark.parametrize(
    ("kwargs", "exc", "says"),
    [
        ({"allow": "10.0.0.0/8"}, TypeError, "allow=...) expects an iterable"),
        ({"deny": ["10.0.0.5/24"]}, ValueError, "'10.0.0.5/24' is not a network"),
        ({"allow": [42]}, TypeError, "42 is not a CIDR string"),
        ({"ports": {0}}, ValueError, "0 is not a port number"),
        ({"ports": 443}, TypeError, "ports=...) expects None or a set of ints"),
        ({"allow_proxy": 1}, TypeError, "allow_proxy=...) expects a bool"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, Any], exc: type[Exception], says: str) -> None:
    with pytest.raises(exc, match=says.replace("(", r"\(").replace(")", r"\)")):
        Policy(**kwargs)


@pytest.mark.parametrize("host", ["example.com", "127.1", "2130706433", "", "[::1]"])
def test_check_refuses_to_judge_a_non_literal(host: str) -> None:
    with pytest.raises(ValueError, match="is not an IP address literal"):
        DEFAULT.check(host)


def test_attach_takes_only_handles() -> None:
    with pytest.raises(TypeError, match="expects a Curl, CurlMulti or AsyncCurlMulti, not str"):
        DEFAULT.attach("curl")
    curl = pycurlcb.Curl()
    curl.close()
    with pytest.raises(pycurlcb.error, match="no curl handle"):
        DEFAULT.attach(curl)


# The function of earlier releases, now the default Policy's verdict.
@pytest.mark.parametrize(
    ("addr", "family"),
    [
        (("not-an-ip", 80), INET), (("example.com", 80), INET6), ((2130706433, 80), INET),
        (("::1", 80), INET), (("127.0.0.1", 80), INET6), ((), INET), (b"\x00" * 16, 17),
        ("/run/docker.sock", socket.AF_UNIX), (b"\0abstract", socket.AF_UNIX),
        (("127.0.0.1", 80), INET), (("::ffff:8.8.8.8", 80, 0, 0), INET6),
    ],
)
def test_refusal_fails_closed(addr: object, family: int) -> None:
    assert refusal(addr, family) is not None


def test_refusal_allows_public_addresses() -> None:
    assert refusal(("8.8.8.8", 80), INET) is None
    assert refusal(("2606:2800:220:1::", 443, 0, 0), INET6) is None


# --- real transfers ---------------------------------------------------------------------------


class CountingHandler(FixedBodyHandler):
    """FixedBodyHandler that counts connections and requests, and redirects
    ``/redirect?URL`` to URL with a 302."""

    server: Site

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append(self.path)
        if self.path.startswith("/redirect?"):
            self.send_response(302)
            self.send_header("Location", self.path.split("?", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._reply(True)

    def do_POST(self) -> None:
        with self.server.lock:
            self.server.requests.append(self.path)
        self._reply(True)


class Site(StdlibServer, http.server.HTTPServer):
    def __init__(self, host: str, body: bytes, handler: Any = CountingHandler, port: int = 0) -> None:
        self._init_tracking(body)
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[str] = []
        super().__init__((host, port), handler)

    def server_bind(self) -> None:
        http.server.socketserver.TCPServer.server_bind(self)  # type: ignore[attr-defined]
        self.server_name, self.server_port = self.server_address[:2]  # type: ignore[assignment]

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}/"


class ProxyHandler(CountingHandler):
    """A forward proxy inside the network: fetches the absolute URL it is asked for."""

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append(self.path)
        host, _, rest = self.path.split("//", 1)[1].partition("/")
        name, _, port = host.partition(":")
        conn = http.client.HTTPConnection(name, int(port or 80), timeout=10)
        try:
            conn.request("GET", "/" + rest)
            body = conn.getresponse().read()
        finally:
            conn.close()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def internal() -> Iterator[Site]:
    """The internal service, 127.0.0.1: what an SSRF wants to reach."""
    site = Site("127.0.0.1", b"internal secret")
    site.start()
    yield site
    site.stop()


@pytest.fixture
def public() -> Iterator[Site]:
    """A site the policies below allow: 127.0.0.3 (PUBLIC)."""
    site = Site("127.0.0.3", b"public page")
    site.start()
    yield site
    site.stop()


@pytest.fixture
def proxy() -> Iterator[Site]:
    """A forward proxy on 127.0.0.2 that fetches whatever it is asked for."""
    site = Site("127.0.0.2", b"", ProxyHandler)
    site.start()
    yield site
    site.stop()


#: Opens the "public" site and nothing else the defaults deny.
PUBLIC = Policy(allow=["127.0.0.3/32"])


def fetch(url: str, policy: Optional[Policy] = None, **opts: Any) -> bytes:
    """GET url with a fresh Curl (``policy`` attached); ``opts``: setopt name -> value."""
    body = io.BytesIO()
    with pycurlcb.Curl() as curl:
        curl.setopt(pycurlcb.URL, url)
        curl.setopt(pycurlcb.WRITEDATA, body)
        for name, value in opts.items():
            curl.setopt(getattr(pycurlcb, name), value)
        if policy is not None:
            policy.attach(curl)
        curl.perform()
    return body.getvalue()


def test_direct_connection_is_refused_with_the_address_and_reason(internal: Site) -> None:
    assert fetch(internal.url) == b"internal secret"  # without the policy
    with pytest.raises(AddressRefused) as info:
        fetch(internal.url, DEFAULT)
    exc = info.value
    assert isinstance(exc, pycurlcb.error) and isinstance(exc, pycurlcb.CurlConnectionError)
    port = internal.server_address[1]
    assert exc.args == (pycurlcb.E_COULDNT_CONNECT,
                        f"SSRF policy refused 127.0.0.1 port {port}: 127.0.0.1 is in 127.0.0.0/8 "
                        "(loopback, RFC 1122)")
    assert (exc.address, exc.port) == ("127.0.0.1", port)
    assert exc.reason == "127.0.0.1 is in 127.0.0.0/8 (loopback, RFC 1122)"
    assert exc.refused == (ssrf.Refusal("127.0.0.1", port, exc.reason),)
    assert internal.requests == ["/"]  # only the unguarded one
    assert fetch(public_url(internal, "127.0.0.1"), Policy(allow=["127.0.0.1/32"])) == b"internal secret"


def public_url(site: Site, host: str) -> str:
    return f"http://{host}:{site.server_address[1]}/"


@pytest.mark.parametrize("spelling", ["localhost", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "127.1"])
def test_spellings_of_loopback_are_refused(internal: Site, spelling: str) -> None:
    url = f"http://{spelling}:{internal.server_address[1]}/"
    with pytest.raises(AddressRefused):
        fetch(url, DEFAULT)
    assert internal.requests == []


def test_dns_rebinding_is_refused(internal: Site) -> None:
    # The same name and port: an allowed address first, the internal service the next time.
    port = internal.server_address[1]
    twin = Site("127.0.0.3", b"public page", port=port)
    twin.start()
    try:
        url, first = f"http://rebind.test:{port}/", [f"rebind.test:{port}:127.0.0.3"]
        second = [f"-rebind.test:{port}", f"rebind.test:{port}:127.0.0.1"]
        assert fetch(url, RESOLVE=second) == b"internal secret"  # unguarded: rebinding works
        with pycurlcb.Curl() as curl:
            body = io.BytesIO()
            curl.setopt(pycurlcb.URL, url)
            curl.setopt(pycurlcb.WRITEDATA, body)
            curl.setopt(pycurlcb.FORBID_REUSE, 1)
            PUBLIC.attach(curl)
            curl.setopt(pycurlcb.RESOLVE, first)
            curl.perform()
            assert body.getvalue() == b"public page"
            curl.setopt(pycurlcb.RESOLVE, second)
            with pytest.raises(AddressRefused) as info:
                curl.perform()
            assert info.value.address == "127.0.0.1"
    finally:
        twin.stop()
    assert len(internal.requests) == 1


def test_redirect_to_the_internal_service_is_refused(internal: Site, public: Site) -> None:
    url = f"{public.url}redirect?{internal.url}"
    assert fetch(url, PUBLIC.__class__(allow=["127.0.0.0/8"]), FOLLOWLOCATION=1) == b"internal secret"
    internal.requests.clear()
    with pytest.raises(AddressRefused) as info:
        fetch(url, PUBLIC, FOLLOWLOCATION=1)
    assert info.value.address == "127.0.0.1"
    assert public.requests[-1].startswith("/redirect?") and internal.requests == []


def test_a_refused_family_falls_back_to_an_allowed_one(public: Site) -> None:
    if not ipv6_loopback_available():
        pytest.skip("IPv6 loopback (::1) is not available")
    port = public.server_address[1]
    seen: list[Any] = []

    def opensocket(purpose: Any, address: Any) -> Any:
        seen.append(address.addr[0])
        return socket.socket(address.family, address.socktype, address.protocol)

    resolve = [f"dual.test:{port}:[::1],127.0.0.3"]
    body = io.BytesIO()
    with pycurlcb.Curl() as curl:
        curl.setopt(pycurlcb.URL, f"http://dual.test:{port}/")
        curl.setopt(pycurlcb.RESOLVE, resolve)
        curl.setopt(pycurlcb.WRITEDATA, body)
        curl.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
        PUBLIC.attach(curl)
        curl.perform()
    assert body.getvalue() == b"public page"
    assert seen == ["127.0.0.3"]  # the user's opensocket never saw ::1
    with pytest.raises(AddressRefused) as info:
        fetch(f"http://dual.test:{port}/", DEFAULT, RESOLVE=resolve)
    assert [r.address for r in info.value.refused] == ["::1", "127.0.0.3"]
    assert info.value.args[1].endswith("(2 attempts refused)")


def test_unix_socket_is_refused(unix_http_server: str) -> None:
    assert fetch("http://localhost/", UNIX_SOCKET_PATH=unix_http_server) == b"unix"
    with pytest.raises(AddressRefused) as info:
        fetch("http://localhost/", DEFAULT, UNIX_SOCKET_PATH=unix_http_server)
    assert "is a local address" in info.value.reason


def test_resolve_and_connect_to_overrides_are_checked(internal: Site) -> None:
    port = internal.server_address[1]
    for opts in ({"RESOLVE": [f"example.com:{port}:127.0.0.1"]},
                 {"CONNECT_TO": [f"example.com:{port}:127.0.0.1:{port}"]}):
        assert fetch(f"http://example.com:{port}/", **opts) == b"internal secret"
        with pytest.raises(AddressRefused):
            fetch(f"http://example.com:{port}/", DEFAULT, **opts)


# --- proxies ---------------------------------------------------------------------------------


def test_environment_proxy_is_never_used(
    monkeypatch: pytest.MonkeyPatch, internal: Site, public: Site, proxy: Site
) -> None:
    # The proxy fetches the internal page whatever URL it is asked for: an
    # environment variable alone would route a guarded transfer through it.
    monkeypatch.setenv("http_proxy", f"{proxy.url}")
    ask = f"http://127.0.0.3:{public.server_address[1]}/"
    assert fetch(ask) == b"public page"
    assert proxy.requests == [ask]  # without the policy: through the proxy
    proxy.requests.clear()
    assert fetch(ask, PUBLIC) == b"public page"
    assert proxy.requests == []  # with it: straight to the allowed site


@pytest.mark.parametrize("option", ["PROXY", "PRE_PROXY"])
def test_explicit_proxy_refuses_the_transfer(option: str, public: Site, proxy: Site) -> None:
    value = proxy.url if option == "PROXY" else f"socks5://{proxy.server_address[0]}:1"
    with pytest.raises(AddressRefused) as info:
        fetch(public.url, PUBLIC, **{option: value})
    assert f"({option})" in info.value.reason and "does not allow proxies" in info.value.reason
    assert proxy.requests == [] and public.requests == []


def test_allow_proxy_checks_the_proxy_address(public: Site, internal: Site, proxy: Site) -> None:
    internal_url = internal.url
    with pytest.raises(AddressRefused) as info:  # the proxy, 127.0.0.2, is not allowed
        fetch(internal_url, Policy(allow_proxy=True), PROXY=proxy.url)
    assert info.value.address == "127.0.0.2"
    # Allowed: what the proxy then connects to is the proxy's business (docs/ssrf.md).
    via = Policy(allow=["127.0.0.2/32"], allow_proxy=True)
    assert fetch(internal_url, via, PROXY=proxy.url) == b"internal secret"
    assert proxy.requests == [internal_url]


def test_proxy_set_after_attach_and_through_setopt_string(public: Site, proxy: Site) -> None:
    with pycurlcb.Curl() as curl:
        PUBLIC.attach(curl)
        curl.setopt(pycurlcb.URL, public.url)
        curl.setopt(pycurlcb.WRITEDATA, io.BytesIO())
        curl.setopt_string(pycurlcb.PROXY, proxy.url)
        with pytest.raises(AddressRefused):
            curl.perform()
        curl.setopt(pycurlcb.PROXY, "")  # no proxy: allowed again
        curl.perform()
        curl.setopt(pycurlcb.PROXY, proxy.url)
        PUBLIC.detach(curl)  # the user's proxy is back
        curl.perform()
    assert proxy.requests == [public.url]


# --- DNS over HTTPS --------------------------------------------------------------------------


class DohHandler(CountingHandler):
    def do_POST(self) -> None:
        with self.server.lock:
            self.server.requests.append(self.path)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_doh_url_is_refused_before_any_doh_request(tmp_path: Any, public: Site) -> None:
    info = make_tls_server(tmp_path)
    doh = info.server
    doh.RequestHandlerClass = DohHandler
    doh.lock, doh.requests, doh.connections = threading.Lock(), [], 0  # type: ignore[attr-defined]
    doh.start()
    try:
        url, opts = "http://doh.test/", {"DOH_URL": f"{info.url}dns-query", "CAINFO": info.ca_file}
        with pytest.raises(pycurlcb.error) as unguarded:
            fetch(url, **opts)
        assert not isinstance(unguarded.value, AddressRefused)
        assert doh.requests  # without the policy: DoH requests go out unchecked
        doh.requests.clear()
        with pytest.raises(AddressRefused) as guarded:
            fetch(public.url, PUBLIC, **opts)
        assert "(DOH_URL)" in guarded.value.reason
        assert doh.requests == [] and public.requests == []
    finally:
        doh.stop()


# --- connection reuse -------------------------------------------------------------------------


def test_the_curls_own_earlier_connection_is_not_reused(internal: Site) -> None:
    with pycurlcb.Curl() as curl:
        curl.setopt(pycurlcb.URL, internal.url)
        curl.setopt(pycurlcb.WRITEDATA, io.BytesIO())
        curl.perform()
        curl.perform()
        assert (internal.connections, len(internal.requests)) == (1, 2)  # reused
        DEFAULT.attach(curl)
        with pytest.raises(AddressRefused) as info:
            curl.perform()
        assert info.value.address == "127.0.0.1"
    assert len(internal.requests) == 2


def test_a_curlshare_connection_is_not_reused(internal: Site) -> None:
    share = pycurlcb.CurlShare()
    share.setopt(pycurlcb.SH_SHARE, pycurlcb.LOCK_DATA_CONNECT)
    curls = [pycurlcb.Curl() for _ in range(3)]
    try:
        for curl in curls:
            curl.setopt(pycurlcb.URL, internal.url)
            curl.setopt(pycurlcb.WRITEDATA, io.BytesIO())
            curl.setopt(pycurlcb.SHARE, share)
        curls[0].perform()
        curls[1].perform()
        assert (internal.connections, len(internal.requests)) == (1, 2)  # shared
        DEFAULT.attach(curls[2])
        with pytest.raises(AddressRefused):
            curls[2].perform()
        assert len(internal.requests) == 2
    finally:
        for curl in curls:
            curl.close()
        share.close()


def _multi_run(multi: pycurlcb.CurlMulti, *curls: pycurlcb.Curl) -> tuple[list[Any], list[Any]]:
    for curl in curls:
        multi.add_handle(curl)
    while multi.perform()[1]:
        multi.select(0.5)
    _, ok, err = multi.info_read()
    for curl in curls:
        multi.remove_handle(curl)
    return ok, err


def _curl(url: str) -> pycurlcb.Curl:
    curl = pycurlcb.Curl()
    curl.setopt(pycurlcb.URL, url)
    curl.setopt(pycurlcb.WRITEDATA, io.BytesIO())
    return curl


def test_multi_policy_guards_transfers_added_before_and_fails_them_alone(
    internal: Site, public: Site
) -> None:
    multi = pycurlcb.CurlMulti()
    first, second, third = _curl(internal.url), _curl(public.url), _curl(internal.url)
    try:
        ok, err = _multi_run(multi, first)
        assert ok == [first] and internal.connections == 1  # its connection is in the cache
        multi.add_handle(second)
        PUBLIC.attach(multi)  # after add_handle: still guarded
        ok, err = _multi_run(multi, third)
        multi.remove_handle(second) if second in multi else None
        assert ok == [second]
        ((curl, code, message),) = err
        assert curl is third and code == pycurlcb.E_COULDNT_CONNECT
        assert "SSRF policy refused 127.0.0.1 port" in message and "(loopback, RFC 1122)" in message
        assert len(internal.requests) == 1  # the cached connection was not reused
        # Out of the multi, the Curl is unguarded again.
        third.perform()
        assert len(internal.requests) == 2
    finally:
        for curl in (first, second, third):
            curl.close()
        multi.close()


def test_async_multi_raises_address_refused(internal: Site, public: Site) -> None:
    async def main() -> None:
        async with pycurlcb.AsyncCurlMulti() as multi:
            await multi.perform(_curl(internal.url))  # a cached connection to the internal service
            PUBLIC.attach(multi)
            good, bad = _curl(public.url), _curl(internal.url)
            results = await asyncio.gather(multi.perform(good), multi.perform(bad), return_exceptions=True)
            assert results[0] is good
            assert isinstance(results[1], AddressRefused) and results[1].address == "127.0.0.1"
            good.close()
            bad.close()

    asyncio.run(main())
    assert len(internal.requests) == 1


def test_reuse_check_needs_no_fresh_connection_where_libcurl_has_prereq(public: Site) -> None:
    # Allowed connections are still reused under a policy (libcurl >= 7.80.0: the
    # reused connection's peer is checked again instead; older: FRESH_CONNECT).
    with pycurlcb.Curl() as curl:
        curl.setopt(pycurlcb.URL, public.url)
        curl.setopt(pycurlcb.WRITEDATA, io.BytesIO())
        PUBLIC.attach(curl)
        curl.perform()
        curl.perform()
    assert public.connections == (1 if LIBCURL_VERSION_NUM >= 0x075000 else 2)


# --- the policy stays attached --------------------------------------------------------------


def test_policy_survives_opensocket_setopt_unsetopt_reset_and_duphandle(internal: Site) -> None:
    seen: list[str] = []

    def opensocket(purpose: Any, address: Any) -> Any:
        seen.append(address.addr[0])
        return socket.socket(address.family, address.socktype, address.protocol)

    with pycurlcb.Curl() as curl:
        curl.setopt(pycurlcb.URL, internal.url)
        curl.setopt(pycurlcb.WRITEDATA, io.BytesIO())
        DEFAULT.attach(curl)
        curl.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
        with pytest.raises(AddressRefused):
            curl.perform()
        assert seen == []  # the user's opensocket never sees a refused address
        curl.unsetopt(pycurlcb.OPENSOCKETFUNCTION)
        curl.setopt(pycurlcb.CLOSESOCKETFUNCTION, None)
        with pytest.raises(AddressRefused):
            curl.perform()
        copy = curl.duphandle()
        with copy, pytest.raises(AddressRefused):
            copy.perform()
        curl.reset()
        curl.setopt(pycurlcb.URL, internal.url)
        curl.setopt(pycurlcb.WRITEDATA, io.BytesIO())
        with pytest.raises(AddressRefused):
            curl.perform()
        Policy(allow=["127.0.0.1/32"]).attach(curl)  # a second policy replaces the first
        curl.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
        curl.perform()
        assert seen == ["127.0.0.1"]
        DEFAULT.detach(curl)
        curl.perform()
    assert internal.requests == ["/", "/"]


def test_rewriting_to_a_refused_address_is_refused(internal: Site) -> None:
    def opensocket(purpose: Any, address: Any) -> Any:
        sock = socket.socket(address.family, address.socktype, address.protocol)
        return sock, ("127.0.0.1", internal.server_address[1])

    with pytest.raises(AddressRefused) as info:
        fetch("http://127.0.0.3:9/", PUBLIC, OPENSOCKETFUNCTION=opensocket)
    assert info.value.address == "127.0.0.1"  # the rewritten address, refused after the callable
    assert internal.requests == []


def test_a_callable_that_raises_still_wins(internal: Site) -> None:
    def opensocket(purpose: Any, address: Any) -> Any:
        raise RuntimeError("mine")

    with pytest.raises(pycurlcb.error) as info:
        fetch(internal.url, Policy(allow=["127.0.0.1/32"]), OPENSOCKETFUNCTION=opensocket)
    assert not isinstance(info.value, AddressRefused)
    assert isinstance(info.value.__cause__, RuntimeError)


# --- FTP -------------------------------------------------------------------------------------


def test_ftp_active_mode_listening_socket_still_works(ftp_server: Any) -> None:
    assert fetch(ftp_server.url, Policy(allow=["127.0.0.1/32"]), FTPPORT="-") == ftp_server.data
    with pytest.raises(AddressRefused):
        fetch(ftp_server.url, DEFAULT, FTPPORT="-")


def test_ftp_passive_data_connection_is_checked(ftp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]

    monkeypatch.setattr(FTPHandler, "masquerade_address", "127.0.0.2")
    seen: list[str] = []

    def opensocket(purpose: Any, address: Any) -> Any:
        seen.append(address.addr[0])
        return socket.socket(address.family, address.socktype, address.protocol)

    opts: dict[str, Any] = {"FTP_USE_EPSV": 0, "FTP_SKIP_PASV_IP": 0, "OPENSOCKETFUNCTION": opensocket}
    with pytest.raises(pycurlcb.error):
        fetch(ftp_server.url, **opts)
    assert seen == ["127.0.0.1", "127.0.0.2"]  # without the policy: the PASV address is tried
    seen.clear()
    with pytest.raises(AddressRefused) as info:
        fetch(ftp_server.url, Policy(allow=["127.0.0.1/32"]), **opts)
    assert info.value.address == "127.0.0.2" and seen == ["127.0.0.1"]


# --- no fd left behind ------------------------------------------------------------------------


def test_hundreds_of_refusals_leave_no_fd(internal: Site) -> None:
    before = len(open_fds())
    with pycurlcb.Curl() as curl:
        curl.setopt(pycurlcb.URL, internal.url)
        curl.setopt(pycurlcb.WRITEDATA, io.BytesIO())
        DEFAULT.attach(curl)
        for _ in range(200):
            with pytest.raises(AddressRefused):
                curl.perform()
    for _ in range(100):
        with pytest.raises(AddressRefused):
            fetch(internal.url, DEFAULT, OPENSOCKETFUNCTION=lambda p, a: socket.socket(a.family, a.socktype))
    assert len(open_fds()) == before
    assert internal.requests == []
