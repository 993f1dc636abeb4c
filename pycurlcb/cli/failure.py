"""Failures as the command reports them: one line on stderr and curl's exit status.

The exit status is the CURLcode, as curl(1) uses it: 6 could not resolve,
7 could not connect, 22 an HTTP status >= 400 with ``--fail``, 23 a write
error, 28 a timeout, 45 an ``--interface`` bind failure ...  Besides those:
2 for a usage error (curl's too) and 130 for Ctrl-C.

The callbacks never raise for a failure they foresee (a full disk, a bind
that fails): they record a ``Failure`` and return their abort value, and
libcurl ends the transfer with its own code.  ``failure_of`` then prefers the
recorded Failure, whose message says what happened.  An exception a callback
did raise comes out of ``perform()`` either as itself or as ``pycurlcb.error``
with ``__cause__`` set to it; both are read here.
"""

from __future__ import annotations

import sys
from typing import Optional

import pycurlcb

PROG = "pycurlcb"

USAGE = 2  # curl's status for a bad command line
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


def curle(name: str) -> int:
    """The value of ``CURLE_<name>`` from the installed libcurl (pycurl's ``E_<name>``)."""
    return int(getattr(pycurlcb, "E_" + name))


class Failure(Exception):
    """What ended a transfer or the command: ``code`` (the exit status) and one line.

    ``code`` None means "libcurl's code for the transfer it ended".
    """

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())  # one line, whatever it held
        self.code = code

    def __str__(self) -> str:
        return self.message


def describe_curl_error(exc: BaseException) -> str:
    """``CURLE_NAME: libcurl's message`` for a ``pycurlcb.error`` (pycurl's ``(code, message)``)."""
    code, message = (exc.args + (None, ""))[:2]
    name = getattr(exc, "name", None) or f"CURLcode {code}"
    return f"{name}: {message}"


def failure_of(exc: BaseException, recorded: Optional[Failure] = None) -> Failure:
    """The Failure to report for ``exc``, what ``perform()`` raised.

    ``recorded``: a Failure a callback of this transfer recorded, if any; its
    message wins, and its code too unless it left that to libcurl.
    """
    cause = exc.__cause__ if isinstance(exc, pycurlcb.error) else None
    if isinstance(cause, Failure) and recorded is None:
        recorded = cause
    libcurl_code: Optional[int] = None
    if isinstance(exc, pycurlcb.error) and isinstance(exc.args[0], int) and 0 < exc.args[0] < 256:
        libcurl_code = exc.args[0]
    if isinstance(exc, Failure):
        recorded = exc
    if recorded is not None:
        return Failure(recorded.message, recorded.code or libcurl_code or 1)
    if isinstance(exc, pycurlcb.error):
        text = describe_curl_error(exc)
        if cause is not None:
            text += f" (a callback raised {type(cause).__name__}: {cause})"
        return Failure(text, libcurl_code or 1)
    return Failure(f"{type(exc).__name__}: {exc}", 1)


def report(message: str) -> None:
    """Write ``pycurlcb: message`` as one line on stderr."""
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr, flush=True)


def report_failure(failure: Failure, prefix: str = "") -> int:
    """``pycurlcb: [prefix](code) message`` on stderr; returns the code."""
    code = failure.code if failure.code is not None else 1
    report(f"{prefix}({code}) {failure.message}")
    return code
