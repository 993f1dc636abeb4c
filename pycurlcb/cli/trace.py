"""The socket callbacks of one transfer: they apply the policy and record what happened.

CURLOPT_OPENSOCKETFUNCTION(3) opens (or refuses, or redirects, or binds) each
socket, CURLOPT_SOCKOPTFUNCTION(3) sets its TCP options,
CURLOPT_CLOSESOCKETFUNCTION(3) closes it, and with ``-v``
CURLOPT_DEBUGFUNCTION(3) adds libcurl's own lines.  Every one of them adds a
line to the transfer's Timeline.  None raises for a failure it can foresee:
it records a ``Failure`` in ``SocketTrace.failure`` and returns its abort
value (no socket, CURL_SOCKOPT_ERROR), so libcurl ends the transfer.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

import pycurlcb
from pycurlcb import InfoType, Opt, SockOpt, SockType, ssrf

from .addresses import Target, family_name, format_addr, same_ip
from .failure import Failure, curle
from .policy import SocketPolicy
from .timeline import Timeline


def _name(purpose: Any) -> str:
    """IPCXN, ACCEPT, or the number of a purpose this pycurlcb has no name for."""
    return str(getattr(purpose, "name", purpose))


@contextlib.contextmanager
def borrowed(fd: int) -> Iterator[socket.socket]:
    """A socket object over ``fd`` that does not close it (libcurl owns it)."""
    sock = socket.socket(fileno=fd)
    try:
        yield sock
    finally:
        sock.detach()


@dataclass
class Opened:
    """A socket opensocket handed to libcurl."""

    fd: Optional[int]  # None until sockopt names it (see SocketTrace.opensocket)
    target: Target
    spare: Optional[socket.socket] = None  # our copy, when libcurl got a dup()


_DEBUG_PREFIX = {InfoType.TEXT: "*", InfoType.HEADER_OUT: ">", InfoType.HEADER_IN: "<"}


class SocketTrace:
    """The opensocket, sockopt, closesocket and debug callbacks of one transfer.

    ``install(curl)`` sets them; the instance must stay reachable until the
    Curl is closed (the Curl holds it through the bound methods).
    """

    def __init__(self, policy: SocketPolicy, timeline: Timeline) -> None:
        self.policy = policy
        self.timeline = timeline
        self.refusals: list[str] = []  # the reasons of the refusals seen, in order
        self.opened: list[Opened] = []
        #: The first failure a callback recorded (it returned its abort value).
        self.failure: Optional[Failure] = None
        #: When opensocket was first called (ms), for placing libcurl's times.
        self.first_open_ms: Optional[float] = None
        #: Where closes happen from now on ("at Curl.close()"), shown on their lines.
        self.phase = ""

    def install(self, curl: pycurlcb.Curl, verbose: bool = False) -> None:
        curl.setopt(Opt.OPENSOCKETFUNCTION, self.opensocket)
        curl.setopt(Opt.SOCKOPTFUNCTION, self.sockopt)
        curl.setopt(Opt.CLOSESOCKETFUNCTION, self.closesocket)
        if self.policy.deny_private:
            # The guard itself: every address libcurl connects to, also where no
            # callback of ours runs (a proxy from the environment, a reused connection).
            ssrf.Policy().attach(curl)
        if verbose:
            curl.setopt(Opt.VERBOSE, 1)
            curl.setopt(Opt.DEBUGFUNCTION, self.debug)

    def refused(self, refusals: Any) -> None:
        """What the attached ssrf.Policy refused before this trace's opensocket ran
        (``AddressRefused.refused``): on the timeline, if not there yet."""
        for address, port, reason in refusals:
            if reason not in self.refusals:
                self.refusals.append(reason)
                self.timeline.add("refused", f"{address} port {port}: {reason} (--deny-private)")

    def _fail(self, failure: Failure) -> None:
        if self.failure is None:
            self.failure = failure

    # CURLOPT_OPENSOCKETFUNCTION(3)
    def opensocket(self, purpose: SockType, address: pycurlcb.CurlSockAddr) -> Any:
        """Refuse (None), or open a socket and return its fd, with a new address if any."""
        if self.first_open_ms is None:
            self.first_open_ms = self.timeline.now()
        family, addr = address.family, address.addr
        target_family, target = self.policy.translate(family, addr)
        where = format_addr(family, addr)
        if (target_family, target) != (family, addr):
            where += f" -> {format_addr(target_family, target)} (--rewrite-address)"
        what = f"{_name(purpose)} {family_name(family)} {where}"
        if self.policy.deny_private and (target_family, target) != (family, addr):
            # The attached Policy refused the address libcurl chose before this
            # callback ran, and refuses a rewritten one after it: checked here
            # too so that the timeline says so before any socket is opened.
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
        except Failure as failure:
            sock.close()
            self._fail(failure)
            self.timeline.add("refused", f"{what}: {failure}")
            return None
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
        """Bind to --interface; the text for the timeline.

        Raises Failure with CURLE_INTERFACE_FAILED, curl(1)'s exit status when
        its own --interface cannot bind.
        """
        ip = self.policy.interface
        if ip is None:
            return ""
        code = curle("INTERFACE_FAILED")
        if (ipaddress.ip_address(ip).version == 6) != (sock.family == socket.AF_INET6):
            raise Failure(f"--interface {ip} cannot bind a {family_name(sock.family)} socket", code)
        try:
            sock.bind((ip, 0))
        except OSError as exc:
            raise Failure(f"cannot bind to --interface {ip}: {exc.strerror}", code) from None
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
            text, ok = self._configure(sock)
        self.timeline.add("sockopt", f"fd {fd}{note}, {_name(purpose)}: {text}")
        return int(SockOpt.OK if ok else SockOpt.ERROR)

    def _configure(self, sock: socket.socket) -> tuple[str, bool]:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return "not a TCP socket, nothing set", True
        opts = self.policy.tcp_options()
        for name, level, option, value in opts:
            try:
                sock.setsockopt(level, option, value)
            except OSError as exc:
                message = f"setsockopt({name}) failed: {exc.strerror}"
                self._fail(Failure(message))  # libcurl: CURLE_ABORTED_BY_CALLBACK
                return message, False
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
        return f"{prefix} {values}", True

    # CURLOPT_CLOSESOCKETFUNCTION(3)
    def closesocket(self, fd: int) -> int:
        """Close ``fd`` (this callback owns it) and record it."""
        try:
            os.close(fd)
        except OSError as exc:
            self.timeline.add("close", f"fd {fd}: close() failed: {exc.strerror}")
            return 1
        self.timeline.add("close", f"fd {fd}" + (f" ({self.phase})" if self.phase else ""))
        return 0

    # CURLOPT_DEBUGFUNCTION(3), with -v
    def debug(self, kind: InfoType, data: bytes) -> None:
        prefix = _DEBUG_PREFIX.get(kind)
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
            o for o in reversed(self.opened) if o.fd is not None and same_ip(o.target[1][0], ip)
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
