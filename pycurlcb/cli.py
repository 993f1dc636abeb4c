"""``python -m pycurlcb [URL]``: the socket trace of one real transfer.

The transfer runs with libcurl's socket callbacks installed
(CURLOPT_OPENSOCKETFUNCTION, CURLOPT_SOCKOPTFUNCTION,
CURLOPT_CLOSESOCKETFUNCTION; CURLOPT_DEBUGFUNCTION with ``-v``) and prints a
timeline in milliseconds since the transfer started: every socket opened
(purpose, family, address), configured, connected and closed, then the
response status, the body size and the total time.  With no URL it starts an
embedded HTTP server on 127.0.0.1 and fetches from it, so it needs no network.

One piece per concern:

* ``Event`` and ``Timeline``: the timestamped lines.
* ``SocketPolicy``: what the options ask of the callbacks, parsed once.
* ``SocketTrace``: the callbacks of one transfer; they apply the policy and
  record what happened.
* ``Transfer``: one URL, its Curl, its SocketTrace and its result.
* ``EmbeddedServer``: the local page fetched when no URL is given.
* ``main()``: argparse, run, print, exit code.

Exit status: 0 on success; libcurl's CURLcode on a libcurl failure, as curl
does (7 for a refused connection, including a ``--deny-private`` refusal);
1 when a callback failed; 2 for bad arguments.  Errors are one line on
stderr, ``pycurlcb: error: ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.server
import ipaddress
import os
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Optional, TextIO

import pycurlcb

from . import ssrf
from ._callbacks import SOCKET_BAD
from .constants import Info, InfoType, Opt, SockOpt, SockType

PROG = "pycurlcb"

#: (family, address in the socket module's form): where a socket connects.
Target = tuple[int, tuple[Any, ...]]


class TraceError(Exception):
    """A failure the command reports in one line (bad option value, bind failure ...)."""


# --- the timeline ------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One line of the timeline."""

    ms: float  # milliseconds since Timeline.start
    kind: str  # "open", "refused", "sockopt", "connected", "close", "debug" ...
    text: str


class Timeline:
    """Events in time order; times are milliseconds since ``start`` (perf_counter)."""

    def __init__(self, start: Optional[float] = None) -> None:
        self.start = time.perf_counter() if start is None else start
        self.events: list[Event] = []

    def now(self) -> float:
        """Milliseconds since start."""
        return (time.perf_counter() - self.start) * 1000.0

    def add(self, kind: str, text: str, ms: Optional[float] = None) -> None:
        self.events.append(Event(self.now() if ms is None else ms, kind, text))

    def lines(self) -> list[str]:
        ordered = sorted(self.events, key=lambda e: e.ms)  # stable: ties keep their order
        return [f"{e.ms:9.3f} ms  {e.kind:<10} {e.text}".rstrip() for e in ordered]


# --- addresses ----------------------------------------------------------------------


def _name(purpose: Any) -> str:
    """IPCXN, ACCEPT, or the number of a purpose this pycurlcb has no name for."""
    return str(getattr(purpose, "name", purpose))


def family_name(family: int) -> str:
    try:
        return socket.AddressFamily(family).name
    except ValueError:
        return f"family {family}"


def format_addr(family: int, addr: Any) -> str:
    """``1.2.3.4:80``, ``[::1]:80`` or a Unix path."""
    if family == socket.AF_INET6 and isinstance(addr, tuple):
        return f"[{addr[0]}]:{addr[1]}"
    if family == socket.AF_INET and isinstance(addr, tuple):
        return f"{addr[0]}:{addr[1]}"
    return str(addr)


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def parse_ip(text: str) -> str:
    """An IP literal, brackets allowed around IPv6; ValueError otherwise."""
    host = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def parse_connect_to(text: str) -> tuple[Target, ...]:
    """``HOST:PORT`` -> the addresses to connect to instead, one per family.

    HOST is an IP literal (IPv6 in brackets) or a name, resolved here with
    socket.getaddrinfo.  Raises ValueError with a one-line message.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"expected HOST:PORT (IPv6 in brackets), got {text!r}")
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


# --- what the options ask of the callbacks ---------------------------------------


@dataclass(frozen=True)
class SocketPolicy:
    """The socket options of the command line, checked and parsed.

    deny_private: refuse addresses ``ssrf.refusal`` refuses (in opensocket).
    connect_to: connect to one of these instead (opensocket rewrites the
      address); the one of the attempt's family if there is one.
    interface: an IP literal to bind the socket to (port 0) before connect.
    keepalive: seconds, for TCP_KEEPIDLE and TCP_KEEPINTVL (in sockopt).
    nodelay: set TCP_NODELAY (in sockopt).
    """

    deny_private: bool = False
    connect_to: tuple[Target, ...] = ()
    interface: Optional[str] = None
    keepalive: Optional[int] = None
    nodelay: bool = False

    def translate(self, family: int, addr: Any) -> Target:
        """Where an attempt to ``addr`` connects: ``--connect-to``'s target or ``addr``."""
        if not self.connect_to:
            return family, addr
        for target in self.connect_to:
            if target[0] == family:
                return target
        return self.connect_to[0]

    def tcp_options(self) -> list[tuple[str, int, int, int]]:
        """(name, level, option, value) for setsockopt, in order."""
        opts = []
        if self.nodelay:
            opts.append(("TCP_NODELAY", socket.IPPROTO_TCP, socket.TCP_NODELAY, 1))
        if self.keepalive is not None:
            opts.append(("SO_KEEPALIVE", socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
            for name in ("TCP_KEEPIDLE", "TCP_KEEPINTVL"):
                if hasattr(socket, name):
                    opts.append((name, socket.IPPROTO_TCP, getattr(socket, name), self.keepalive))
        return opts


@contextlib.contextmanager
def borrowed(fd: int) -> Iterator[socket.socket]:
    """A socket object over ``fd`` that does not close it (libcurl owns it)."""
    sock = socket.socket(fileno=fd)
    try:
        yield sock
    finally:
        sock.detach()


# --- the callbacks ---------------------------------------------------------------------


@dataclass
class Opened:
    """A socket opensocket handed to libcurl."""

    fd: Optional[int]  # None until sockopt names it (see SocketTrace.opensocket)
    target: Target
    spare: Optional[socket.socket] = None  # our copy, when libcurl got a dup()


class SocketTrace:
    """The opensocket, sockopt, closesocket and debug callbacks of one transfer.

    Each one applies ``policy`` and adds what it did to ``timeline``.  Use
    ``install(curl)``; the instance must stay reachable until the Curl is
    closed (the Curl holds it through the bound methods).
    """

    def __init__(self, policy: SocketPolicy, timeline: Timeline) -> None:
        self.policy = policy
        self.timeline = timeline
        self.refusals: list[str] = []  # ssrf.refusal reasons, in order
        self.opened: list[Opened] = []
        #: When opensocket was first called (ms), for placing libcurl's times.
        self.first_open_ms: Optional[float] = None
        #: Where closes happen from now on ("at Curl.close()"), shown on their lines.
        self.phase = ""

    def install(self, curl: pycurlcb.Curl, verbose: bool = False) -> None:
        curl.setopt(Opt.OPENSOCKETFUNCTION, self.opensocket)
        curl.setopt(Opt.SOCKOPTFUNCTION, self.sockopt)
        curl.setopt(Opt.CLOSESOCKETFUNCTION, self.closesocket)
        if verbose:
            curl.setopt(Opt.VERBOSE, 1)
            curl.setopt(Opt.DEBUGFUNCTION, self.debug)

    # CURLOPT_OPENSOCKETFUNCTION(3)
    def opensocket(self, purpose: SockType, address: pycurlcb.CurlSockAddr) -> Any:
        """Refuse (None), or open a socket and return its fd, with a new address if any."""
        if self.first_open_ms is None:
            self.first_open_ms = self.timeline.now()
        family, addr = address.family, address.addr
        target_family, target = self.policy.translate(family, addr)
        where = format_addr(family, addr)
        if (target_family, target) != (family, addr):
            where += f" -> {format_addr(target_family, target)} (--connect-to)"
        what = f"{_name(purpose)} {family_name(family)} {where}"
        if self.policy.deny_private:
            reason = ssrf.refusal(target, target_family)
            if reason is not None:
                self.refusals.append(reason)
                self.timeline.add("refused", f"{what}: {reason} (--deny-private)")
                return None
        try:
            sock = socket.socket(target_family, address.socktype, address.protocol)
        except OSError as exc:  # as libcurl does: this address fails, the next is tried
            self.timeline.add("open", f"{what}: socket() failed: {exc.strerror}")
            return None
        try:
            bound = self._bind(sock)
        except BaseException:
            sock.close()
            raise
        if target_family != family:
            # The fd libcurl gets must match the family of the address it
            # holds; a socket object carries its family, and libcurl gets a
            # dup() of it, whose number sockopt (called next) reports.
            self.opened.append(Opened(None, (target_family, target), spare=sock))
            self.timeline.add("open", f"fd ? (a dup, named at sockopt), {what}{bound}")
            return sock, target
        fd = sock.detach()  # ownership passes to libcurl: no dup() needed
        self.opened.append(Opened(fd, (target_family, target)))
        self.timeline.add("open", f"fd {fd}, {what}{bound}")
        return fd if target is addr else (fd, target)

    def _bind(self, sock: socket.socket) -> str:
        """Bind to --interface; the text for the timeline."""
        ip = self.policy.interface
        if ip is None:
            return ""
        if (ipaddress.ip_address(ip).version == 6) != (sock.family == socket.AF_INET6):
            raise TraceError(f"--interface {ip} cannot bind a {family_name(sock.family)} socket")
        try:
            sock.bind((ip, 0))
        except OSError as exc:
            raise TraceError(f"cannot bind to --interface {ip}: {exc.strerror}") from None
        return f", bound to {format_addr(sock.family, sock.getsockname())}"

    # CURLOPT_SOCKOPTFUNCTION(3)
    def sockopt(self, fd: int, purpose: SockType) -> int:
        """Set the TCP options asked for; report them as the kernel reads them back."""
        note = ""
        # libcurl calls sockopt right after a successful opensocket.
        pending = self.opened[-1] if self.opened and self.opened[-1].fd is None else None
        if purpose == SockType.IPCXN and pending is not None:
            pending.fd = fd
            if pending.spare is not None:
                pending.spare.close()  # libcurl has its dup()
                pending.spare = None
            note = " (the dup of the socket opensocket returned)"
        with borrowed(fd) as sock:
            text = self._configure(sock)
        self.timeline.add("sockopt", f"fd {fd}{note}, {_name(purpose)}: {text}")
        return int(SockOpt.OK)

    def _configure(self, sock: socket.socket) -> str:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return "not a TCP socket, nothing set"
        opts = self.policy.tcp_options()
        for name, level, option, value in opts:
            try:
                sock.setsockopt(level, option, value)
            except OSError as exc:
                raise TraceError(f"setsockopt({name}) failed: {exc.strerror}") from None
        if opts:
            shown = [(n, lv, o) for n, lv, o, _ in opts]
            prefix = "set"
        else:
            shown = [
                ("TCP_NODELAY", socket.IPPROTO_TCP, socket.TCP_NODELAY),
                ("SO_KEEPALIVE", socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            ]
            prefix = "nothing set; libcurl left"
        values = " ".join(f"{n}={sock.getsockopt(lv, o)}" for n, lv, o in shown)
        return f"{prefix} {values}"

    # CURLOPT_CLOSESOCKETFUNCTION(3)
    def closesocket(self, fd: int) -> int:
        """Close ``fd`` (this callback owns it) and record it."""
        os.close(fd)
        self.timeline.add("close", f"fd {fd}" + (f" ({self.phase})" if self.phase else ""))
        return 0

    # CURLOPT_DEBUGFUNCTION(3), with -v
    def debug(self, kind: InfoType, data: bytes) -> None:
        prefix = {InfoType.TEXT: "*", InfoType.HEADER_OUT: ">", InfoType.HEADER_IN: "<"}.get(kind)
        if prefix is None:
            return
        for line in data.decode("utf-8", "replace").splitlines():
            if line.strip():
                self.timeline.add("debug", f"{prefix} {line}")

    def connected_to(self, ip: str, port: int) -> Optional[Opened]:
        """The latest socket opened towards ``ip`` (and ``port`` if one matches).

        libcurl 7.88 reports CURLINFO_PRIMARY_PORT as the URL's port even when
        opensocket rewrote the address, so the IP alone decides if need be.
        """
        candidates = [
            o for o in reversed(self.opened) if o.fd is not None and _same_ip(o.target[1][0], ip)
        ]
        exact = [o for o in candidates if o.target[1][1] == port]
        best = exact or candidates
        return best[0] if best else None

    def discard_spares(self) -> None:
        """Close our copies of sockets libcurl got a dup() of (if sockopt never ran)."""
        for opened in self.opened:
            if opened.spare is not None:
                opened.spare.close()
                opened.spare = None


# --- one transfer ------------------------------------------------------------------------


class BodySink:
    """The write callback: counts the body's bytes and writes them to ``stream`` if any."""

    def __init__(self, stream: Optional[BinaryIO] = None) -> None:
        self.stream = stream
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.stream is not None:
            self.stream.write(data)


@dataclass
class Result:
    """What a transfer ended with."""

    status: int = 0
    size: int = 0
    total_ms: float = 0.0
    error: Optional[BaseException] = None


#: CURLINFO times (microseconds since the transfer started) put on the timeline.
_MILESTONES = (
    (Info.NAMELOOKUP_TIME_T, "resolved", "NAMELOOKUP_TIME"),
    (Info.APPCONNECT_TIME_T, "tls", "APPCONNECT_TIME"),
    (Info.STARTTRANSFER_TIME_T, "first byte", "STARTTRANSFER_TIME"),
)


@dataclass
class Transfer:
    """One URL: prepare() a Curl with a SocketTrace, perform it, finish().

    The steps are separate so a driver other than ``Curl.perform()`` (the
    AsyncCurlMulti of ``--parallel``) can run the same trace per transfer.
    ``start``: the perf_counter origin of the timeline; None means "now", when
    prepare() runs, so the transfer starts at 0 ms.
    """

    url: str
    policy: SocketPolicy
    sink: BodySink = field(default_factory=BodySink)
    verbose: bool = False
    connect_timeout: float = 30.0
    no_proxy: bool = False
    start: Optional[float] = None
    #: local "ip:port" -> fd of connections seen; shared by transfers that
    #: share a connection cache, to name the fd of a reused connection.
    known_fds: dict[str, int] = field(default_factory=dict)
    result: Result = field(default_factory=Result)

    def __post_init__(self) -> None:
        self.timeline = Timeline(self.start)
        self.trace = SocketTrace(self.policy, self.timeline)
        self._started_ms = 0.0

    def prepare(self) -> pycurlcb.Curl:
        """A Curl for this URL, callbacks installed; the timeline's "start"."""
        curl = pycurlcb.Curl()
        try:
            curl.setopt(Opt.URL, self.url)
            curl.setopt(Opt.WRITEFUNCTION, self.sink.write)
            curl.setopt(Opt.CONNECTTIMEOUT_MS, int(self.connect_timeout * 1000))
            if self.no_proxy:
                curl.setopt(Opt.NOPROXY, "*")
            self.trace.install(curl, self.verbose)
        except BaseException:
            curl.close()
            raise
        if self.start is None:
            self.timeline.start = time.perf_counter()
        self._started_ms = self.timeline.now()
        self.timeline.add("start", self.url, self._started_ms)
        return curl

    def finish(self, curl: pycurlcb.Curl, error: Optional[BaseException] = None) -> Result:
        """Record the result and libcurl's times, then Curl.close() (whose closes show).

        Call it as soon as the transfer is over: libcurl's times are placed
        relative to the moment it runs.
        """
        try:
            self._record(curl, error)
        finally:
            self.trace.phase = "at Curl.close()"
            try:
                curl.close()
            finally:
                self.trace.discard_spares()
        return self.result

    def run(self) -> Result:
        """prepare(), Curl.perform(), finish()."""
        curl = self.prepare()
        error: Optional[BaseException] = None
        try:
            curl.perform()
        except (pycurlcb.error, TraceError, OSError) as exc:
            error = exc
        except BaseException:
            self.finish(curl)
            raise
        return self.finish(curl, error)

    def _record(self, curl: pycurlcb.Curl, error: Optional[BaseException]) -> None:
        """The result, and the times libcurl measured (CURLINFO_*_TIME_T) as events.

        libcurl's clock starts a little after "start" (inside perform) and its
        TOTAL_TIME ends just before perform returns: its times are placed
        counting back from now, but never so that the name was resolved after
        opensocket ran (an async driver may call this a little late).
        With a second connection (FTP's data connection), CONNECT_TIME is
        libcurl's last connect, while PRIMARY_IP names the first.
        """
        info = curl.getinfo
        result = self.result
        result.error = error
        result.status = info(Info.RESPONSE_CODE)
        result.size = self.sink.size
        total_us = info(Info.TOTAL_TIME_T)
        result.total_ms = total_us / 1000.0
        origin = self.timeline.now() - result.total_ms
        if self.trace.first_open_ms is not None:
            resolved_ms = info(Info.NAMELOOKUP_TIME_T) / 1000.0
            origin = min(origin, self.trace.first_open_ms - resolved_ms - 0.001)
        origin = max(origin, self._started_ms)

        def at(micros: int) -> float:
            return origin + micros / 1000.0

        for which, kind, name in _MILESTONES:
            micros = info(which)
            if micros > 0:
                self.timeline.add(kind, f"({name})", at(micros))
        connect_us = info(Info.CONNECT_TIME_T)
        if connect_us > 0:
            text = f"{self._connection(curl)} (CONNECT_TIME)"
            self.timeline.add("connected", text, at(connect_us))
        elif error is None and info(Info.NUM_CONNECTS) == 0:
            text = f"{self._connection(curl)}, a cached connection (NUM_CONNECTS 0)"
            self.timeline.add("reused", text, at(0))
        if error is None:
            text = f"status {result.status}, {result.size} bytes (TOTAL_TIME)"
            self.timeline.add("done", text, at(total_us))
        else:
            self.timeline.add("failed", f"{error_name(error)} (TOTAL_TIME)", at(total_us))

    def _connection(self, curl: pycurlcb.Curl) -> str:
        """``fd N, local -> remote`` of the connection the transfer used."""
        ip, port = curl.getinfo(Info.PRIMARY_IP), curl.getinfo(Info.PRIMARY_PORT)
        local = _ip_port(curl.getinfo(Info.LOCAL_IP), curl.getinfo(Info.LOCAL_PORT))
        remote = _ip_port(ip, port)
        opened = self.trace.connected_to(ip, port)
        fd = self.known_fds.get(local)
        if opened is not None:
            fd, remote = opened.fd, format_addr(*opened.target)
        if fd is None:
            active = curl.getinfo(Info.ACTIVESOCKET)
            fd = None if active == SOCKET_BAD else active
        if fd is not None:
            self.known_fds[local] = fd
        return f"fd {'?' if fd is None else fd}, {local} -> {remote}"


def _ip_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def error_name(exc: BaseException) -> str:
    if isinstance(exc, pycurlcb.error):
        return exc.name
    return type(exc).__name__


def describe_error(exc: BaseException, trace: Optional[SocketTrace] = None) -> str:
    """One line for stderr: ``CURLE_X: libcurl's message[; why --deny-private refused]``."""
    if isinstance(exc, pycurlcb.error):
        text = f"{exc.name}: {exc.args[1]}"
    else:
        text = str(exc)
    if trace is not None and trace.refusals:
        reasons = "; ".join(dict.fromkeys(trace.refusals))
        text += f"; refused by --deny-private: {reasons}"
    return " ".join(text.split())  # one line, whatever the message held


def exit_code(exc: BaseException) -> int:
    """curl's convention: the CURLcode for a libcurl failure, else 1."""
    if isinstance(exc, pycurlcb.error) and 0 < exc.code < 256:
        return exc.code
    return 1


# --- the embedded server ----------------------------------------------------------------


PAGE = b"""<!doctype html>
<title>pycurlcb</title>
<p>Hello from pycurlcb's embedded server. Every socket of this transfer went
through libcurl's opensocket, sockopt and closesocket callbacks.</p>
"""


class _PageHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: libcurl caches the connection
    # Buffered, flushed once per response: headers and body written separately
    # would meet Nagle and delayed ACK on a reused connection, a 40 ms stall.
    wbufsize = 64 * 1024
    timeout = 10  # seconds a kept-alive connection may idle before the server drops it

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._reply(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._reply(send_body=False)

    def _reply(self, send_body: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        if send_body:
            self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _PageServer(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the connection threads
    block_on_close = True
    request_queue_size = 1024  # --parallel N connects all at once; the default backlog is 5

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(): a DNS lookup, slow offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class EmbeddedServer:
    """``with EmbeddedServer() as server: server.url``: PAGE on 127.0.0.1:<ephemeral>."""

    def __init__(self) -> None:
        self._server = _PageServer(("127.0.0.1", 0), _PageHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self._server.server_name}:{self._server.server_port}/"

    def __enter__(self) -> EmbeddedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


# --- the command ----------------------------------------------------------------------


def _arg(parse: Any) -> Any:
    """An argparse type from a parser that raises ValueError with a message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def _seconds(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"expected a whole number of seconds >= 1, got {text!r}")
    return int(text)


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _parallel(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"expected a number of transfers >= 1, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Perform a transfer with libcurl's socket callbacks installed and print "
            "every socket it opened, configured, connected and closed, in milliseconds. "
            "With no URL, fetch a page from an embedded server on 127.0.0.1."
        ),
    )
    parser.add_argument("urls", nargs="*", metavar="URL", help="URL to fetch (default: embedded)")
    parser.add_argument(
        "--deny-private",
        action="store_true",
        help="refuse loopback, private, link-local, multicast, unspecified and reserved "
        "addresses, IPv4 and IPv6 (SSRF guard in opensocket)",
    )
    parser.add_argument(
        "--connect-to",
        metavar="HOST:PORT",
        type=_arg(parse_connect_to),
        help="connect there instead of the URL's address (opensocket rewrites the address); "
        "IPv6 in brackets, a name is resolved first",
    )
    parser.add_argument(
        "--interface",
        metavar="ADDR",
        type=_arg(parse_ip),
        help="bind the socket to this source IP address (in opensocket)",
    )
    parser.add_argument(
        "--keepalive",
        metavar="SECONDS",
        type=_arg(_seconds),
        help="SO_KEEPALIVE with TCP_KEEPIDLE and TCP_KEEPINTVL of SECONDS (in sockopt)",
    )
    parser.add_argument("--nodelay", action="store_true", help="set TCP_NODELAY (in sockopt)")
    parser.add_argument(
        "--connect-timeout",
        metavar="SECONDS",
        type=_arg(_positive_float),
        default=30.0,
        help="give up connecting after SECONDS (default 30)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the body to FILE ('-' for stdout, the trace then goes to stderr); "
        "default: discard it, report its size",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="add libcurl's debug lines to the timeline"
    )
    parser.add_argument(
        "--parallel",
        metavar="N",
        type=_arg(_parallel),
        help="with several URLs: up to N transfers at once (needs pycurlcb.AsyncCurlMulti)",
    )
    return parser


def policy_from(args: argparse.Namespace) -> SocketPolicy:
    return SocketPolicy(
        deny_private=args.deny_private,
        connect_to=args.connect_to or (),
        interface=args.interface,
        keepalive=args.keepalive,
        nodelay=args.nodelay,
    )


def _fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def _print_transfer(transfer: Transfer, out: TextIO) -> None:
    for line in transfer.timeline.lines():
        print(line, file=out)
    result = transfer.result
    if result.error is None:
        print(
            f"status {result.status}, {result.size} bytes, total {result.total_ms:.3f} ms",
            file=out,
        )


def run_one(args: argparse.Namespace, url: Optional[str]) -> int:
    """One transfer of ``url``, or of the embedded server's page if None."""
    trace_out = sys.stderr if args.output == "-" else sys.stdout
    with contextlib.ExitStack() as stack:
        if args.output == "-":
            body: Optional[BinaryIO] = sys.stdout.buffer
        elif args.output is not None:
            try:
                body = stack.enter_context(open(args.output, "wb"))
            except OSError as exc:
                return _fail(f"cannot write {args.output}: {exc.strerror}")
        else:
            body = None
        where = ""
        if url is None:
            server = stack.enter_context(EmbeddedServer())
            url, where = server.url, " (embedded server)"
        transfer = Transfer(
            url,
            policy_from(args),
            BodySink(body),
            verbose=args.verbose,
            connect_timeout=args.connect_timeout,
            no_proxy=bool(where),
        )
        print(f"{PROG} {pycurlcb.__version__} ({_libcurl()}): {url}{where}", file=trace_out)
        result = transfer.run()
        if body is not None:
            body.flush()
    _print_transfer(transfer, trace_out)
    if result.error is not None:
        return _fail(describe_error(result.error, transfer.trace), exit_code(result.error))
    return 0


def _libcurl() -> str:
    return next((p for p in pycurlcb.version.split() if p.startswith("libcurl/")), "libcurl")


async def run_parallel(args: argparse.Namespace, multi_class: Any, urls: list[str]) -> int:
    """``URL [URL ...] --parallel N``: one Transfer per URL on one AsyncCurlMulti, at
    most N at a time, then a summary (transfers, failures, total time, transfers/s).

    Uses pycurl's AsyncCurlMulti shape: ``async with multi_class() as m``,
    ``await m.perform(curl)`` resolves to the Curl or raises pycurlcb.error.
    Each transfer keeps its own SocketTrace; the timelines share one start.
    """
    start = time.perf_counter()
    limit_n = args.parallel or len(urls)
    limit = asyncio.Semaphore(limit_n)
    embedded = bool(getattr(args, "embedded", False))
    policy = policy_from(args)
    known_fds: dict[str, int] = {}
    transfers = [
        Transfer(
            url,
            policy,
            verbose=args.verbose,
            connect_timeout=args.connect_timeout,
            start=start,
            known_fds=known_fds,
            no_proxy=embedded,
        )
        for url in urls
    ]

    async def one(multi: Any, transfer: Transfer) -> None:
        async with limit:
            curl = transfer.prepare()
            try:
                await multi.perform(curl)
            except (pycurlcb.error, TraceError, OSError) as exc:
                transfer.finish(curl, exc)
            except BaseException:
                transfer.finish(curl)
                raise
            else:
                transfer.finish(curl)

    async with multi_class() as multi:
        await asyncio.gather(*(one(multi, t) for t in transfers))
        for transfer in transfers:  # the multi's connection cache closes the rest
            transfer.trace.phase = "at the multi's close"
    elapsed = time.perf_counter() - start
    code = 0
    for n, transfer in enumerate(transfers, 1):
        print(f"[{n}] {transfer.url}")
        _print_transfer(transfer, sys.stdout)
        error = transfer.result.error
        if error is not None:
            _fail(f"[{n}] {describe_error(error, transfer.trace)}")
            code = code or exit_code(error)
    failures = sum(1 for t in transfers if t.result.error is not None)
    print(
        f"{len(transfers)} transfers, {failures} failed, {elapsed * 1000:.1f} ms in all, "
        f"{len(transfers) / elapsed:.0f} transfers/s (at most {limit_n} at a time)"
    )
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command; returns the exit status (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        if len(args.urls) > 1 or args.parallel is not None:
            multi_class = getattr(pycurlcb, "AsyncCurlMulti", None)
            if multi_class is None:
                return _fail(
                    "several URLs and --parallel need pycurlcb.AsyncCurlMulti, which this "
                    "pycurlcb does not have yet; give one URL",
                    2,
                )
            if args.output is not None:
                return _fail("-o takes a single URL", 2)
            if args.urls:
                return asyncio.run(run_parallel(args, multi_class, args.urls))
            with EmbeddedServer() as server:  # --parallel N alone: N paths of the embedded server
                args.embedded = True
                urls = [f"{server.url}p{i}" for i in range(1, args.parallel + 1)]
                return asyncio.run(run_parallel(args, multi_class, urls))
        return run_one(args, args.urls[0] if args.urls else None)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
