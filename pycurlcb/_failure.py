"""The failure funnel of callbacks: what a callback raised, kept until the driving call raises it.

A trampoline that catches an exception records it on the state of the handle
whose callback it was (``State._fail``: the first one is kept), and a
KeyboardInterrupt or SystemExit is also parked per thread (``park``), so that
whatever call is driving libcurl in this thread raises it at once.  After each
call into libcurl that can run callbacks, the handle takes both
(``take_failure``: the parked one first) and hands them to ``errors.outcome``,
which makes the exception the call raises (docs/internals.md).
"""

from __future__ import annotations

import sys
import threading
from typing import Optional

__all__ = ["State", "has_parked", "park", "post_mortem", "take_failure", "take_parked"]


class State:
    """A recorded failure: the first exception raised by a callback of the owner."""

    __slots__ = ("_exc",)

    _exc: Optional[BaseException]

    def _fail(self, exc: BaseException) -> None:
        if self._exc is None:
            self._exc = exc
        if not isinstance(exc, Exception):
            park(exc)

    def _take(self) -> Optional[BaseException]:
        """The recorded exception, cleared."""
        exc, self._exc = self._exc, None
        return exc


class _Parked(threading.local):
    exc: Optional[BaseException] = None


_parked = _Parked()


def park(exc: BaseException) -> None:
    if _parked.exc is None:
        _parked.exc = exc


def has_parked() -> bool:
    """Whether a callback parked a KeyboardInterrupt/SystemExit in this thread."""
    return _parked.exc is not None


def take_parked() -> Optional[BaseException]:
    """A KeyboardInterrupt/SystemExit a callback raised in this thread, cleared."""
    exc = _parked.exc
    if exc is not None:
        _parked.exc = None
    return exc


def post_mortem(exc: BaseException) -> None:
    """Leave ``exc`` where pdb.pm() looks (sys.last_value ...), as pycurl's
    callback errors are; nothing is printed."""
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, exc.__traceback__
    if sys.version_info >= (3, 12):
        sys.last_exc = exc


def take_failure(state: State) -> Optional[BaseException]:
    """What the driving call that just returned must raise for ``state``: a parked
    KeyboardInterrupt/SystemExit first, else the state's recorded exception.
    Both are cleared."""
    parked = take_parked()
    exc = state._take()
    return parked if parked is not None else exc
