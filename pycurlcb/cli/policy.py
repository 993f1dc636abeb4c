"""What the socket options of the command line ask of the callbacks, parsed once."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, Optional

from .addresses import Target


@dataclass(frozen=True)
class SocketPolicy:
    """The options trace.SocketTrace applies.

    deny_private: attach a default ``pycurlcb.ssrf.Policy`` to the transfer.
    rewrite: connect to one of these instead (opensocket modifies the
      address); the one of the attempt's family if there is one.
    interface: an IP literal to bind the socket to (port 0) before connect (opensocket).
    keepalive: seconds, for TCP_KEEPIDLE and TCP_KEEPINTVL (sockopt).
    nodelay: set TCP_NODELAY (sockopt).
    """

    deny_private: bool = False
    rewrite: tuple[Target, ...] = ()
    interface: Optional[str] = None
    keepalive: Optional[int] = None
    nodelay: bool = False

    def translate(self, family: int, addr: Any) -> Target:
        """Where an attempt to ``addr`` connects: ``--rewrite-address``'s target or ``addr``."""
        if not self.rewrite:
            return family, addr
        for target in self.rewrite:
            if target[0] == family:
                return target
        return self.rewrite[0]

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
