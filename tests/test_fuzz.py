"""Fuzzing with hypothesis: random options, values, info ids and callback results.

Only Python exceptions may come out, never a crash, never a leaked fd:

* ``setopt``/``unsetopt`` with random option ids (every ``Opt`` member and
  arbitrary ints) and random values of every type (ints of any size, floats,
  str with NUL / surrogates / non-ASCII, bytes, lists, None, plain and hostile
  objects, callables) on one handle, then close(): only TypeError,
  ValueError, ``pycurlcb.error`` or the hostile object's own exception.
  No perform here: many options make libcurl do I/O (URL, PROXY, CAINFO ...).
  Left out are the options with which libcurl touches files *without* a
  transfer: COOKIEJAR (written at curl_easy_cleanup, "-" means stdout),
  COOKIELIST ("FLUSH" writes the jar, "RELOAD" reads COOKIEFILE), COOKIEFILE
  (read by RELOAD), ALTSVC and HSTS (loaded at setopt, saved at cleanup).
  The same for ``CurlMulti.setopt``.
* ``getinfo``/``getinfo_raw`` with random ints, on a fresh handle and after a
  transfer.
* The return values of opensocket, sockopt, closesocket, write, header, read,
  seek, xferinfo and the multi socket and timer callbacks, drawn at random
  (every type, plus the values that mean something: sizes around the buffer
  length, PAUSE/ABORT codes, sockets, fds, closed sockets, address tuples)
  during real transfers against a local server: perform() / socket_action
  return or raise a Python exception; the same Curl then completes a
  transfer with harmless callbacks; fds are back.  Every transfer has
  TIMEOUT_MS (a PAUSE return would otherwise stall it for good).  Two
  restrictions keep the fuzzer from breaking its own process: opensocket
  never returns a small non-negative int (it would hand libcurl an fd the
  process uses for something else, which libcurl then closes), and
  closesocket always closes its fd before returning its random value (the
  callback owns the fd).  Address tuples only point at 127.0.0.1.
* A random sequence of HTTP-level options (an allowlist: nothing that names
  a file, a host, a proxy or a protocol) followed by a transfer.

And, as plain tests: a callback unset with unsetopt (or setopt(..., None))
then a transfer -- libcurl's defaults must apply, not a crash (run in a child).

``max_examples`` is modest (the file runs in well under a minute) and the
examples are derandomized so CI is reproducible; set PYCURLCB_FUZZ_EXAMPLES=N
to explore N random examples per test instead.
"""

from __future__ import annotations

import gc
import os
import select
import socket
import subprocess
import sys
import textwrap
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from fds import forget_last_exception, open_fds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import FastServer, body_of

import pycurlcb
import pycurlcb._callbacks
from pycurlcb import Curl, CurlMulti
from pycurlcb.constants import OPTIONS, MOpt

ROOT = Path(__file__).resolve().parent.parent
_EXPLORE = int(os.environ.get("PYCURLCB_FUZZ_EXAMPLES", "0"))


def fuzz_settings(examples: int) -> Any:
    return settings(
        max_examples=_EXPLORE or examples,
        derandomize=not _EXPLORE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture(scope="module")
def server() -> Iterator[FastServer]:
    srv = FastServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


# ---------------------------------------------------------------------------
# values of every type


class EvilError(Exception):
    """What the hostile objects raise."""


class Evil:
    """An object every protocol of which raises: iteration, len, index, fspath, str."""

    def __iter__(self) -> Any:
        raise EvilError("__iter__")

    def __len__(self) -> int:
        raise EvilError("__len__")

    def __index__(self) -> int:
        raise EvilError("__index__")

    def __int__(self) -> int:
        raise EvilError("__int__")

    def __fspath__(self) -> str:
        raise EvilError("__fspath__")

    def __str__(self) -> str:
        raise EvilError("__str__")

    def __bool__(self) -> bool:
        raise EvilError("__bool__")

    def __eq__(self, other: object) -> bool:
        raise EvilError("__eq__")

    __hash__ = object.__hash__

    def fileno(self) -> int:
        raise EvilError("fileno")

    def write(self, data: Any) -> Any:
        raise EvilError("write")

    def read(self, n: Any) -> Any:
        raise EvilError("read")


class BadPath:
    """os.PathLike whose __fspath__ returns neither str nor bytes."""

    def __fspath__(self) -> Any:
        return 42


class HugeIndex:
    def __index__(self) -> int:
        return 2**70


class IntSub(int):
    pass


class StrSub(str):
    pass


EDGE_INTS = [
    0, 1, -1, 2, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1,
    2**32, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 2**200, -(2**200),
    0x10000000, 0x10000001, 0xFFFFFFFF,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(EDGE_INTS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", "a\0b", "\0", "\ud800", "é" * 5, "☃", "x" * 5000, "http://127.0.0.1:1/"]),
    st.binary(max_size=40),
    st.sampled_from([b"", b"\0", b"a\0", b"\xff\xfe", b"x" * 5000]),
    st.builds(bytearray, st.binary(max_size=20)),
    st.builds(memoryview, st.binary(max_size=20)),
    st.builds(IntSub, st.integers()),
    st.builds(StrSub, st.text(max_size=10)),
    st.builds(object),
    st.builds(Evil),
    st.builds(BadPath),
    st.builds(HugeIndex),
    st.just(Path("/nonexistent/pycurlcb-fuzz")),
    st.just(lambda *args: None),
    st.just(type),
    st.just(Ellipsis),
    st.just(NotImplemented),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.lists(st.text(max_size=20), max_size=4),
    st.lists(st.binary(max_size=20), max_size=4),
    st.tuples(scalars, scalars),
    st.dictionaries(st.text(max_size=5), scalars, max_size=3),
    st.frozensets(st.integers(), max_size=3),
)

#: libcurl touches files at setopt or at curl_easy_cleanup with these (see the docstring).
FILE_AT_SETOPT_OR_CLEANUP = {"COOKIEJAR", "COOKIELIST", "COOKIEFILE", "ALTSVC", "HSTS"}
SWEEP_OPTIONS = sorted(
    int(spec.id) for spec in OPTIONS.values() if spec.name not in FILE_AT_SETOPT_OR_CLEANUP
)
option_ids = st.one_of(
    st.sampled_from(SWEEP_OPTIONS),
    st.integers(),
    st.sampled_from([0, -1, 10000, 20000, 30000, 40000, 2**31, 2**63, -(2**63)]),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.floats(),
)
# the flat names of the excluded options must never be drawn as plain ints either
# (HSTS is libcurl 7.74+: an older libcurl has no such option, nothing to exclude)
_EXCLUDED_IDS = {
    int(getattr(pycurlcb, name)) for name in FILE_AT_SETOPT_OR_CLEANUP if hasattr(pycurlcb, name)
}
option_ids = option_ids.filter(lambda o: not (type(o) is int and o in _EXCLUDED_IDS))

#: What setopt may raise for a bad option or value (pycurl 7.49): TypeError,
#: ValueError (UnicodeEncodeError for non-ASCII str, a NUL byte ...),
#: OverflowError for an int out of the option's C range, pycurlcb.error
#: (E_UNKNOWN_OPTION, or libcurl refusing the value), or what the value's own
#: methods raise.
SETOPT_ERRORS = (TypeError, ValueError, OverflowError, pycurlcb.error, EvilError)


@fuzz_settings(300)
@given(ops=st.lists(st.tuples(st.sampled_from(["setopt", "unsetopt"]), option_ids, values), max_size=25))
def test_setopt_and_unsetopt_random_options_and_values(ops: list[tuple[str, Any, Any]]) -> None:
    c = Curl()
    try:
        for what, option, value in ops:
            try:
                if what == "setopt":
                    c.setopt(option, value)
                else:
                    c.unsetopt(option)
            except SETOPT_ERRORS:
                pass
    finally:
        c.close()


@fuzz_settings(150)
@given(ops=st.lists(st.tuples(st.one_of(st.sampled_from([int(m) for m in MOpt]), st.integers()), values),
                    max_size=15))
def test_multi_setopt_random_options_and_values(ops: list[tuple[Any, Any]]) -> None:
    m = CurlMulti()
    try:
        for option, value in ops:
            try:
                m.setopt(option, value)
            except SETOPT_ERRORS:
                pass
    finally:
        m.close()


info_ids = st.one_of(
    st.integers(),
    st.sampled_from([int(i) for i in pycurlcb.Info]),
    st.integers(0, 0x700000 + 200),
    st.sampled_from([0x100000 + n for n in range(80)] + [0x200000 + n for n in range(80)]
                    + [0x300000 + n for n in range(80)] + [0x400000 + n for n in range(80)]
                    + [0x500000 + n for n in range(80)] + [0x600000 + n for n in range(80)]),
    st.booleans(),
    st.none(),
    st.floats(),
    st.text(max_size=3),
)


@pytest.fixture(scope="module")
def used_curl(server: FastServer) -> Iterator[Curl]:
    """A Curl after one complete transfer (kept for the module: no per-example cost)."""
    c = Curl()
    c.setopt(pycurlcb.URL, server.url("/body/100"))
    c.setopt(pycurlcb.WRITEFUNCTION, lambda data: None)
    c.setopt(pycurlcb.FORBID_REUSE, 1)  # no connection left open across tests
    c.perform()
    try:
        yield c
    finally:
        c.close()


@fuzz_settings(200)
@given(infos=st.lists(info_ids, min_size=1, max_size=10))
def test_getinfo_random_ids(infos: list[Any], used_curl: Curl) -> None:
    fresh = Curl()
    try:
        for info in infos:
            for c in (fresh, used_curl):
                for getinfo in (c.getinfo, c.getinfo_raw):
                    try:
                        getinfo(info)
                    except (TypeError, ValueError, pycurlcb.error):
                        pass
    finally:
        fresh.close()


# ---------------------------------------------------------------------------
# callback return values during real transfers

TIMEOUT_MS = 400  # every fuzzed transfer: a PAUSE return stalls it until then
#: What a fuzzed callback may make perform()/socket_action raise: the
#: conversion errors, libcurl's codes, the hostile object's own exception.
CALLBACK_ERRORS = (TypeError, ValueError, OverflowError, pycurlcb.error, EvilError)


def open_fd_count() -> int:
    return len(open_fds())


def assert_fds_back(before: int, what: Any) -> None:
    end = time.monotonic() + 2.0
    now = open_fd_count()
    while now > before and time.monotonic() < end:
        gc.collect()
        time.sleep(0.01)
        now = open_fd_count()
    assert now <= before, f"{now - before} fd(s) leaked by {what!r}"


class Script:
    """A callback's results, one per call, then the harmless default for the rest.

    A str item starting with "@" is a token the callback turns into a value at
    call time (a size, a fresh socket ...); anything else is returned as is.
    """

    def __init__(self, results: list[Any]) -> None:
        self.results = list(results)
        self.calls = 0

    def next(self, default: Any = None) -> Any:
        self.calls += 1
        return self.results.pop(0) if self.results else default


def _sized(token: Any, n: int, default: Any) -> Any:
    """Resolve the size tokens of write/header/read results."""
    if not (isinstance(token, str) and token.startswith("@")):
        return token
    return {
        "@n": n, "@n-1": n - 1, "@n+1": n + 1, "@zero": 0, "@pause": pycurlcb.WRITEFUNC_PAUSE,
        "@abort": pycurlcb.READFUNC_ABORT, "@rpause": pycurlcb.READFUNC_PAUSE,
        "@bytes": b"r" * n, "@bytes+1": b"r" * (n + 1), "@half": b"r" * (n // 2), "@empty": b"",
        "@ascii": "r" * min(n, 10), "@nonascii": "é" * min(n, 10), "@bytearray": bytearray(b"r" * min(n, 10)),
        "@memoryview": memoryview(b"r" * min(n, 10)), "@cast": memoryview(b"rrrr").cast("I"),
    }.get(token, default)


size_tokens = st.sampled_from(["@n", "@n-1", "@n+1", "@zero", "@pause"])
read_tokens = st.sampled_from(
    ["@bytes", "@bytes+1", "@half", "@empty", "@ascii", "@nonascii", "@bytearray", "@memoryview",
     "@cast", "@abort", "@rpause", "@n"]
)
socket_tokens = st.sampled_from(
    ["@socket", "@fd", "@closed", "@other-family", "@tuple", "@tuple-refused", "@tuple-fd",
     "@tuple-garbage", "@udp"]
)
safe_for_opensocket = values.filter(
    lambda v: not (isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31)
)


def _opensocket_result(token: Any, address: Any, refused_port: int, garbage: Any) -> Any:
    if not (isinstance(token, str) and token.startswith("@")):
        return token
    family, socktype, proto = address.family, address.socktype, address.protocol
    if token == "@socket":
        return socket.socket(family, socktype, proto)
    if token == "@fd":
        return socket.socket(family, socktype, proto).detach()  # ownership passes to libcurl
    if token == "@closed":
        s = socket.socket(family, socktype, proto)
        s.close()
        return s
    if token == "@other-family":
        return socket.socket(socket.AF_INET6 if family == socket.AF_INET else socket.AF_INET)
    if token == "@udp":
        return socket.socket(family, socket.SOCK_DGRAM)
    if token == "@tuple":
        return socket.socket(family, socktype, proto), address.addr
    if token == "@tuple-refused":
        return socket.socket(family, socktype, proto), ("127.0.0.1", refused_port)
    if token == "@tuple-fd":
        return socket.socket(family, socktype, proto).detach(), address.addr
    if token == "@tuple-garbage":
        return socket.socket(family, socktype, proto), garbage
    return token


#: What the fuzzed transfers ended with, per test: "ok" or the exception's type name.
OUTCOMES: dict[str, Counter[str]] = defaultdict(Counter)


def _check_raised(exc: Optional[BaseException], what: Any, kind: str = "") -> None:
    OUTCOMES[kind]["ok" if exc is None else type(exc).__name__] += 1
    if exc is None:
        return
    assert isinstance(exc, CALLBACK_ERRORS), f"{what!r}: unexpected {type(exc).__name__}: {exc!r}"
    assert not isinstance(exc, SystemError), f"{what!r}: {exc!r}"


def _perform(c: Curl) -> Optional[BaseException]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # SOCKOPT_ALREADY_CONNECTED on 7.88
            c.perform()
    except BaseException as exc:  # noqa: B036 - classified by the caller
        return exc
    return None


def _after_ok(c: Curl, server: FastServer) -> None:
    """The same Curl, harmless callbacks: a complete transfer."""
    chunks: list[bytes] = []
    c.reset()
    c.setopt(pycurlcb.URL, server.url("/body/300"))
    c.setopt(pycurlcb.WRITEFUNCTION, chunks.append)
    c.setopt(pycurlcb.TIMEOUT_MS, 5000)
    c.perform()
    assert b"".join(chunks) == body_of(300)


@pytest.fixture(scope="module")
def refused_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def _run_easy(kind: str, results: list[Any], server: FastServer, refused_port: int = 1,
              garbage: Any = None) -> None:
    before = open_fd_count()
    script = Script(results)
    c = Curl()
    try:
        c.setopt(pycurlcb.TIMEOUT_MS, TIMEOUT_MS)
        c.setopt(pycurlcb.WRITEFUNCTION, lambda data: None)
        if kind in ("read", "seek"):
            data = b"u" * 3000
            pos = [0]

            def read(n: int) -> Any:
                piece = data[pos[0] : pos[0] + min(n, 1000)]
                if kind == "read" and script.results:
                    return _sized(script.next(), n, b"")
                pos[0] += len(piece)
                return piece

            def seek(offset: int, origin: int) -> Any:
                pos[0] = offset
                return script.next(0) if kind == "seek" else 0

            # 307 makes libcurl rewind the upload through the seek callback
            c.setopt(pycurlcb.URL, server.url("/r307/echo" if kind == "seek" else "/echo"))
            c.setopt(pycurlcb.FOLLOWLOCATION, 1)
            c.setopt(pycurlcb.POST, 1)
            c.setopt(pycurlcb.POSTFIELDSIZE, len(data))
            c.setopt(pycurlcb.HTTPHEADER, ["Expect:"])
            c.setopt(pycurlcb.READFUNCTION, read)
            c.setopt(pycurlcb.SEEKFUNCTION, seek)
        else:
            sockets = kind in ("opensocket", "sockopt", "closesocket")
            c.setopt(pycurlcb.URL, server.url("/redirect/2" if sockets else "/body/20000"))
            c.setopt(pycurlcb.FOLLOWLOCATION, 1)
            c.setopt(pycurlcb.FORBID_REUSE, 1)
            c.setopt(pycurlcb.BUFFERSIZE, 4096)
        if kind == "write":
            c.setopt(pycurlcb.WRITEFUNCTION, lambda data: _sized(script.next(), len(data), None))
        elif kind == "header":
            c.setopt(pycurlcb.HEADERFUNCTION, lambda data: _sized(script.next(), len(data), None))
        elif kind == "xferinfo":
            c.setopt(pycurlcb.NOPROGRESS, 0)
            c.setopt(pycurlcb.XFERINFOFUNCTION, lambda *a: script.next())
        elif kind == "opensocket":
            def opensocket(purpose: Any, address: Any) -> Any:
                if not script.results:
                    return socket.socket(address.family, address.socktype, address.protocol)
                return _opensocket_result(script.next(), address, refused_port, garbage)

            c.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
        elif kind == "sockopt":
            c.setopt(pycurlcb.SOCKOPTFUNCTION, lambda fd, purpose: script.next())
        elif kind == "closesocket":
            def closesocket(fd: int) -> Any:
                os.close(fd)  # the callback owns the fd, whatever it returns
                return script.next()

            c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
        exc = _perform(c)
        _check_raised(exc, results, kind)
        # The traceback holds the frames that handled the results, and with
        # them any socket object a result carried: ours to drop, not a leak.
        # pycurlcb leaves a callback's exception in sys.last_value (as pycurl,
        # whose PyErr_Print sets it) and, from 3.12, sys.last_exc, which hold it too.
        del exc
        forget_last_exception()
        _after_ok(c, server)
    finally:
        c.close()
    assert_fds_back(before, (kind, results))


def mix(*strategies: Any) -> Any:
    """Each strategy about equally often (st.one_of favours the first ones).

    Callback results mix harmless values (None), values that mean something to
    that callback and anything at all: a transfer whose first result is
    garbage fails at once, so all are needed to get deep into transfers.
    """
    return st.integers(0, len(strategies) - 1).flatmap(lambda k: strategies[k])


EASY_RESULTS = {
    "write": mix(st.none(), size_tokens, values),
    "header": mix(st.none(), size_tokens, values),
    "read": mix(read_tokens, read_tokens, values),
    "seek": mix(st.none(), st.sampled_from([0, 1, 2, 3, -1]), values),
    "xferinfo": mix(st.none(), st.sampled_from([0, False, 1, -1, 2**31]), values),
    "sockopt": mix(st.none(), st.sampled_from([0, 1, 2, 3, -1]), values),
    "closesocket": mix(st.none(), st.sampled_from([0, 1, -1]), values),
    "opensocket": mix(st.none(), socket_tokens, safe_for_opensocket, st.just(pycurlcb.SOCKET_BAD)),
}


@pytest.mark.parametrize("kind", list(EASY_RESULTS))
def test_random_callback_results_in_real_transfers(kind: str, server: FastServer, refused_port: int) -> None:
    @fuzz_settings(40)
    @given(results=st.lists(EASY_RESULTS[kind], min_size=1, max_size=4), garbage=values)
    def fuzz(results: list[Any], garbage: Any) -> None:
        _run_easy(kind, results, server, refused_port, garbage)

    OUTCOMES[kind].clear()
    fuzz()
    outcomes = OUTCOMES[kind]
    print("OUTCOMES", kind, dict(outcomes), file=sys.stderr)
    if kind == "closesocket":
        # libcurl ignores what CLOSESOCKETFUNCTION returns, and so does pycurlcb:
        # whatever the callable returned, every transfer completed.
        assert set(outcomes) == {"ok"}, dict(outcomes)
        return
    # The draws exercised both ends: transfers that failed and ones that completed.
    assert outcomes["ok"] > 0 and sum(outcomes.values()) > outcomes["ok"], dict(outcomes)


# ---------------------------------------------------------------------------
# multi socket and timer callback results


class FuzzDriver:
    """poll() driver whose socket/timer callbacks do their job, then return a drawn value."""

    def __init__(self, m: CurlMulti, socket_results: Script, timer_results: Script) -> None:
        self.m = m
        self.wanted: dict[int, int] = {}
        self.deadline: Optional[float] = None
        self.socket_results = socket_results
        self.timer_results = timer_results
        m.setopt(pycurlcb.M_SOCKETFUNCTION, self.on_socket)
        m.setopt(pycurlcb.M_TIMERFUNCTION, self.on_timer)

    def on_socket(self, what: int, fd: int, multi: Any, socketp: Any) -> Any:
        if what == pycurlcb.POLL_REMOVE:
            self.wanted.pop(fd, None)
        else:
            self.wanted[fd] = what
        return self.socket_results.next()

    def on_timer(self, ms: int) -> Any:
        self.deadline = None if ms < 0 else time.monotonic() + ms / 1000
        return self.timer_results.next()

    def drive(self, curls: list[Curl], raised: list[BaseException]) -> None:
        """Until every transfer is reported or a driving call raised."""
        pending = set(curls)
        end = time.monotonic() + TIMEOUT_MS / 1000 + 3
        while pending and not raised:
            assert time.monotonic() < end, "the multi stalled past every transfer's timeout"
            poller = select.poll()
            for fd, what in self.wanted.items():
                poller.register(fd, {1: select.POLLIN, 2: select.POLLOUT, 3: select.POLLIN | select.POLLOUT}
                                .get(what, select.POLLIN))
            wait = 0.05 if self.deadline is None else max(0.0, min(0.05, self.deadline - time.monotonic()))
            actions = []
            for fd, ev in poller.poll(wait * 1000):
                if ev & select.POLLNVAL:
                    self.wanted.pop(fd, None)
                    continue
                flags = pycurlcb.CSELECT_IN if ev & (select.POLLIN | select.POLLHUP | select.POLLERR) else 0
                actions.append((fd, flags | (pycurlcb.CSELECT_OUT if ev & select.POLLOUT else 0)))
            if self.deadline is None or time.monotonic() >= self.deadline:
                # due, or lost when a timer callback's value was refused: resync
                self.deadline = None
                actions.append((pycurlcb.SOCKET_TIMEOUT, 0))
            for fd, flags in actions:
                try:
                    self.m.socket_action(fd, flags)
                except BaseException as exc:  # noqa: B036 - classified by the caller
                    raised.append(exc)
                    return
                _, ok, err = self.m.info_read()
                for c in ok + [e[0] for e in err]:
                    pending.discard(c)


def _run_multi(socket_results: list[Any], timer_results: list[Any], n: int, server: FastServer) -> None:
    before = open_fd_count()
    curls = []
    for i in range(n):
        c = Curl()
        c.setopt(pycurlcb.URL, server.url(f"/body/{5000 * (i + 1)}"))
        c.setopt(pycurlcb.WRITEFUNCTION, lambda data: None)
        c.setopt(pycurlcb.TIMEOUT_MS, TIMEOUT_MS)
        curls.append(c)
    m = CurlMulti()
    d = FuzzDriver(m, Script(socket_results), Script(timer_results))
    raised: list[BaseException] = []
    what = (socket_results, timer_results, n)
    try:
        for c in curls:
            try:
                m.add_handle(c)
            except BaseException as exc:  # noqa: B036
                raised.append(exc)
        d.drive(curls, raised)
    finally:
        # Whatever happened, take everything apart; these may raise too.
        for c in curls:
            if c in m:
                try:
                    m.remove_handle(c)
                except BaseException as exc:  # noqa: B036
                    raised.append(exc)
        try:
            m.close()
        except BaseException as exc:  # noqa: B036
            raised.append(exc)
    if not raised:
        _check_raised(None, what, "multi")
    for exc in raised:
        _check_raised(exc, what, "multi")
    del raised[:]
    for c in curls:
        _after_ok(c, server)
        c.close()
    assert_fds_back(before, what)


def test_random_multi_callback_results(server: FastServer) -> None:
    @fuzz_settings(60)
    @given(
        socket_results=st.lists(mix(st.none(), st.sampled_from([0, -1, 1]), values), max_size=6),
        timer_results=st.lists(mix(st.none(), st.sampled_from([0, -1, 1]), values), max_size=6),
        n=st.integers(1, 3),
    )
    def fuzz(socket_results: list[Any], timer_results: list[Any], n: int) -> None:
        _run_multi(socket_results, timer_results, n, server)

    OUTCOMES["multi"].clear()
    fuzz()
    outcomes = OUTCOMES["multi"]
    print("OUTCOMES multi", dict(outcomes), file=sys.stderr)
    assert outcomes["ok"] > 0 and sum(outcomes.values()) > outcomes["ok"], dict(outcomes)


# ---------------------------------------------------------------------------
# random HTTP-level options, then a transfer

#: Options safe to set to anything and then transfer with: none names a file,
#: a host, a port, a proxy, a protocol or a timeout (TIMEOUT_MS is forced last),
#: none uploads from stdin (UPLOAD/PUT without a read callback).
PERFORM_OPTIONS = [
    "HTTPHEADER", "USERAGENT", "REFERER", "COOKIE", "CUSTOMREQUEST", "NOBODY", "HEADER",
    "FOLLOWLOCATION", "MAXREDIRS", "HTTP_VERSION", "ACCEPT_ENCODING", "TRANSFER_ENCODING", "RANGE",
    "RESUME_FROM", "RESUME_FROM_LARGE", "FAILONERROR", "BUFFERSIZE", "TCP_NODELAY", "FORBID_REUSE",
    "FRESH_CONNECT", "MAXFILESIZE", "MAXFILESIZE_LARGE", "HTTPAUTH", "USERPWD", "USERNAME", "PASSWORD",
    "POSTFIELDS", "COPYPOSTFIELDS", "POST", "HTTPGET", "IGNORE_CONTENT_LENGTH", "HTTP_CONTENT_DECODING",
    "HTTP_TRANSFER_DECODING", "CRLF", "AUTOREFERER", "UNRESTRICTED_AUTH", "HEADEROPT", "PROXYHEADER",
    "PRIVATE", "POSTREDIR", "PATH_AS_IS", "REQUEST_TARGET", "HTTP200ALIASES", "MAX_RECV_SPEED_LARGE",
    "KEEP_SENDING_ON_ERROR", "SUPPRESS_CONNECT_HEADERS", "EXPECT_100_TIMEOUT_MS", "TCP_KEEPALIVE",
    "XOAUTH2_BEARER", "AWS_SIGV4", "LOGIN_OPTIONS", "DISALLOW_USERNAME_IN_URL", "HTTP09_ALLOWED",
    "MAXCONNECTS", "MAXAGE_CONN", "MAXLIFETIME_CONN", "CERTINFO", "FILETIME", "TIMECONDITION",
    "TIMEVALUE", "TIMEVALUE_LARGE", "NOPROGRESS",
]
# AWS_SIGV4 (7.75) and MAXLIFETIME_CONN (7.80) are left out where the libcurl predates them
perform_option = st.sampled_from([int(getattr(pycurlcb, name)) for name in PERFORM_OPTIONS
                                  if hasattr(pycurlcb, name)])
perform_value = st.one_of(
    values, st.integers(-2, 5), st.sampled_from(["GET", "POST", "HEAD", "X", "bytes=0-10", "5-", "a:b"]),
    st.lists(st.sampled_from(["X-A: 1", "Expect:", "Host: x", "Content-Length: 3", ":", "Y;"]), max_size=3),
)


@fuzz_settings(120)
@given(ops=st.lists(st.tuples(st.sampled_from(["setopt", "unsetopt"]), perform_option, perform_value),
                    max_size=10))
def test_random_http_options_then_a_transfer(ops: list[tuple[str, int, Any]], server: FastServer) -> None:
    before = open_fd_count()
    c = Curl()
    try:
        for what, option, value in ops:
            try:
                if what == "setopt":
                    c.setopt(option, value)
                else:
                    c.unsetopt(option)
            except SETOPT_ERRORS:
                pass
        chunks: list[bytes] = []
        c.setopt(pycurlcb.URL, server.url("/body/1000"))
        c.setopt(pycurlcb.WRITEFUNCTION, chunks.append)
        c.setopt(pycurlcb.TIMEOUT_MS, TIMEOUT_MS)
        exc = _perform(c)
        if exc is not None:
            assert isinstance(exc, pycurlcb.error), f"{ops!r}: {exc!r}"
        del exc
        _after_ok(c, server)
    finally:
        c.close()
    assert_fds_back(before, ops)


# ---------------------------------------------------------------------------
# a callback unset, then a transfer (in a child: the failure mode is a crash)

UNSET_CHILD = textwrap.dedent(
    """
    import ctypes, os, sys
    sys.path.insert(0, TESTS)
    import pycurlcb
    from servers import FastServer
    server = FastServer()
    server.start()
    try:
        c = pycurlcb.Curl()
        c.setopt(pycurlcb.TIMEOUT_MS, 5000)
        {setup}
        {unset}
        c.perform()
        # libcurl's default write is fwrite() to C's stdout, buffered by C stdio (fully,
        # into a pipe, unless Python runs with -u / PYTHONUNBUFFERED, which also makes C's
        # stdio unbuffered); print() goes through Python's own buffer to fd 1.  Flush C's
        # buffers first so the body comes before the response line whatever the buffering.
        ctypes.CDLL(None).fflush(None)
        print("\\nresponse", c.getinfo(pycurlcb.RESPONSE_CODE), flush=True)
        c.close()
    finally:
        server.stop()
    """
)

UNSET_CASES = {
    # name: (setup, how to unset, what must be on stdout besides the response line)
    "WRITEFUNCTION unsetopt": (
        "c.setopt(pycurlcb.URL, server.url('/body/10')); c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)",
        "c.unsetopt(pycurlcb.WRITEFUNCTION)", body_of(10)),
    "WRITEFUNCTION None": (
        "c.setopt(pycurlcb.URL, server.url('/body/10')); c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)",
        "c.setopt(pycurlcb.WRITEFUNCTION, None)", body_of(10)),
    "WRITEDATA None": (
        "import io; c.setopt(pycurlcb.URL, server.url('/body/10')); "
        "c.setopt(pycurlcb.WRITEDATA, io.BytesIO())",
        "c.setopt(pycurlcb.WRITEDATA, None)", body_of(10)),
    "READFUNCTION unsetopt": (
        "import io; c.setopt(pycurlcb.URL, server.url('/echo')); c.setopt(pycurlcb.UPLOAD, 1); "
        "c.setopt(pycurlcb.INFILESIZE, 5); c.setopt(pycurlcb.READFUNCTION, io.BytesIO(b'12345').read)",
        "c.unsetopt(pycurlcb.READFUNCTION)", b"got 5 8587d865"),  # read from stdin: b"abcde"
    "READDATA None": (
        "import io; c.setopt(pycurlcb.URL, server.url('/echo')); c.setopt(pycurlcb.UPLOAD, 1); "
        "c.setopt(pycurlcb.INFILESIZE, 5); c.setopt(pycurlcb.READDATA, io.BytesIO(b'12345'))",
        "c.setopt(pycurlcb.READDATA, None)", b"got 5 8587d865"),
    "HEADERFUNCTION unsetopt": (
        "c.setopt(pycurlcb.URL, server.url('/body/10')); c.setopt(pycurlcb.HEADERFUNCTION, lambda h: None)",
        "c.unsetopt(pycurlcb.HEADERFUNCTION)", body_of(10)),
    "XFERINFOFUNCTION unsetopt": (
        "c.setopt(pycurlcb.URL, server.url('/delay/1100')); "
        "c.setopt(pycurlcb.XFERINFOFUNCTION, lambda *a: 0)",
        "c.unsetopt(pycurlcb.XFERINFOFUNCTION)", b"delayed"),
    "PROGRESSFUNCTION unsetopt": (
        "c.setopt(pycurlcb.URL, server.url('/delay/1100')); import warnings; "
        "warnings.simplefilter('ignore', DeprecationWarning); "  # pycurl warns: use XFERINFO
        "c.setopt(pycurlcb.PROGRESSFUNCTION, lambda *a: 0)",
        "c.unsetopt(pycurlcb.PROGRESSFUNCTION)", b"delayed"),
    "DEBUGFUNCTION unsetopt": (
        "c.setopt(pycurlcb.URL, server.url('/body/10')); c.setopt(pycurlcb.DEBUGFUNCTION, lambda k, d: None)",
        "c.unsetopt(pycurlcb.DEBUGFUNCTION)", body_of(10)),
    "socket callbacks unsetopt": (
        "import os, socket; c.setopt(pycurlcb.URL, server.url('/body/10')); "
        "c.setopt(pycurlcb.OPENSOCKETFUNCTION, "
        "lambda p, a: socket.socket(a.family, a.socktype, a.protocol)); "
        "c.setopt(pycurlcb.SOCKOPTFUNCTION, lambda fd, p: 0); "
        "c.setopt(pycurlcb.CLOSESOCKETFUNCTION, os.close)",
        "c.unsetopt(pycurlcb.OPENSOCKETFUNCTION); c.unsetopt(pycurlcb.SOCKOPTFUNCTION); "
        "c.unsetopt(pycurlcb.CLOSESOCKETFUNCTION)", body_of(10)),
}


@pytest.mark.parametrize("case", list(UNSET_CASES))
def test_a_callback_unset_then_a_transfer_uses_libcurls_default(case: str) -> None:
    """libcurl's defaults after unsetting: the body to stdout (WRITEFUNCTION),
    the upload from stdin (READFUNCTION), nothing printed otherwise -- in
    particular no progress meter on stderr once the progress callback is gone
    (a new Curl has NOPROGRESS set, as pycurl, and setting a progress callback
    leaves it so)."""
    setup, unset, expected = UNSET_CASES[case]
    code = f"TESTS = {str(Path(__file__).parent)!r}\n" + UNSET_CHILD.replace("{setup}", setup).replace(
        "{unset}", unset
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    # As on a user's machine: stdio buffered (a developer's shell or CI may set this).
    env.pop("PYTHONUNBUFFERED", None)
    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", code],
        input=b"abcde", capture_output=True, timeout=60, env=env,
    )
    how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
    assert proc.returncode == 0, (
        f"{case}: the child died ({how})"
        f"\nstderr (the end):\n{proc.stderr.decode(errors='replace')[-700:]}"
    )
    assert proc.stdout == expected + b"\nresponse 200\n", proc.stdout
    assert proc.stderr == b"", proc.stderr.decode(errors="replace")[-2000:]


def test_value_sweep_covers_every_type() -> None:
    """The strategies above really produce every kind of value they claim to."""
    seen: set[str] = set()

    @settings(max_examples=400, derandomize=True, database=None)
    @given(values)
    def collect(v: Any) -> None:
        seen.add(type(v).__name__)

    collect()
    for name in ["NoneType", "bool", "int", "float", "str", "bytes", "list", "tuple", "Evil",
                 "object", "function", "bytearray", "memoryview"]:
        assert name in seen, (name, sorted(seen))
