"""The command line: options, their help text, and their values checked.

A bad value is a usage error: one line on stderr, ``pycurlcb: (2) argument
--keepalive: expected ...``, and exit status 2 (curl's for a bad command line).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from .addresses import parse_connect_to, parse_ip, parse_rewrite_address
from .failure import PROG, USAGE, report

DESCRIPTION = """\
Perform transfers with libcurl's socket callbacks installed (opensocket,
sockopt, closesocket) and print every socket they opened, configured,
connected and closed, in milliseconds since the transfer started. With no
URL, fetch from an embedded HTTP server on 127.0.0.1 (no network needed).
On a terminal, a transfer that takes more than a second shows its progress.
"""

EPILOG = """\
exit status: 0 on success; else curl's: libcurl's CURLcode (6 could not
resolve, 7 could not connect or refused by --deny-private, 22 HTTP error with
--fail, 23 write error, 28 timeout, 45 --interface bind failure ...); 2 for a
bad command line; 130 for Ctrl-C (the timeline so far is printed first).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        report(f"({USAGE}) {message} (see {PROG} --help)")
        sys.exit(USAGE)


def _arg(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a parser that raises ValueError with a message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def _whole_seconds(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"expected a whole number of seconds >= 1, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"expected a number of transfers >= 1, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        usage=f"{PROG} [options] [URL ...]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "urls",
        nargs="*",
        metavar="URL",
        help="what to fetch; several URLs run at once on one AsyncCurlMulti "
        "(default: the embedded server)",
    )
    parser.add_argument(
        "-V", "--version", action="store_true", help="pycurlcb's and libcurl's versions and features"
    )

    transfer = parser.add_argument_group("transfer")
    transfer.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the body to FILE, through a temporary file in the same directory "
        "renamed onto FILE on success, so a failed transfer leaves FILE as it was "
        "(where no temporary file can be made, an existing FILE is written in place); "
        "'-' for stdout (the timeline then goes to stderr). Default: count the bytes only",
    )
    transfer.add_argument(
        "-f",
        "--fail",
        action="store_true",
        help="an HTTP status >= 400 fails the transfer, exit status 22, no body written "
        "(CURLOPT_FAILONERROR)",
    )
    transfer.add_argument(
        "--connect-to",
        metavar="HOST1:PORT1:HOST2:PORT2",
        action="append",
        default=[],
        type=_arg(parse_connect_to),
        help="connect to HOST2:PORT2 when the URL names HOST1:PORT1; HOST1 is never "
        "resolved, and the URL (Host header, TLS name) stays as it is. An empty part "
        "matches any host or port (HOST1, PORT1) or keeps the URL's (HOST2, PORT2); IPv6 in "
        "brackets; repeatable (CURLOPT_CONNECT_TO, as curl's --connect-to)",
    )
    transfer.add_argument(
        "--connect-timeout",
        metavar="SECONDS",
        type=_arg(_seconds),
        default=30.0,
        help="give up connecting after SECONDS, exit status 28 (default 30)",
    )
    transfer.add_argument(
        "-m",
        "--max-time",
        metavar="SECONDS",
        type=_arg(_seconds),
        help="give up the whole transfer after SECONDS, exit status 28",
    )
    transfer.add_argument(
        "--parallel",
        metavar="N",
        type=_arg(_count),
        help="with several URLs, run at most N at a time (default: all at once); "
        "with no URL, fetch N paths of the embedded server",
    )
    transfer.add_argument(
        "--summary",
        action="store_true",
        help="no timelines: the result line of each URL; with several URLs or --parallel, "
        "one summary line (transfers, failures, sockets, time, rate)",
    )
    transfer.add_argument(
        "-v", "--verbose", action="store_true", help="add libcurl's debug lines to the timeline"
    )
    transfer.add_argument(
        "--no-progress-meter",
        action="store_true",
        help="no progress line on the terminal (there is none when stderr is not a terminal)",
    )

    sockets = parser.add_argument_group("socket callbacks")
    sockets.add_argument(
        "--deny-private",
        action="store_true",
        help="attach pycurlcb.ssrf.Policy(): refuse every address of the IANA special-purpose "
        "registries (loopback, private, link-local, ...), IPv4 and IPv6, where libcurl connects, "
        "after DNS; no proxy from the environment, no DoH; exit status 7",
    )
    sockets.add_argument(
        "--rewrite-address",
        metavar="ADDR:PORT",
        type=_arg(parse_rewrite_address),
        help="connect every socket to ADDR:PORT instead of the address libcurl resolved "
        "(opensocket modifies the address); IPv6 in brackets, a name is resolved first. "
        "Unlike --connect-to, the URL's host must resolve",
    )
    sockets.add_argument(
        "--interface",
        metavar="ADDR",
        type=_arg(parse_ip),
        help="bind each socket to this source IP address before it connects (in "
        "opensocket); exit status 45 if it cannot",
    )
    sockets.add_argument(
        "--keepalive",
        metavar="SECONDS",
        type=_arg(_whole_seconds),
        help="SO_KEEPALIVE, with TCP_KEEPIDLE and TCP_KEEPINTVL of SECONDS (in sockopt)",
    )
    sockets.add_argument("--nodelay", action="store_true", help="set TCP_NODELAY (in sockopt)")
    return parser
