"""CurlMulti against real local servers: the socket interface, options, errors, lifetimes.

Every transfer here goes to a real server on 127.0.0.1 (conftest.py's fixtures,
or the counting server below); libcurl is never mocked.  The socket_action
tests drive the multi with ``SelectorDriver``: a selectors loop whose socket
and timer callbacks only (un)register fds and set a deadline, as
docs/event-loop.md describes.

Tests whose failure mode is a crash of the interpreter (a segfault inside
libcurl, cffi's "from_handle ... points to garbage" abort) run their scenario
in a child process, so a crash fails that one test instead of the session.
"""

from __future__ import annotations

import contextlib
import gc
import http.server
import json
import os
import selectors
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from servers import FixedBodyHandler, StdlibServer
from since import unknown_to_loaded
from werkzeug import Response

import pycurlcb
from pycurlcb import Curl, CurlMulti

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 10.0  # seconds a driven loop may take before the test fails
LIBCURL = pycurlcb.version_info()[2]
#: The code of MultiError for a multi callback's failure: CURLM_ABORTED_BY_CALLBACK,
#: which libcurl has (and pycurlcb exports as E_MULTI_ABORTED_BY_CALLBACK) from
#: 7.81.0; pycurlcb reports with the same number (11) on older ones.
E_MULTI_ABORTED = pycurlcb.errors.MULTI_ABORTED_BY_CALLBACK
#: Its name: before 7.81.0 libcurl has no name for 11, and pycurlcb names a
#: CURLMcode it does not know ``CURLM_<n>``.
E_MULTI_ABORTED_NAME = "CURLM_ABORTED_BY_CALLBACK"  # also before 7.81.0, where the code is pycurlcb's 11
SLOW_S = 0.1  # seconds the slow_url fixture waits before answering

# ---------------------------------------------------------------------------
# helpers


def make_curl(url: str, sink: list[bytes] | None = None) -> Curl:
    """A Curl for ``url`` whose body goes to ``sink`` (a list of chunks)."""
    c = Curl()
    c.setopt(pycurlcb.URL, url)
    c.setopt(pycurlcb.WRITEFUNCTION, (sink if sink is not None else []).append)
    return c


def perform_until_idle(m: CurlMulti) -> None:
    """CurlMulti.perform() and select() until no transfer runs (RUN_TIMEOUT at most)."""
    end = time.monotonic() + RUN_TIMEOUT
    while m.perform()[1]:
        assert time.monotonic() < end
        m.select(0.05)


class SelectorDriver:
    """Drive a CurlMulti through socket_action from a ``selectors`` loop.

    The callbacks never call libcurl: the socket callback (un)registers the fd
    with the selector, the timer callback stores a deadline.  ``events``
    records every callback as ``("socket", what, fd, socketp)`` or
    ``("timer", timeout_ms)``, socketp as its id() or None.
    """

    def __init__(self, multi: CurlMulti) -> None:
        self.multi = multi
        self.sel = selectors.DefaultSelector()
        self.deadline: float | None = None
        self.events: list[tuple[Any, ...]] = []
        self.running = -1
        self.done: dict[Curl, tuple[int, str]] = {}  # Curl -> (code, message)
        self.autocollect = True  # read info_read after every socket_action
        multi.setopt(pycurlcb.M_SOCKETFUNCTION, self.on_socket)
        multi.setopt(pycurlcb.M_TIMERFUNCTION, self.on_timer)

    def on_socket(self, what: int, fd: int, multi: Any, socketp: Any) -> None:
        # socketp by id: the log must not keep assigned objects alive
        self.events.append(("socket", what, fd, None if socketp is None else id(socketp)))
        registered = fd in self.sel.get_map()
        if what == pycurlcb.POLL_REMOVE:
            if registered:
                self.sel.unregister(fd)
            return
        mask = {
            pycurlcb.POLL_IN: selectors.EVENT_READ,
            pycurlcb.POLL_OUT: selectors.EVENT_WRITE,
            pycurlcb.POLL_INOUT: selectors.EVENT_READ | selectors.EVENT_WRITE,
        }[what]
        if registered:
            self.sel.modify(fd, mask)
        else:
            self.sel.register(fd, mask)

    def on_timer(self, timeout_ms: int) -> None:
        self.events.append(("timer", timeout_ms))
        self.deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000

    def step(self, max_wait: float = 0.5) -> None:
        """One select() and the socket_action calls it calls for; may raise."""
        wait = max_wait
        if self.deadline is not None:
            wait = max(0.0, min(wait, self.deadline - time.monotonic()))
        for key, mask in self.sel.select(wait):
            flags = 0
            if mask & selectors.EVENT_READ:
                flags |= pycurlcb.CSELECT_IN
            if mask & selectors.EVENT_WRITE:
                flags |= pycurlcb.CSELECT_OUT
            self._act(key.fd, flags)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.deadline = None
            self._act(pycurlcb.SOCKET_TIMEOUT, 0)

    def _act(self, fd: int, flags: int) -> None:
        try:
            ret, self.running = self.multi.socket_action(fd, flags)
            assert ret == 0
        finally:
            if self.autocollect:
                self.collect()

    def collect(self) -> None:
        _, ok, err = self.multi.info_read()
        for c in ok:
            self.done[c] = (0, "")
        for c, code, message in err:
            self.done[c] = (code, message)

    def run(self, n_done: int, timeout: float = RUN_TIMEOUT) -> None:
        """Step until ``n_done`` transfers are reported done; errors propagate."""
        end = time.monotonic() + timeout
        while len(self.done) < n_done:
            assert time.monotonic() < end, f"only {len(self.done)} of {n_done} transfers done"
            self.step()

    def close(self) -> None:
        self.sel.close()


@contextlib.contextmanager
def driven_multi(**kwargs: Any) -> Iterator[tuple[CurlMulti, SelectorDriver]]:
    """A CurlMulti with a SelectorDriver, both closed on exit.

    Closed inside the test body, not at fixture teardown: the fd-leak check
    runs before teardown, and the multi's connection cache holds sockets.
    """
    m = CurlMulti(**kwargs)
    d = SelectorDriver(m)
    try:
        yield m, d
    finally:
        m.close()
        d.close()


def run_isolated(code: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child interpreter with this checkout first on sys.path.

    The child gets ``serve()`` (a threaded HTTP/1.1 server on 127.0.0.1
    answering each path with its path, after ``_H.delay`` seconds; returns its
    URL) and ``make_curl``; it prints its results as JSON lines.
    """
    prelude = textwrap.dedent(
        """
        import gc, http.server, json, os, socket, sys, threading, time, weakref
        import pycurlcb
        from pycurlcb import Curl, CurlMulti

        class _H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            delay = 0.0  # seconds before each answer
            def do_GET(self):
                time.sleep(self.delay)
                body = self.path.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a):
                pass

        class _Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # a transfer pycurlcb aborted: the client reset the connection
                if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                    super().handle_error(request, client_address)

        def serve():
            srv = _Server(("127.0.0.1", 0), _H)
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            return "http://127.0.0.1:%d" % srv.server_address[1]

        def make_curl(url, sink):
            c = Curl()
            c.setopt(pycurlcb.URL, url)
            c.setopt(pycurlcb.WRITEFUNCTION, sink.append)
            return c

        def drive_perform(m, until, timeout=10):
            end = time.monotonic() + timeout
            while not until():
                if time.monotonic() > end:
                    raise AssertionError("timed out")
                m.perform()
                m.select(0.05)
        """
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit status {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"


# ---------------------------------------------------------------------------
# A server that records how many requests and connections it serves at once


class _CountingHandler(FixedBodyHandler):
    server: CountingServer

    def setup(self) -> None:
        super().setup()
        self.server.connection_opened()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connection_closed()

    def _reply(self, send_body: bool) -> None:
        self.server.request_started(self.client_address[1])
        try:
            time.sleep(self.server.delay)
        finally:
            self.server.request_finished()
        super()._reply(send_body)


class CountingServer(StdlibServer, http.server.HTTPServer):
    """HTTP/1.1 keep-alive on 127.0.0.1, one thread per connection.

    Each request sleeps ``delay`` seconds before the answer; the server
    records the most requests in flight at once, the most connections open at
    once, and the client port of every request.
    """

    def __init__(self, delay: float = 0.15) -> None:
        self._init_tracking(b"counted")
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = 0
        self.open_connections = self.max_open_connections = 0
        self.client_ports: list[int] = []
        super().__init__(("127.0.0.1", 0), _CountingHandler)

    def server_bind(self) -> None:  # no getfqdn() DNS lookup
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def connection_opened(self) -> None:
        with self.lock:
            self.open_connections += 1
            self.max_open_connections = max(self.max_open_connections, self.open_connections)

    def connection_closed(self) -> None:
        with self.lock:
            self.open_connections -= 1

    def request_started(self, port: int) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.client_ports.append(port)

    def request_finished(self) -> None:
        with self.lock:
            self.in_flight -= 1


@pytest.fixture
def counting_server() -> Iterator[CountingServer]:
    server = CountingServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slow_url(httpserver: Any) -> str:
    """``http://127.0.0.1:PORT/slow``: answers GET with 200 and ``b"hello"`` after
    SLOW_S seconds.

    For the tests that need libcurl to wait on the transfer's socket: up to
    libcurl 7.81 a transfer to the at-once-answering ``http_url`` may connect,
    send, read the answer and finish inside one socket_action call, without
    ever calling the socket callback.
    """

    def answer(request: Any) -> Any:
        time.sleep(SLOW_S)
        return Response(b"hello")

    httpserver.expect_request("/slow").respond_with_handler(answer)
    return str(httpserver.url_for("/slow"))


@pytest.fixture
def keepalive_url() -> Iterator[str]:
    """An HTTP/1.1 keep-alive URL answering ``b"counted"`` at once.

    pytest-httpserver answers HTTP/1.0 and closes each connection; the
    connection-cache tests need one that libcurl keeps.
    """
    server = CountingServer(delay=0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


# ---------------------------------------------------------------------------
# constants


def test_constants_have_libcurl_values() -> None:
    assert (pycurlcb.POLL_NONE, pycurlcb.POLL_IN, pycurlcb.POLL_OUT) == (0, 1, 2)
    assert (pycurlcb.POLL_INOUT, pycurlcb.POLL_REMOVE) == (3, 4)
    assert (pycurlcb.CSELECT_IN, pycurlcb.CSELECT_OUT, pycurlcb.CSELECT_ERR) == (1, 2, 4)
    assert pycurlcb.SOCKET_TIMEOUT == -1  # CURL_SOCKET_TIMEOUT is CURL_SOCKET_BAD
    # CURLMoption numbers: CURLOPTTYPE base + index, from curl/multi.h.
    expected = {
        "M_SOCKETFUNCTION": 20001,
        "M_PIPELINING": 3,
        "M_TIMERFUNCTION": 20004,
        "M_MAXCONNECTS": 6,
        "M_MAX_HOST_CONNECTIONS": 7,
        "M_MAX_PIPELINE_LENGTH": 8,
        "M_CONTENT_LENGTH_PENALTY_SIZE": 30009,
        "M_CHUNK_LENGTH_PENALTY_SIZE": 30010,
        "M_PIPELINING_SITE_BL": 10011,
        "M_PIPELINING_SERVER_BL": 10012,
        "M_MAX_TOTAL_CONNECTIONS": 13,
        "M_MAX_CONCURRENT_STREAMS": 16,
    }
    assert {name: getattr(pycurlcb, name) for name in expected} == expected
    assert E_MULTI_ABORTED == 11
    # The name comes from the headers pycurlcb was built against, not the loaded libcurl.
    if pycurlcb.COMPILE_LIBCURL_VERSION_NUM >= 0x075100:
        assert pycurlcb.E_MULTI_ABORTED_BY_CALLBACK == 11
    else:  # CURLM_ABORTED_BY_CALLBACK is libcurl 7.81.0's: not in older headers
        assert not hasattr(pycurlcb, "E_MULTI_ABORTED_BY_CALLBACK")


# ---------------------------------------------------------------------------
# lifecycle: close, context manager, closed, in


def test_close_is_idempotent_and_closed_reports_it() -> None:
    m = CurlMulti()
    assert m.closed is False
    m.close()
    assert m.closed is True
    m.close()
    assert m.closed is True
    with pytest.raises(pycurlcb.error):
        m.add_handle(Curl())
    with pytest.raises(pycurlcb.error):
        m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0)


def test_context_manager_closes_and_in_tracks_membership(http_url: str) -> None:
    c = make_curl(http_url)
    other = Curl()
    with CurlMulti() as m:
        assert c not in m
        m.add_handle(c)
        assert c in m
        assert other not in m
        with pytest.raises(TypeError):
            "not a curl" in m  # noqa: B015 - pycurl: __contains__ expects a Curl object
        m.remove_handle(c)
        assert c not in m
        m.add_handle(c)
    assert m.closed
    assert c not in m  # close() removed it
    assert not c.closed  # close_handles=False: the Curl is the caller's
    c.close()
    other.close()


def test_close_handles_true_closes_added_curls(http_url: str) -> None:
    c1, c2 = make_curl(http_url), make_curl(http_url)
    m = CurlMulti(close_handles=True)
    m.add_handle(c1)
    m.add_handle(c2)
    m.close()
    assert c1.closed and c2.closed


def test_add_handle_twice_and_remove_unknown_raise(http_url: str) -> None:
    c = make_curl(http_url)
    with CurlMulti() as m, CurlMulti() as m2:
        m.add_handle(c)
        with pytest.raises(pycurlcb.error):
            m.add_handle(c)
        with pytest.raises(pycurlcb.error):
            m2.add_handle(c)
        m.remove_handle(c)
        with pytest.raises(pycurlcb.error):
            m.remove_handle(c)
    c.close()


# ---------------------------------------------------------------------------
# setopt


LONG_OPTIONS = [m for m in pycurlcb.MOpt if m < 10000]


def test_long_options_are_the_ones_in_the_header() -> None:
    # long options of libcurl releases after 8.5: QUICK_EXIT, NETWORK_CHANGED,
    # RESOLVE_THREADS_MAX (8.21.0 has them), where the headers have them
    newer = {
        n for n in ("QUICK_EXIT", "NETWORK_CHANGED", "RESOLVE_THREADS_MAX") if n in pycurlcb.MOpt.__members__
    }
    assert {m.name for m in LONG_OPTIONS} == {
        "PIPELINING",
        "MAXCONNECTS",
        "MAX_HOST_CONNECTIONS",
        "MAX_PIPELINE_LENGTH",
        "MAX_TOTAL_CONNECTIONS",
        "MAX_CONCURRENT_STREAMS",
    } | newer


@pytest.mark.parametrize("option", LONG_OPTIONS, ids=lambda m: m.name)
def test_every_long_option_accepts_an_int(option: int) -> None:
    value = pycurlcb.PIPE_MULTIPLEX if option == pycurlcb.M_PIPELINING else 5
    with CurlMulti() as m:
        try:
            m.setopt(option, value)
        except pycurlcb.error as exc:
            if unknown_to_loaded(exc, pycurlcb.E_MULTI_UNKNOWN_OPTION):
                pytest.skip(f"{option.name} is in the headers, not in the loaded libcurl")
            raise
        m.setopt(option, 1)


@pytest.mark.parametrize(
    "option", [pycurlcb.M_CONTENT_LENGTH_PENALTY_SIZE, pycurlcb.M_CHUNK_LENGTH_PENALTY_SIZE]
)
def test_off_t_options_accept_an_int(option: int) -> None:
    # curl_off_t options of curl/multi.h (CURLOPTTYPE_OFF_T); libcurl 7.88.1
    # accepts them (they are no-ops since pipelining was removed).  Issue 3:
    # "setopt for every CURLMOPT the installed libcurl knows, each value passed
    # with its real C type through a typed shim".
    with CurlMulti() as m:
        m.setopt(option, 1 << 20)


def test_setopt_wrong_type_names_the_option() -> None:
    with CurlMulti() as m:
        with pytest.raises(TypeError, match="MAX_TOTAL_CONNECTIONS"):
            m.setopt(pycurlcb.M_MAX_TOTAL_CONNECTIONS, "1")
        with pytest.raises(TypeError, match="MAXCONNECTS"):
            m.setopt(pycurlcb.M_MAXCONNECTS, 1.5)
        with pytest.raises(TypeError, match="SOCKETFUNCTION"):
            m.setopt(pycurlcb.M_SOCKETFUNCTION, 42)
        with pytest.raises(TypeError, match="TIMERFUNCTION"):
            m.setopt(pycurlcb.M_TIMERFUNCTION, "not callable")


@pytest.mark.parametrize("option", [99999, -3])
def test_setopt_unknown_option_raises_error_unknown_option(option: int) -> None:
    with CurlMulti() as m:
        with pytest.raises(pycurlcb.error) as info:
            m.setopt(option, 1)
    assert type(info.value) is pycurlcb.error  # pycurl's suite checks the exact type
    assert info.value.args[0] == pycurlcb.E_UNKNOWN_OPTION
    assert str(option) in info.value.args[1]


def test_setopt_value_out_of_long_range_raises() -> None:
    with CurlMulti() as m:
        with pytest.raises(OverflowError, match="MAXCONNECTS"):
            m.setopt(pycurlcb.M_MAXCONNECTS, 1 << 70)


def _run_four(server: CountingServer, limit: int | None) -> list[bytes]:
    bodies: list[list[bytes]] = [[] for _ in range(4)]
    curls = [make_curl(server.url, bodies[i]) for i in range(4)]
    with CurlMulti() as m:
        if limit is not None:
            m.setopt(pycurlcb.M_MAX_TOTAL_CONNECTIONS, limit)
        d = SelectorDriver(m)
        try:
            for c in curls:
                m.add_handle(c)
            d.run(4)
            assert all(code == 0 for code, _ in d.done.values())
        finally:
            d.close()
    for c in curls:
        c.close()
    return [b"".join(b) for b in bodies]


def test_max_total_connections_1_serialises_four_transfers(
    counting_server: CountingServer,
) -> None:
    t0 = time.monotonic()
    bodies = _run_four(counting_server, limit=1)
    elapsed = time.monotonic() - t0
    assert bodies == [b"counted"] * 4
    assert counting_server.max_in_flight == 1
    assert counting_server.max_open_connections == 1
    assert elapsed >= 4 * counting_server.delay * 0.9  # one after the other
    assert len(set(counting_server.client_ports)) == 1  # one reused connection


def test_without_a_limit_the_same_four_transfers_overlap(
    counting_server: CountingServer,
) -> None:
    # The control for the test above: the server does see concurrency.
    bodies = _run_four(counting_server, limit=None)
    assert bodies == [b"counted"] * 4
    assert counting_server.max_in_flight == 4
    assert counting_server.max_open_connections == 4


# ---------------------------------------------------------------------------
# the socket interface: callbacks, socket_action, timeout, assign, info_read


def test_socket_action_loop_fetches_and_reports_shapes(http_paths: Callable[..., Any]) -> None:
    with driven_multi() as (m, d):
        paths = http_paths(5)
        sinks: list[list[bytes]] = [[] for _ in paths]
        curls = [make_curl(url, sink) for (url, _), sink in zip(paths, sinks)]
        for c in curls:
            m.add_handle(c)
        # add_handle asks for a timeout through the timer callback, at once.
        assert d.events[0][0] == "timer" and d.events[0][1] >= 0
        ret, running = m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0)
        assert (type(ret), type(running)) == (int, int)
        # Usually some are still running here, but a fast machine may see all
        # five loopback transfers finish inside this one call (libcurl 7.73.0
        # did once in CI): 0 is a valid count.
        assert ret == 0 and 0 <= running <= 5
        d.running = running
        d.collect()
        d.run(5)
        assert d.running == 0
        assert all(d.done[c] == (0, "") for c in curls)
        assert [b"".join(s) for s in sinks] == [body for _, body in paths]
        for c in curls:
            m.remove_handle(c)
            c.close()


def test_socket_callback_signature_and_timer_argument(slow_url: str) -> None:
    with driven_multi() as (m, d):
        c = make_curl(slow_url)
        m.add_handle(c)
        d.run(1)
        sockets = [e for e in d.events if e[0] == "socket"]
        timers = [e for e in d.events if e[0] == "timer"]
        assert sockets and timers
        for _, what, fd, socketp in sockets:
            assert type(fd) is int and fd >= 0
            assert what in (
                pycurlcb.POLL_IN,
                pycurlcb.POLL_OUT,
                pycurlcb.POLL_INOUT,
                pycurlcb.POLL_REMOVE,
            )
            assert socketp is None  # nothing assigned
        for _, ms in timers:
            assert type(ms) is int
        if not 0x080500 <= pycurlcb.version_info()[2] < 0x080600:
            # the last transfer done: delete the timer (libcurl 8.5.x leaves it set)
            assert timers[-1][1] == -1
        assert sockets[-1][1] == pycurlcb.POLL_REMOVE
        m.remove_handle(c)
        c.close()


def test_socket_callback_receives_the_multi_object(slow_url: str) -> None:
    with driven_multi() as (m, d):
        seen: list[Any] = []
        inner = d.on_socket

        def on_socket(what: int, fd: int, multi: Any, socketp: Any) -> None:
            seen.append(multi)
            inner(what, fd, multi, socketp)

        m.setopt(pycurlcb.M_SOCKETFUNCTION, on_socket)
        c = make_curl(slow_url)
        m.add_handle(c)
        d.run(1)
        assert seen and all(x is m for x in seen)
        m.remove_handle(c)
    c.close()


def test_perform_does_not_call_the_socket_callback_on_7_88(http_url: str) -> None:
    # Observed: libcurl 7.88.1's curl_multi_perform() never calls
    # CURLMOPT_SOCKETFUNCTION (only socket_action does); 8.x calls it from
    # perform too.  Recorded here because docs/event-loop.md relies on it:
    # drive a socket-callback multi with socket_action, not perform.
    seen: list[tuple[int, int]] = []
    timers: list[int] = []
    with CurlMulti() as m:
        m.setopt(pycurlcb.M_SOCKETFUNCTION, lambda what, fd, multi, sp: seen.append((what, fd)))
        m.setopt(pycurlcb.M_TIMERFUNCTION, timers.append)
        c = make_curl(http_url)
        m.add_handle(c)
        perform_until_idle(m)
        assert timers[0] == 0 and timers[-1] == -1  # the timer callback does run
        if pycurlcb.version_info()[2] < 0x080000:
            assert seen == []
        m.remove_handle(c)
    c.close()


def test_timeout_returns_milliseconds(http_url: str) -> None:
    with CurlMulti() as m:
        assert m.timeout() == -1  # nothing to do
        c = make_curl(http_url)
        m.add_handle(c)
        ms = m.timeout()
        assert type(ms) is int and 0 <= ms <= 1000
        m.remove_handle(c)
        assert m.timeout() == -1
    c.close()


def test_assign_in_callback_is_seen_from_the_next_callback(slow_url: str) -> None:
    with driven_multi() as (m, d):

        class State:
            def __init__(self, fd: int) -> None:
                self.fd = fd

        seen: list[tuple[int, int, Any]] = []
        inner = d.on_socket

        def on_socket(what: int, fd: int, multi: Any, socketp: Any) -> None:
            seen.append((what, fd, socketp))
            if socketp is None and what != pycurlcb.POLL_REMOVE:
                multi.assign(fd, State(fd))  # assign from inside the callback
            inner(what, fd, multi, socketp)

        m.setopt(pycurlcb.M_SOCKETFUNCTION, on_socket)
        c = make_curl(slow_url)
        m.add_handle(c)
        d.run(1)
        by_fd: dict[int, list[Any]] = {}
        for _what, fd, socketp in seen:
            by_fd.setdefault(fd, []).append(socketp)
        assert any(len(calls) >= 2 for calls in by_fd.values())
        for fd, calls in by_fd.items():
            assert calls[0] is None  # the first callback for the fd: nothing assigned yet
            for socketp in calls[1:]:  # assigned inside that callback, seen from the next
                assert isinstance(socketp, State) and socketp.fd == fd
        m.remove_handle(c)
        c.close()


def _wait_for_first_socket(m: CurlMulti, d: SelectorDriver) -> int:
    end = time.monotonic() + RUN_TIMEOUT
    while not any(e[0] == "socket" for e in d.events):
        assert time.monotonic() < end
        d.step(0.05)
    return next(e[2] for e in d.events if e[0] == "socket")


def test_assign_keeps_a_strong_reference_until_unassign(silent_server: Any) -> None:
    with driven_multi() as (m, d):
        c = make_curl(f"http://{silent_server.host}:{silent_server.port}/")
        m.add_handle(c)
        fd = _wait_for_first_socket(m, d)

        class Obj:
            pass

        obj = Obj()
        ref = weakref.ref(obj)
        m.assign(fd, obj)
        del obj
        gc.collect()
        assert ref() is not None  # the multi holds it
        d.step(0.1)  # the next callback for fd receives it
        gc.collect()
        assert ref() is not None
        m.unassign(fd)
        gc.collect()
        assert ref() is None
        # after unassign the callbacks get None again
        before = len(d.events)
        m.remove_handle(c)  # POLL_REMOVE for fd
        after = [e for e in d.events[before:] if e[0] == "socket" and e[2] == fd]
        assert after and all(e[3] is None for e in after)
        c.close()


def test_close_releases_assigned_objects(silent_server: Any) -> None:
    m = CurlMulti()
    d = SelectorDriver(m)
    c = make_curl(f"http://{silent_server.host}:{silent_server.port}/")
    m.add_handle(c)
    fd = _wait_for_first_socket(m, d)

    class Obj:
        pass

    obj = Obj()
    ref = weakref.ref(obj)
    m.assign(fd, obj)
    del obj
    gc.collect()
    assert ref() is not None
    m.close()
    d.close()
    gc.collect()
    assert ref() is None
    c.close()


def test_info_read_err_list_for_refused_port(refusing_port: int, http_url: str) -> None:
    with driven_multi() as (m, d):
        d.autocollect = False  # read info_read here
        bad = make_curl(f"http://127.0.0.1:{refusing_port}/")
        good = make_curl(http_url)
        m.add_handle(bad)
        m.add_handle(good)
        end = time.monotonic() + RUN_TIMEOUT
        ok_all: list[Curl] = []
        err_all: list[tuple[Curl, int, str]] = []
        while len(ok_all) + len(err_all) < 2:
            assert time.monotonic() < end
            d.step(0.05)
            num_queued, ok, err = m.info_read()
            assert type(num_queued) is int and num_queued >= 0
            assert isinstance(ok, list) and isinstance(err, list)
            ok_all += ok
            err_all += err
        assert ok_all == [good]
        assert len(err_all) == 1
        curl, code, message = err_all[0]
        assert curl is bad
        assert code == pycurlcb.E_COULDNT_CONNECT
        assert isinstance(message, str) and message
        assert m.info_read() == (0, [], [])
        for c in (bad, good):
            m.remove_handle(c)
            c.close()


def test_info_read_max_objects(http_paths: Any) -> None:
    curls = [make_curl(url) for url, _ in http_paths(3)]
    with CurlMulti() as m:
        for c in curls:
            m.add_handle(c)
        perform_until_idle(m)  # perform() leaves the messages queued
        num_queued, ok, err = m.info_read(1)
        assert (num_queued, len(ok), err) == (2, 1, [])
        num_queued, ok2, err = m.info_read(5)
        assert (num_queued, len(ok2), err) == (0, 2, [])
        assert set(ok + ok2) == set(curls)
        with pytest.raises(pycurlcb.error) as info:
            m.info_read(0)
        assert info.value.args == ("argument to info_read must be greater than zero",)
        for c in curls:
            m.remove_handle(c)
            c.close()


def test_perform_and_select_loop(http_paths: Any) -> None:
    paths = http_paths(3)
    sinks: list[list[bytes]] = [[] for _ in paths]
    curls = [make_curl(url, s) for (url, _), s in zip(paths, sinks)]
    with CurlMulti() as m:
        for c in curls:
            m.add_handle(c)
        end = time.monotonic() + RUN_TIMEOUT
        while True:
            ret, num_handles = m.perform()
            assert ret == 0
            if num_handles == 0:
                break
            assert time.monotonic() < end
            n = m.select(1.0)
            assert type(n) is int and n >= 0
        num_queued, ok, err = m.info_read()
        assert (num_queued, err) == (0, [])
        assert set(ok) == set(curls)
        for c in curls:
            m.remove_handle(c)
            c.close()
    assert [b"".join(s) for s in sinks] == [body for _, body in paths]


def test_fdset_lists_the_transfer_socket(silent_server: Any) -> None:
    c = make_curl(f"http://{silent_server.host}:{silent_server.port}/")
    fds: list[int] = []

    def opensocket(purpose: int, address: Any) -> int:
        fds.append(socket.socket(address.family, address.socktype, address.protocol).detach())
        return fds[-1]  # an int: libcurl owns this very fd

    c.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
    with CurlMulti() as m:
        assert m.fdset() == ([], [], [])
        m.add_handle(c)
        end = time.monotonic() + RUN_TIMEOUT
        read_fds: list[int] = []
        while not (fds and fds[-1] in read_fds):  # request sent, waiting for the answer
            assert time.monotonic() < end
            m.perform()
            read_fds, write_fds, exc_fds = m.fdset()
            m.select(0.05)
        assert fds[-1] not in write_fds
        assert exc_fds == []
        m.remove_handle(c)
        assert all(fds[-1] not in s for s in m.fdset())
    c.close()


# ---------------------------------------------------------------------------
# the socket callback returning -1


def test_socket_callback_returning_minus_one_aborts(http_paths: Any, slow_url: str) -> None:
    calls: list[int] = []

    def on_socket(what: int, fd: int, multi: Any, socketp: Any) -> int:
        calls.append(what)
        return -1

    if LIBCURL < 0x075100:
        # Before 7.81.0 libcurl ignores what the socket callback returns
        # (CURLMOPT_SOCKETFUNCTION(3) of 7.76.1: the callback returns 0): the
        # transfers go on and complete.
        sinks: list[list[bytes]] = [[], []]
        with driven_multi() as (m, d):
            inner = d.on_socket

            def on_socket_driven(what: int, fd: int, multi: Any, socketp: Any) -> int:
                calls.append(what)
                inner(what, fd, multi, socketp)
                return -1

            m.setopt(pycurlcb.M_SOCKETFUNCTION, on_socket_driven)
            curls = [make_curl(slow_url, s) for s in sinks]
            for c in curls:
                m.add_handle(c)
            d.run(2)
            assert calls  # the socket callback did run, and return -1
            assert [d.done[c] for c in curls] == [(0, ""), (0, "")]
            for c in curls:
                m.remove_handle(c)
        assert sinks == [[b"hello"], [b"hello"]]
        for c in curls:
            c.close()
        return

    if LIBCURL < 0x075800:
        # the slow server: the first socket_action must call the socket
        # callback (7.81 may finish an at-once answer without calling it)
        urls = [slow_url, slow_url]
    else:
        urls = [url for url, _ in http_paths(2)]
    sinks = [[], []]
    curls = [make_curl(url, s) for url, s in zip(urls, sinks)]
    with CurlMulti() as m:
        m.setopt(pycurlcb.M_SOCKETFUNCTION, on_socket)
        m.setopt(pycurlcb.M_TIMERFUNCTION, lambda ms: None)
        for c in curls:
            m.add_handle(c)
        if LIBCURL < 0x080000:
            with pytest.raises(pycurlcb.error) as info:
                m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0)
            # libcurl 7.81.0 to 7.88.1 give CURLM_ABORTED_BY_CALLBACK (11).
            assert isinstance(info.value, pycurlcb.MultiError)
            assert info.value.code == pycurlcb.E_MULTI_ABORTED_BY_CALLBACK == 11
            assert info.value.name == "CURLM_ABORTED_BY_CALLBACK"
            assert info.value.args[0] == 11
            # The first socket: no transfer went on.  7.88.1 calls it for the
            # connect (POLL_OUT); 7.81 completes the connect to loopback and
            # sends the request in that same call, then waits to read.
            first = pycurlcb.POLL_OUT if LIBCURL >= 0x075800 else pycurlcb.POLL_IN
            assert calls == [first]
            # With two or more transfers added, libcurl 7.88.1 segfaults in
            # the next curl_multi_socket_action (a plain-C program does too),
            # so pycurlcb does not call libcurl again: a clear MultiError.
            assert m.info_read() == (0, [], [])
            for drive in (
                lambda: m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0),
                m.perform,
                lambda: m.add_handle(make_curl(http_paths(1)[0][0])),
            ):
                with pytest.raises(pycurlcb.MultiError, match="returned -1") as again:
                    drive()
                assert again.value.code == pycurlcb.E_MULTI_ABORTED_BY_CALLBACK
        else:
            # libcurl 8.x fails the transfer whose socket callback returned -1
            # with CURLE_ABORTED_BY_CALLBACK, and the driving call reports
            # CURLM_ABORTED_BY_CALLBACK when -1 comes for a socket of its own
            # (observed with 8.23): nothing completes either way.
            aborted: list[int] = []
            for _ in range(5):
                try:
                    m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0)
                except pycurlcb.MultiError as exc:
                    assert exc.code == pycurlcb.E_MULTI_ABORTED_BY_CALLBACK
                    aborted.append(exc.code)
                _, ok, err = m.info_read()
                assert ok == []
                aborted += [code for _, code, _ in err]
                assert set(aborted) <= {11, pycurlcb.E_ABORTED_BY_CALLBACK}
                time.sleep(0.01)
            assert aborted
        for c in curls:
            m.remove_handle(c)
    assert sinks == [[], []]  # no body was delivered
    for c in curls:
        c.close()


# ---------------------------------------------------------------------------
# exceptions raised in the multi's own callbacks: the driving call raises
# MultiError(CURLM_ABORTED_BY_CALLBACK) with the exception as __cause__


def _assert_aborted_by(exc: BaseException, cause: BaseException | None) -> None:
    assert type(exc) is pycurlcb.MultiError
    assert exc.args[0] == exc.code == E_MULTI_ABORTED == 11
    assert exc.name == E_MULTI_ABORTED_NAME
    assert exc.__cause__ is cause


def test_exception_in_socket_callback_is_raised_by_socket_action(
    slow_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    boom = RuntimeError("socket callback failed")

    def on_socket(what: int, fd: int, multi: Any, socketp: Any) -> None:
        raise boom

    c = make_curl(slow_url)
    with CurlMulti() as m:
        m.setopt(pycurlcb.M_SOCKETFUNCTION, on_socket)
        m.setopt(pycurlcb.M_TIMERFUNCTION, lambda ms: None)
        m.add_handle(c)
        with pytest.raises(pycurlcb.MultiError) as info:
            m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0)
        _assert_aborted_by(info.value, boom)
        assert boom.__traceback__ is not None
        # The transfer whose socket callback failed was removed first.
        assert c not in m
        assert c.multi() is None
        assert m.info_read() == (0, [], [])
        # The multi goes on: the next driving call does not raise again.
        assert m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0) == (0, 0)
    c.close()
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("value", ["bogus", 1.5, 2**40])
def test_bad_return_of_the_socket_callback(slow_url: str, value: Any) -> None:
    """Not an int: TypeError; an int beyond a C int: OverflowError; each the
    cause of the MultiError."""
    c = make_curl(slow_url)
    with CurlMulti() as m:
        m.setopt(pycurlcb.M_SOCKETFUNCTION, lambda what, fd, multi, socketp: value)
        m.setopt(pycurlcb.M_TIMERFUNCTION, lambda ms: None)
        m.add_handle(c)
        with pytest.raises(pycurlcb.MultiError) as info:
            m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0)
        cause = info.value.__cause__
        _assert_aborted_by(info.value, cause)
        if isinstance(value, int):
            assert type(cause) is OverflowError
        else:
            assert type(cause) is TypeError
            assert str(cause) == f"multi socket callback returned {value!r} which is not an integer"
        assert c not in m
    c.close()


@pytest.mark.parametrize("value", ["bogus", 1.5, 2**40])
def test_bad_return_of_the_timer_callback(http_url: str, value: Any) -> None:
    """As the socket callback's: the cause of a MultiError raised by the driving
    call (here add_handle, which runs the timer callback), the Curl not added."""
    c = make_curl(http_url)
    with CurlMulti() as m:
        m.setopt(pycurlcb.M_TIMERFUNCTION, lambda ms: value)
        with pytest.raises(pycurlcb.MultiError) as info:
            m.add_handle(c)
        cause = info.value.__cause__
        _assert_aborted_by(info.value, cause)
        if isinstance(value, int):
            assert type(cause) is OverflowError
        else:
            assert type(cause) is TypeError
            assert str(cause) == f"multi timer callback returned {value!r} which is not an integer"
        assert c not in m
    c.close()


@pytest.mark.parametrize("value", [0, 1, -2, 7, None])
def test_socket_and_timer_callbacks_returning_other_ints_go_on(http_url: str, value: Any) -> None:
    """Only -1 aborts; any other int (or None) continues."""
    with driven_multi() as (m, d):
        sock_cb, timer_cb = d.on_socket, d.on_timer

        def on_socket(*args: Any) -> Any:
            sock_cb(*args)
            return value

        def on_timer(ms: int) -> Any:
            timer_cb(ms)
            return value

        m.setopt(pycurlcb.M_SOCKETFUNCTION, on_socket)
        m.setopt(pycurlcb.M_TIMERFUNCTION, on_timer)
        sink: list[bytes] = []
        c = make_curl(http_url, sink)
        m.add_handle(c)
        d.run(1)
        assert d.done[c] == (0, "")
        assert sink == [b"hello"]
        m.remove_handle(c)
        c.close()


def test_exception_in_socket_callback_others_complete() -> None:
    # The socket callback raises once; socket_action raises MultiError with it
    # as the cause, having removed the transfer whose callback failed; driving
    # then continues and the other transfers must complete.  pycurlcb does not
    # hand libcurl -1 for it: on libcurl 7.88.1, after a -1 the transfers are
    # left in limbo and forcing curl_multi_socket_action(SOCKET_TIMEOUT) then
    # segfaults inside libcurl with two or more transfers added (a plain-C
    # program does the same).  In a child process, so a crash fails only this test.
    proc = run_isolated(
        """
        import selectors
        # slow answers: libcurl must wait on the sockets, so the socket callback
        # runs (up to 7.81 an at-once answer may complete without it)
        _H.delay = 0.05
        base = serve()
        sel = selectors.DefaultSelector()
        deadline = [None]
        boom = RuntimeError("once")
        fail = [True]
        # libcurl 8.21 may first call the socket callback for a socket of its
        # own (no transfer's): fail on the first call for a transfer's socket
        transfer_fds = set()
        def on_socket(what, fd, multi, socketp):
            if fail[0] and fd in transfer_fds:
                fail[0] = False
                raise boom
            if what == pycurlcb.POLL_REMOVE:
                if fd in sel.get_map():
                    sel.unregister(fd)
                return
            mask = {1: 1, 2: 2, 3: 3}[what]
            if fd in sel.get_map():
                sel.modify(fd, mask)
            else:
                sel.register(fd, mask)
        def on_timer(ms):
            deadline[0] = None if ms < 0 else time.monotonic() + ms / 1000
        m = CurlMulti()
        m.setopt(pycurlcb.M_SOCKETFUNCTION, on_socket)
        m.setopt(pycurlcb.M_TIMERFUNCTION, on_timer)
        sinks = [[] for _ in range(3)]
        curls = [make_curl(base + "/p%d" % i, sinks[i]) for i in range(3)]
        for c in curls:
            c.setopt(pycurlcb.SOCKOPTFUNCTION, lambda fd, purpose: transfer_fds.add(fd) or 0)
            m.add_handle(c)
        raised = []
        done = {}
        end = time.monotonic() + 3
        while len(done) + len(raised) < 3 and time.monotonic() < end:
            actions = [(k.fd, (1 if ev & 1 else 0) | (2 if ev & 2 else 0))
                       for k, ev in sel.select(0.05)]
            if deadline[0] is not None and time.monotonic() >= deadline[0]:
                deadline[0] = None
                actions.append((pycurlcb.SOCKET_TIMEOUT, 0))
            for fd, flags in actions:
                try:
                    m.socket_action(fd, flags)
                except BaseException as e:
                    raised.append(e)
                _, ok, err = m.info_read()
                for c in ok:
                    done[curls.index(c)] = 0
                for c, code, msg in err:
                    done[curls.index(c)] = code
        print(json.dumps({
            "raised": [[type(e).__name__, e.args[0], e.__cause__ is boom] for e in raised],
            "removed": [i for i, c in enumerate(curls) if c not in m and i not in done],
            "done": sorted(done.items()),
            "bodies": [b"".join(s).decode() for s in sinks],
        }))
        m.close()
        """
    )
    assert proc.returncode == 0, describe(proc)
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["raised"] == [["MultiError", 11, True]]
    assert proc.stderr == ""
    assert len(result["removed"]) == 1, result  # the failed transfer, never reported
    ok = [i for i, code in result["done"] if code == 0]
    assert sorted(ok + result["removed"]) == [0, 1, 2], result  # the others completed
    for i in ok:
        assert result["bodies"][i] == f"/p{i}"


def test_exception_in_timer_callback_is_raised_by_add_handle(
    http_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    boom = ValueError("timer callback failed")
    fail = [True]

    def on_timer(timeout_ms: int) -> None:
        if fail[0]:  # once: remove_handle calls the timer callback too
            fail[0] = False
            raise boom

    c = make_curl(http_url)
    with CurlMulti() as m:
        m.setopt(pycurlcb.M_TIMERFUNCTION, on_timer)
        with pytest.raises(pycurlcb.MultiError) as info:
            m.add_handle(c)  # libcurl calls the timer callback from here
        _assert_aborted_by(info.value, boom)
        assert c not in m  # the transfer failed with the timer callback
        m.add_handle(c)  # and the Curl can be added again
        assert c in m
        m.remove_handle(c)
    c.close()
    assert capfd.readouterr() == ("", "")


def test_timer_callback_returning_minus_one_is_a_multierror(http_url: str) -> None:
    """pycurl's contract: -1 from the timer callback makes the driving call raise
    (MultiError without a cause: nothing was raised)."""
    fail = [True]

    def on_timer(timeout_ms: int) -> int:
        if fail[0]:
            fail[0] = False
            return -1
        return 0

    sink: list[bytes] = []
    c = make_curl(http_url, sink)
    with CurlMulti() as m:
        m.setopt(pycurlcb.M_TIMERFUNCTION, on_timer)
        with pytest.raises(pycurlcb.MultiError) as info:
            m.add_handle(c)
        _assert_aborted_by(info.value, None)
        assert "timer callback returned -1" in info.value.args[1]
        assert c not in m
    c.perform()  # the Curl is untouched
    assert sink == [b"hello"]
    c.close()


def test_exception_in_timer_callback_others_complete() -> None:
    # The timer callback raises once, from add_handle; the transfers added
    # after it must complete when driving continues.  In a child process: on
    # libcurl 7.88.1, after the timer callback returned -1 from
    # curl_multi_add_handle, the next curl_multi_socket_action crashes inside
    # libcurl once another transfer is added (reproduced in plain C); pycurlcb
    # does not hand libcurl -1, and a crash would fail only this test.
    proc = run_isolated(
        """
        import selectors
        base = serve()
        sel = selectors.DefaultSelector()
        deadline = [None]
        boom = ValueError("once")
        fail = [True]
        def on_socket(what, fd, multi, socketp):
            if what == pycurlcb.POLL_REMOVE:
                if fd in sel.get_map():
                    sel.unregister(fd)
                return
            if fd in sel.get_map():
                sel.modify(fd, what)
            else:
                sel.register(fd, what)
        def on_timer(ms):
            if fail[0]:
                fail[0] = False
                raise boom
            deadline[0] = None if ms < 0 else time.monotonic() + ms / 1000
        m = CurlMulti()
        m.setopt(pycurlcb.M_SOCKETFUNCTION, on_socket)
        m.setopt(pycurlcb.M_TIMERFUNCTION, on_timer)
        sinks = [[] for _ in range(3)]
        curls = [make_curl(base + "/p%d" % i, sinks[i]) for i in range(3)]
        raised = []
        for c in curls:
            try:
                m.add_handle(c)
            except BaseException as e:
                raised.append(e)
        added = [i for i, c in enumerate(curls) if c in m]
        done = {}
        end = time.monotonic() + 3
        while len(done) < len(added) and time.monotonic() < end:
            actions = [(k.fd, ev) for k, ev in sel.select(0.05)]
            if deadline[0] is not None and time.monotonic() >= deadline[0]:
                deadline[0] = None
                actions.append((pycurlcb.SOCKET_TIMEOUT, 0))
            for fd, flags in actions:
                m.socket_action(fd, flags)
                _, ok, err = m.info_read()
                for c in ok:
                    done[curls.index(c)] = 0
                for c, code, msg in err:
                    done[curls.index(c)] = code
        print(json.dumps({
            "raised": [[type(e).__name__, e.args[0], e.__cause__ is boom] for e in raised],
            "added": added,
            "done": sorted(done.items()),
            "bodies": [b"".join(s).decode() for s in sinks],
        }))
        m.close()
        """
    )
    assert proc.returncode == 0, describe(proc)
    assert proc.stderr == ""
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["raised"] == [["MultiError", 11, True]]
    # The first Curl failed with the timer callback; the two added after it complete.
    assert result["added"] == [1, 2]
    assert result["done"] == [[1, 0], [2, 0]]
    assert [result["bodies"][i] for i in (1, 2)] == ["/p1", "/p2"]


def test_curl_whose_add_handle_raised_is_left_consistent(http_url: str) -> None:
    # libcurl 7.88.1's curl_multi_add_handle links the easy handle into the
    # multi *before* it calls the timer callback.  pycurlcb removes it again
    # (the transfer fails with the timer callback): ``in`` must tell the truth
    # and the Curl must stay usable, addable again.
    fail = [True]
    boom = KeyError("timer")

    def on_timer(timeout_ms: int) -> None:
        if fail[0]:
            fail[0] = False
            raise boom

    sink: list[bytes] = []
    c = make_curl(http_url, sink)
    with CurlMulti() as m:
        m.setopt(pycurlcb.M_TIMERFUNCTION, on_timer)
        with pytest.raises(pycurlcb.MultiError) as info:
            m.add_handle(c)
        _assert_aborted_by(info.value, boom)
        assert c not in m and c.multi() is None
        m.add_handle(c)  # must not fail with CURLM_ADDED_ALREADY
        assert c in m
        m.remove_handle(c)
    c.perform()
    assert sink == [b"hello"]
    c.close()


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("where", ["socket", "timer"])
def test_keyboardinterrupt_in_a_multi_callback_is_raised_as_itself(
    slow_url: str, where: str, exc_type: type[BaseException]
) -> None:
    exc = exc_type("stop")
    fail = [True]

    def raising(*args: Any) -> None:
        if fail[0]:
            fail[0] = False
            raise exc

    c = make_curl(slow_url)
    with CurlMulti() as m:
        m.setopt(pycurlcb.M_SOCKETFUNCTION, raising if where == "socket" else lambda *a: None)
        m.setopt(pycurlcb.M_TIMERFUNCTION, raising if where == "timer" else lambda ms: None)
        with pytest.raises(exc_type) as info:
            m.add_handle(c)
            m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0)
        assert info.value is exc
        # Raised once: the next driving calls go on.
        try:
            m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0)
            m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0)
            if c in m:
                m.remove_handle(c)
        except BaseException as again:  # noqa: B036 - KeyboardInterrupt would end the session
            pytest.fail(f"raised again by the next driving call: {again!r}")
    c.close()


# ---------------------------------------------------------------------------
# exceptions raised in a Curl's callbacks: that transfer fails alone; no
# driving call raises; info_read() reports it, curl.callback_error holds it


def test_exception_in_write_callback_fails_only_that_transfer(
    http_paths: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with driven_multi() as (m, d):
        paths = http_paths(4)
        boom = OSError("disk full")

        def bad_write(data: bytes) -> None:
            raise boom

        sinks: list[list[bytes]] = [[] for _ in paths]
        curls = [make_curl(url, s) for (url, _), s in zip(paths, sinks)]
        bad = curls[1]
        bad.setopt(pycurlcb.WRITEFUNCTION, bad_write)
        for c in curls:
            m.add_handle(c)
        d.run(4)  # no socket_action raises
        code, message = d.done[bad]
        assert code == pycurlcb.E_WRITE_ERROR
        # libcurl's text for E_WRITE_ERROR: "client returned ERROR on write of N bytes" on 8.21.0
        assert message == "Failure writing output to destination" or message.startswith(
            "client returned ERROR on write"
        )
        assert bad.callback_error is boom
        for i, c in enumerate(curls):
            if c is not bad:
                assert d.done[c] == (0, "")
                assert c.callback_error is None
                assert b"".join(sinks[i]) == paths[i][1]
        assert capfd.readouterr() == ("", "")
        # Added again: callback_error is cleared; the transfer works.
        m.remove_handle(bad)
        bad.setopt(pycurlcb.WRITEFUNCTION, sinks[1].append)
        d.done.clear()
        m.add_handle(bad)
        assert bad.callback_error is None
        d.run(1)
        assert d.done[bad] == (0, "")
        assert b"".join(sinks[1]) == paths[1][1]
        for c in curls:
            m.remove_handle(c)
            c.close()


def test_exception_in_opensocket_fails_only_that_transfer(
    http_paths: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with driven_multi() as (m, d):
        paths = http_paths(3)
        boom = PermissionError("no sockets for you")

        def opensocket(purpose: int, address: Any) -> Any:
            raise boom

        sinks: list[list[bytes]] = [[] for _ in paths]
        curls = [make_curl(url, s) for (url, _), s in zip(paths, sinks)]
        bad = curls[0]
        bad.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
        for c in curls:
            m.add_handle(c)
        d.run(3)
        assert d.done[bad][0] == pycurlcb.E_COULDNT_CONNECT
        assert bad.callback_error is boom
        for i in (1, 2):
            assert d.done[curls[i]] == (0, "")
            assert b"".join(sinks[i]) == paths[i][1]
        assert capfd.readouterr() == ("", "")
        for c in curls:
            m.remove_handle(c)
            c.close()


def test_exception_in_a_curl_callback_under_perform(http_url: str, refusing_port: int) -> None:
    """The perform() style: perform() and remove_handle() do not raise either."""
    boom = RuntimeError("header")

    def header(data: bytes) -> None:
        raise boom

    c = make_curl(http_url)
    c.setopt(pycurlcb.HEADERFUNCTION, header)
    with CurlMulti() as m:
        m.add_handle(c)
        perform_until_idle(m)
        _, ok, err = m.info_read()
        assert ok == [] and [(e[0], e[1]) for e in err] == [(c, pycurlcb.E_WRITE_ERROR)]
        assert c.callback_error is boom
        m.remove_handle(c)
    c.close()


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_keyboardinterrupt_in_a_curl_callback_is_raised_by_the_driving_call(
    http_url: str, exc_type: type[BaseException]
) -> None:
    exc = exc_type("stop")

    def write(data: bytes) -> None:
        raise exc

    with driven_multi() as (m, d):
        c = make_curl(http_url)
        c.setopt(pycurlcb.WRITEFUNCTION, write)
        m.add_handle(c)
        with pytest.raises(exc_type) as info:
            d.run(1)
        assert info.value is exc
        try:
            d.run(1)  # raised once: the transfer is reported failed, nothing raised again
        except BaseException as again:  # noqa: B036 - KeyboardInterrupt would end the session
            pytest.fail(f"raised again by the next driving call: {again!r}")
        assert d.done[c][0] == pycurlcb.E_WRITE_ERROR
        m.remove_handle(c)
        c.close()


# ---------------------------------------------------------------------------
# easy-side socket callbacks under the multi: refuse, redirect


def test_opensocket_refusing_gives_err_list_couldnt_connect(http_url: str) -> None:
    with driven_multi() as (m, d):
        purposes: list[Any] = []

        def refuse(purpose: int, address: Any) -> None:
            purposes.append((purpose, address.addr))
            return None

        c = make_curl(http_url)
        c.setopt(pycurlcb.OPENSOCKETFUNCTION, refuse)
        m.add_handle(c)
        d.run(1)
        code, message = d.done[c]
        assert code == pycurlcb.E_COULDNT_CONNECT and message
        assert purposes and purposes[0][0] == pycurlcb.SOCKTYPE_IPCXN
        assert purposes[0][1][0] == "127.0.0.1"
        m.remove_handle(c)
        c.close()


def test_opensocket_redirect_with_address_tuple(http_url: str, refusing_port: int) -> None:
    with driven_multi() as (m, d):
        real_port = int(http_url.split(":")[2].split("/")[0])
        made: list[socket.socket] = []
        seen: list[Any] = []

        def redirect(purpose: int, address: Any) -> Any:
            seen.append(address.addr)
            s = socket.socket(address.family, address.socktype, address.protocol)
            made.append(s)
            return s, ("127.0.0.1", real_port)

        sink: list[bytes] = []
        c = make_curl(f"http://127.0.0.1:{refusing_port}/hello", sink)
        c.setopt(pycurlcb.OPENSOCKETFUNCTION, redirect)
        m.add_handle(c)
        d.run(1)
        assert d.done[c] == (0, "")
        assert sink == [b"hello"]
        assert seen == [("127.0.0.1", refusing_port)]
        m.remove_handle(c)
        c.close()
        for s in made:
            s.close()


# ---------------------------------------------------------------------------
# lifetimes


def test_multi_keeps_added_curls_alive(http_paths: Any) -> None:
    with driven_multi() as (m, d):
        paths = http_paths(3)
        sinks: list[list[bytes]] = [[] for _ in paths]
        refs = []
        for (url, _), s in zip(paths, sinks):
            c = make_curl(url, s)
            refs.append(weakref.ref(c))
            m.add_handle(c)
        del c
        gc.collect()
        assert all(r() is not None for r in refs)
        d.run(3)
        assert all(code == 0 for code, _ in d.done.values())
        assert [b"".join(s) for s in sinks] == [body for _, body in paths]
        curls = list(d.done)
        d.done.clear()
        for c in curls:
            m.remove_handle(c)
        del c, curls
        gc.collect()
        assert all(r() is None for r in refs)  # removed: the multi let go


def test_closesocket_called_from_multi_close_after_curl_closed(keepalive_url: str) -> None:
    with driven_multi() as (m, d):
        closed: list[int] = []
        in_close = [False]

        def closesocket(fd: int) -> int:
            closed.append(fd)
            assert in_close[0], "closesocket ran before multi.close()"
            os.close(fd)
            return 0

        opened: list[int] = []

        def opensocket(purpose: int, address: Any) -> int:
            opened.append(
                socket.socket(address.family, address.socktype, address.protocol).detach()
            )
            return opened[-1]  # an int: libcurl owns this very fd

        c = make_curl(keepalive_url)
        c.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
        c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
        m.add_handle(c)
        d.run(1)
        assert d.done[c] == (0, "")
        assert len(opened) == 1
        fd = opened[0]
        m.remove_handle(c)
        c.close()  # the connection stays in the multi's cache
        d.done.clear()
        del c, closesocket, opensocket
        gc.collect()
        assert closed == []
        in_close[0] = True
        m.close()
        assert closed == [fd]


def test_closesocket_exception_during_multi_close_goes_to_unraisablehook(
    keepalive_url: str, unraisable: list[Any]
) -> None:
    """Teardown (pycurl): m.close() does not raise what closesocket raised, it
    goes to sys.unraisablehook; the fd is the callable's once it ran, so
    pycurlcb does not close it."""
    boom = RuntimeError("closesocket failed")
    calls: list[int] = []

    def closesocket(fd: int) -> int:
        calls.append(fd)
        raise boom

    m = CurlMulti()
    c = make_curl(keepalive_url)
    c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
    m.add_handle(c)
    perform_until_idle(m)
    m.remove_handle(c)
    c.close()  # the connection stays in the multi's cache
    try:
        m.close()  # does not raise
        assert m.closed
        assert len(calls) == 1
        assert [u.exc_value for u in unraisable] == [boom]
        assert os.fstat(calls[0])  # still open: pycurlcb left it to the callable
    finally:
        for fd in calls:
            os.close(fd)


def test_exception_in_a_curl_callback_during_multi_close_goes_to_unraisablehook(
    keepalive_url: str, unraisable: list[Any]
) -> None:
    """The Curl is still added when the multi closes (and removes it)."""
    boom = RuntimeError("closesocket failed")
    calls: list[int] = []

    def closesocket(fd: int) -> int:
        calls.append(fd)
        os.close(fd)
        raise boom

    m = CurlMulti()
    c = make_curl(keepalive_url)
    c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
    m.add_handle(c)
    perform_until_idle(m)
    m.close()  # removes c, then closes the cached connection: does not raise
    assert m.closed and c.multi() is None
    assert len(calls) == 1
    assert [u.exc_value for u in unraisable] == [boom]
    c.close()


DROP_ORDERS = {
    "multi-first": "del m; gc.collect(); del curls; gc.collect()",
    "curls-first": "del curls; gc.collect(); del m; gc.collect()",
    "callbacks-then-multi": (
        "del on_socket, on_timer, closesocket, write; gc.collect(); del m; gc.collect(); "
        "del curls; gc.collect()"
    ),
    "all-at-once": "del m, curls, on_socket, on_timer, closesocket, write; gc.collect()",
    "cycle": "m.self_ref = m; curls[0].owner = m; del m, curls; gc.collect()",
}


@pytest.mark.parametrize(
    "order",
    DROP_ORDERS,
)
def test_dropping_references_mid_transfer_never_crashes(order: str) -> None:
    # Transfers are half-way (connected, socket callbacks registered, a
    # connection in the cache with a closesocket callback) when every
    # reference goes away in the given order.
    proc = run_isolated(
        """
        base = serve()
        events = []
        def on_socket(what, fd, multi, socketp):
            events.append(("socket", what, fd))
            if socketp is None and what != 4:
                multi.assign(fd, {"fd": fd})
        def on_timer(ms):
            events.append(("timer", ms))
        def closesocket(fd):
            events.append(("close", fd))
            os.close(fd)
        def write(data):
            events.append(("write", len(data)))
        m = CurlMulti()
        m.setopt(pycurlcb.M_SOCKETFUNCTION, on_socket)
        m.setopt(pycurlcb.M_TIMERFUNCTION, on_timer)
        curls = []
        for i in range(3):
            c = Curl()
            c.setopt(pycurlcb.URL, base + "/p%d" % i)
            c.setopt(pycurlcb.WRITEFUNCTION, write)
            c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
            m.add_handle(c)
            curls.append(c)
        del c
        # finish one transfer so its connection sits in the cache
        drive_perform(m, lambda: any(e[0] == "write" for e in events))
        m.perform()
        """
        + DROP_ORDERS[order]
        + """
        # PyPy finalises what a finalised handle held a collection later
        # (the multi's Curls after the multi): collect until all are done
        for _ in range(1 if hasattr(sys, "getrefcount") else 4):
            gc.collect()
        print(json.dumps({
            "closes": sum(1 for e in events if e[0] == "close"),
            "orphans": len(pycurlcb._lifetime.ORPHANS),
        }))
        """
    )
    assert proc.returncode == 0, describe(proc)
    assert "points to garbage" not in proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["closes"] >= 1  # every socket closed through the callback
    assert result["orphans"] == 0  # no closed Curl kept for a socket already closed


def test_dropping_curl_and_callback_with_connection_cached_then_new_transfer(
    keepalive_url: str,
) -> None:
    # The cached connection was opened by a Curl that is gone; a new Curl
    # reuses it (same host), and the old closesocket still runs at close.
    with driven_multi() as (m, d):
        closed: list[int] = []

        def closesocket(fd: int) -> int:
            closed.append(fd)
            os.close(fd)
            return 0

        first = make_curl(keepalive_url)
        first.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
        m.add_handle(first)
        d.run(1)
        m.remove_handle(first)
        first.close()
        del first, closesocket
        d.done.clear()
        gc.collect()
        sink: list[bytes] = []
        second = make_curl(keepalive_url, sink)
        m.add_handle(second)
        d.run(1)
        assert sink == [b"counted"]
        assert second.getinfo(pycurlcb.NUM_CONNECTS) == 0  # the cached connection was reused
        m.remove_handle(second)
        second.close()
        m.close()
        assert len(closed) == 1


# --------------------------------------------------------------------------
# every error names the argument, the value and what was expected


@pytest.mark.parametrize(
    ("call", "exc_type", "expected"),
    [
        (lambda m: m.socket_action(2**40, 0), OverflowError,
         "socket_action() fd 1099511627776 does not fit in a C int (a socket fd from the socket "
         "callback, or SOCKET_TIMEOUT)"),
        (lambda m: m.socket_action("x", 0), TypeError, "socket_action() fd must be an int"),
        (lambda m: m.socket_action(pycurlcb.SOCKET_TIMEOUT, 2**40), OverflowError,
         "socket_action() ev_bitmask 1099511627776 does not fit in a C int (CSELECT_IN"),
        (lambda m: m.socket_action(pycurlcb.SOCKET_TIMEOUT, 1.5), TypeError,
         "socket_action() ev_bitmask must be an int"),
        (lambda m: m.select("x"), TypeError,
         "select() timeout must be an int or float number of seconds, not 'x'"),
        (lambda m: m.select(None), TypeError, "select() timeout must be an int or float"),
        (lambda m: m.select(-1), ValueError, "select() timeout must be a number of seconds >= 0, not -1"),
        (lambda m: m.select(float("nan")), ValueError, "not nan"),
        (lambda m: m.select(1e300), OverflowError, "select() timeout 1e+300 seconds is more than"),
        (lambda m: m.assign(2**40, object()), OverflowError, "assign() fd 1099511627776 does not fit"),
        (lambda m: m.assign("x", object()), TypeError, "assign() fd must be an int"),
        (lambda m: m.assign(12345, object()), pycurlcb.MultiError,
         "assign(12345, ...): libcurl has no socket 12345"),
        (lambda m: m.unassign(2**40), OverflowError, "unassign() fd 1099511627776 does not fit"),
        (lambda m: m.info_read("x"), TypeError, "info_read() max_objects must be an int or None, not 'x'"),
        (lambda m: m.setopt(pycurlcb.M_MAXCONNECTS, "x"), TypeError, "setopt(M_MAXCONNECTS) expects an int"),
        (lambda m: m.setopt(pycurlcb.M_MAXCONNECTS, None), TypeError,
         "unsetting is not supported for this option: setopt(M_MAXCONNECTS, None)"),
    ],
)
def test_error_names_the_argument_and_the_value(
    call: Callable[[CurlMulti], Any], exc_type: type, expected: str
) -> None:
    with CurlMulti() as m:
        with pytest.raises(exc_type) as info:
            call(m)
        assert expected in str(info.value)
        assert m.socket_action(pycurlcb.SOCKET_TIMEOUT, 0) == (0, 0)  # still usable
