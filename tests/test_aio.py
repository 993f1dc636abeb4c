"""AsyncCurlMulti against real local servers, on asyncio's default loop and on uvloop,
with each of its drivers (the C epoll driver and the Python one: every test runs
with each, through the autouse ``driver`` fixture).

Most tests serve HTTP from ``LoopServer``, an asyncio.Protocol server on the
same loop as the client (HTTP/1.1 keep-alive, any number of concurrent
connections); a few use conftest.py's threaded fixtures.  The tests run their
coroutine with ``run`` (a fresh loop per test, parametrised over the default
loop and uvloop) and fail if the loop's exception handler was called: an
error in the driver must never be reported as "Exception in callback ...".

No pytest-asyncio: each test hands a coroutine to ``run``.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import os
import platform
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from collections.abc import Awaitable, Coroutine
from pathlib import Path
from typing import Any, Callable, TypeVar

import pytest
from fds import fd_target, open_fds

import pycurlcb
from pycurlcb import AsyncCurlMulti, Curl, async_multi
from pycurlcb._ffi import ffi, lib

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
WAIT = 10.0  # seconds any await in these tests may take before the test fails


# ---------------------------------------------------------------------------
# the drivers; running coroutines on the default loop and on uvloop


@pytest.fixture(autouse=True, params=async_multi.DRIVERS)
def driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs once per driver: AsyncCurlMulti() then uses this one."""
    monkeypatch.setattr(async_multi, "DEFAULT_DRIVER", request.param)
    return str(request.param)



Runner = Callable[[Coroutine[Any, Any, T]], T]


def _run_on(loop_factory: Callable[[], asyncio.AbstractEventLoop], coro: Any) -> Any:
    """Run ``coro`` on a new loop; fail if the loop's exception handler fired."""
    loop = loop_factory()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        result = loop.run_until_complete(asyncio.wait_for(coro, WAIT * 3))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
    assert reported == [], f"the loop's exception handler was called: {reported}"
    return result


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    if platform.python_implementation() == "PyPy":
        pytest.skip("uvloop does not exist for PyPy (a CPython-only C extension; not installed there)")
    uvloop = pytest.importorskip("uvloop")
    # uvloop's first loop opens a process-wide pipe it keeps: open it during
    # fixture setup, before the fd-leak check takes its "before" count.
    uvloop.new_event_loop().close()
    return uvloop.new_event_loop  # type: ignore[no-any-return]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner[Any]:
    """``run(coro)``: the result of ``coro`` on a fresh default loop or uvloop."""
    factory = asyncio.new_event_loop if request.param == "asyncio" else _uvloop_factory()
    return lambda coro: _run_on(factory, coro)


def run_default(coro: Coroutine[Any, Any, T], loop_factory: Any = None) -> T:
    return _run_on(loop_factory or asyncio.new_event_loop, coro)  # type: ignore[no-any-return]


async def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.005)


# ---------------------------------------------------------------------------
# an HTTP/1.1 server on the loop under test


class _Conn(asyncio.Protocol):
    def __init__(self, server: LoopServer) -> None:
        self.server = server
        self.buf = b""
        self.transport: Any = None
        self.paths: list[str] = []
        self.timers: list[asyncio.TimerHandle] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.server.conns.add(self)
        self.server.accepted += 1
        self.server.max_open = max(self.server.max_open, len(self.server.conns))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            path = head.split(b" ", 2)[1].decode()
            self.paths.append(path)
            self.server.requests.append(path)
            delay = self.server.delay_of(path)
            if delay:
                loop = asyncio.get_running_loop()
                self.timers.append(loop.call_later(delay, self.respond, path))
            else:
                self.respond(path)

    def respond(self, path: str) -> None:
        if self.transport.is_closing():
            return
        body = self.server.body_of(path)
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )

    def connection_lost(self, exc: BaseException | None) -> None:
        for timer in self.timers:
            timer.cancel()
        self.server.conns.discard(self)
        self.server.closed_paths += self.paths


class LoopServer:
    """HTTP/1.1 on 127.0.0.1 on the running loop.

    ``/slow`` answers after 60 s (i.e. never, in a test), ``/delay/<ms>``
    after ms milliseconds, anything else at once; the body of ``path`` is
    ``b"body of " + path``.  Records every request path, the paths of the
    connections that were closed, connections accepted and most open at once.
    """

    def __init__(self) -> None:
        self.conns: set[_Conn] = set()
        self.requests: list[str] = []
        self.closed_paths: list[str] = []
        self.accepted = 0
        self.max_open = 0
        self.port = 0
        self._server: Any = None

    @staticmethod
    def delay_of(path: str) -> float:
        if path == "/slow":
            return 60.0
        if path.startswith("/delay/"):
            return int(path.rsplit("/", 1)[1]) / 1000
        return 0.0

    @staticmethod
    def body_of(path: str) -> bytes:
        return b"body of " + path.encode()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> LoopServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Conn(self), "127.0.0.1", 0, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        for conn in list(self.conns):
            conn.transport.close()
        await self._server.wait_closed()
        for _ in range(3):  # let the loop close the transports' fds
            await asyncio.sleep(0)


def make_curl(url: str, sink: list[bytes] | None = None) -> Curl:
    c = Curl()
    c.setopt(pycurlcb.URL, url)
    c.setopt(pycurlcb.WRITEFUNCTION, (sink if sink is not None else []).append)
    return c


# ---------------------------------------------------------------------------
# the interface


def test_perform_returns_the_curl(run: Runner[Any]) -> None:
    async def main() -> None:
        sink: list[bytes] = []
        c = make_curl("", sink)
        async with LoopServer() as srv:
            c.setopt(pycurlcb.URL, srv.url("/one"))
            async with AsyncCurlMulti() as m:
                assert await m.perform(c) is c
                assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
                # the same Curl again, on the same multi
                c.setopt(pycurlcb.URL, srv.url("/two"))
                assert await m.perform(c) is c
        assert sink == [b"body of /one", b"body of /two"]
        c.close()

    run(main())


def test_add_handle_returns_the_future_and_futures_lists_it(run: Runner[Any]) -> None:
    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            c = make_curl(srv.url("/delay/50"))
            fut = m.add_handle(c)
            assert isinstance(fut, asyncio.Future)
            assert m.futures() == (fut,)
            assert m.futures([c, c]) == (fut, fut)
            assert not fut.done()
            assert await fut is c
            assert fut.result() is c
            assert m.futures() == ()
            with pytest.raises(KeyError):
                m.futures([c])
            c.close()

    run(main())


def test_1000_concurrent_transfers(run: Runner[Any]) -> None:
    n = 1000

    async def main() -> float:
        async with LoopServer() as srv:
            sinks: list[list[bytes]] = [[] for _ in range(n)]
            curls = [make_curl(srv.url(f"/p{i}"), sinks[i]) for i in range(n)]
            t0 = time.monotonic()
            async with AsyncCurlMulti() as m:
                results = await asyncio.gather(*(m.perform(c) for c in curls))
                assert len(m.futures()) == 0
            elapsed = time.monotonic() - t0
            assert results == curls
            for i, sink in enumerate(sinks):
                assert b"".join(sink) == f"body of /p{i}".encode()
            assert sorted(srv.requests) == sorted(f"/p{i}" for i in range(n))
            assert srv.max_open > 100  # they really ran concurrently
            for c in curls:
                c.close()
            return elapsed

    elapsed = run(main())
    assert elapsed < 15


def test_more_transfers_end_in_one_wakeup_than_the_c_driver_takes_at_once(
    run: Runner[Any], silent_server: Any, driver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The C driver takes at most PCB_AIO_DONE finished transfers per wake-up
    (driver.h); the rest are read from libcurl's queue in the same wake-up.
    Here 2 x PCB_AIO_DONE + 1 transfers time out together, in one
    socket_action(CURL_SOCKET_TIMEOUT): every future is resolved, none waits
    for a wake-up that never comes."""
    n = 2 * lib.PCB_AIO_DONE + 1
    taken: list[int] = []
    take_done = pycurlcb.CurlMulti._take_done

    def spy(self: pycurlcb.CurlMulti, d: Any) -> Any:
        ok, err = take_done(self, d)
        taken.append(len(ok) + len(err))
        return ok, err

    monkeypatch.setattr(pycurlcb.CurlMulti, "_take_done", spy)

    async def main() -> list[Any]:
        curls = [make_curl(f"http://{silent_server.host}:{silent_server.port}/{i}") for i in range(n)]
        for c in curls:
            c.setopt(pycurlcb.TIMEOUT_MS, 300)
        async with AsyncCurlMulti() as m:
            futures = [m.add_handle(c) for c in curls]
            await asyncio.sleep(0.1)  # every transfer started: its 300 ms deadline set
            time.sleep(0.4)  # the loop blocked past every deadline: they end in one call
            results = await asyncio.gather(*futures, return_exceptions=True)
            assert m.futures() == () and m._multi.handles() == []
        for c in curls:
            assert c.multi() is None
            c.close()
        return results

    results = run(main())
    assert all(isinstance(r, pycurlcb.error) for r in results)
    assert {r.args[0] for r in results} == {pycurlcb.E_OPERATION_TIMEDOUT}
    if driver == "epoll":
        assert lib.PCB_AIO_DONE in taken  # a full batch: the rest came from info_read


def test_a_finished_transfer_the_c_driver_cannot_remove_is_removed_by_python(run: Runner[Any]) -> None:
    """The C driver finds a finished transfer's struct through CURLINFO_PRIVATE,
    which pcb_multi_add sets; when that does not lead back to it (cleared here
    through the shim, as nothing in the API does), the transfer is left for
    Python's remove_handle, and the Curl is free for its next transfer."""

    async def main() -> None:
        sink: list[bytes] = []
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            c = make_curl(srv.url("/delay/50"), sink)
            future = m.add_handle(c)
            lib.pcb_easy_setopt_ptr(c._h, pycurlcb.PRIVATE, ffi.NULL)
            assert await future is c
            assert m._multi.handles() == [] and c.multi() is None
            c.setopt(pycurlcb.URL, srv.url("/again"))
            assert await m.perform(c) is c
        assert sink == [b"body of /delay/50", b"body of /again"]
        c.close()

    run(main())


def test_setopt_socket_and_timer_functions_are_refused() -> None:
    async def main() -> None:
        async with AsyncCurlMulti() as m:
            with pytest.raises(ValueError):
                m.setopt(pycurlcb.M_SOCKETFUNCTION, lambda *a: None)
            with pytest.raises(ValueError):
                m.setopt(pycurlcb.M_TIMERFUNCTION, lambda ms: None)
            m.setopt(pycurlcb.M_MAXCONNECTS, 3)  # other options pass through

    run_default(main())


def test_max_total_connections_passes_through(run: Runner[Any]) -> None:
    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            m.setopt(pycurlcb.M_MAX_TOTAL_CONNECTIONS, 1)
            curls = [make_curl(srv.url(f"/delay/{20 + i}")) for i in range(4)]
            assert await asyncio.gather(*(m.perform(c) for c in curls)) == curls
            assert srv.max_open == 1
            assert srv.accepted == 1
            for c in curls:
                c.close()

    run(main())


def test_aclose_is_idempotent_and_closed(run: Runner[Any]) -> None:
    async def main() -> None:
        m = AsyncCurlMulti()
        assert m.closed is False
        await m.aclose()
        assert m.closed is True
        await m.aclose()
        assert m.closed is True
        c = Curl()
        with pytest.raises(RuntimeError, match="AsyncCurlMulti is closed"):
            m.add_handle(c)
        with pytest.raises(RuntimeError, match="AsyncCurlMulti is closed"):
            m.remove_handle(c)
        c.close()

    run(main())


def test_aclose_cancels_running_transfers_and_leaves_no_registration() -> None:
    loop = TrackingLoop()

    async def main() -> None:
        async with LoopServer() as srv:
            curls = [make_curl(srv.url("/slow")) for _ in range(3)]
            m = AsyncCurlMulti()
            tasks = [asyncio.ensure_future(m.perform(c)) for c in curls]
            await wait_until(lambda: len(srv.requests) == 3)
            assert loop.readers  # the driver watches the sockets
            await m.aclose()
            for t in tasks:
                with pytest.raises(asyncio.CancelledError):
                    await t
            assert loop.readers == set() and loop.writers == set()
            await wait_until(lambda: srv.closed_paths.count("/slow") == 3)
            for c in curls:
                assert not c.closed  # close_handles=False
                c.close()

    run_default(main(), lambda: loop)


def test_close_handles_true_closes_the_curls_still_added(run: Runner[Any]) -> None:
    async def main() -> None:
        async with LoopServer() as srv:
            c = make_curl(srv.url("/slow"))
            async with AsyncCurlMulti(close_handles=True) as m:
                assert m.close_handles is True
                task = asyncio.ensure_future(m.perform(c))
                await wait_until(lambda: srv.requests == ["/slow"])
            with pytest.raises(asyncio.CancelledError):
                await task
            assert c.closed

    run(main())


def test_close_handles_false_leaves_curls_open(run: Runner[Any]) -> None:
    async def main() -> None:
        async with LoopServer() as srv:
            c = make_curl(srv.url("/p"))
            async with AsyncCurlMulti() as m:
                assert m.close_handles is False
                await m.perform(c)
            assert not c.closed
            c.close()

    run(main())


def test_bound_to_the_loop_of_its_first_add_handle(http_url: str) -> None:
    m = AsyncCurlMulti()
    c = make_curl(http_url)

    async def use() -> None:
        await m.perform(c)

    run_default(use())  # binds
    run_default(m.__aenter__())  # async with does not bind
    with pytest.raises(RuntimeError, match="bound to a different event loop"):
        run_default(use())
    run_default(m.aclose())  # on another loop than the closed one it is bound to
    c.close()


def test_add_handle_outside_a_running_loop_is_refused() -> None:
    m = AsyncCurlMulti()
    c = Curl()
    with pytest.raises(RuntimeError, match="no running event loop"):
        m.add_handle(c)
    run_default(m.aclose())
    c.close()


def test_driver_names() -> None:
    assert AsyncCurlMulti().driver == async_multi.DEFAULT_DRIVER
    for name in async_multi.DRIVERS:
        assert AsyncCurlMulti(driver=name).driver == name
    with pytest.raises(ValueError, match="driver must be one of"):
        AsyncCurlMulti(driver="select")


# ---------------------------------------------------------------------------
# event loops that cannot watch fds, and the driver's use of the loop


class NoFdLoop(asyncio.SelectorEventLoop):
    """Stands in for Windows' proactor loop: add_reader/add_writer unsupported."""

    def add_reader(self, fd: Any, callback: Any, *args: Any) -> None:
        raise NotImplementedError

    def add_writer(self, fd: Any, callback: Any, *args: Any) -> None:
        raise NotImplementedError


def test_loop_without_add_reader_is_refused() -> None:
    async def main() -> None:
        m = AsyncCurlMulti()
        with pytest.raises(RuntimeError, match="add_reader"):
            async with m:
                pass
        c = Curl()
        with pytest.raises(RuntimeError, match="add_reader"):
            m.add_handle(c)
        await m.aclose()
        c.close()

    run_default(main(), NoFdLoop)


class TrackingLoop(asyncio.SelectorEventLoop):
    """Records what the driver asks of the loop.

    readers/writers: fds registered through the public add_*/remove_* API
    (asyncio's own transports use private methods, so these are the
    driver's).  redundant: add_reader/add_writer for an fd already watched
    that way.  wakeups: runs of the driver's reader/writer callbacks and of
    its call_soon/call_later (bound methods of an AsyncCurlMulti); timers:
    for each call_soon/call_later ``[kind, delay, handle, ran]``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.readers: set[int] = set()
        self.writers: set[int] = set()
        self.redundant = 0
        self.wakeups = 0
        self.timers: list[list[Any]] = []

    def _counted(self, callback: Any) -> Any:
        def run(*args: Any) -> None:
            self.wakeups += 1
            callback(*args)

        return run

    def add_reader(self, fd: Any, callback: Any, *args: Any) -> None:
        self.redundant += fd in self.readers
        self.readers.add(fd)
        super().add_reader(fd, self._counted(callback), *args)

    def remove_reader(self, fd: Any) -> bool:
        self.readers.discard(fd)
        return super().remove_reader(fd)

    def add_writer(self, fd: Any, callback: Any, *args: Any) -> None:
        self.redundant += fd in self.writers
        self.writers.add(fd)
        super().add_writer(fd, self._counted(callback), *args)

    def remove_writer(self, fd: Any) -> bool:
        self.writers.discard(fd)
        return super().remove_writer(fd)

    def _track(self, kind: str, delay: float, callback: Any, args: Any, kwargs: Any) -> Any:
        schedule = super().call_soon if kind == "soon" else super().call_later
        if not isinstance(getattr(callback, "__self__", None), AsyncCurlMulti):
            return schedule(*(() if kind == "soon" else (delay,)), callback, *args, **kwargs)
        record: list[Any] = [kind, delay, None, False]

        def ran(*a: Any) -> None:
            self.wakeups += 1
            record[3] = True
            callback(*a)

        record[2] = schedule(*(() if kind == "soon" else (delay,)), ran, *args, **kwargs)
        self.timers.append(record)
        return record[2]

    def call_soon(self, callback: Any, *args: Any, **kwargs: Any) -> Any:
        return self._track("soon", 0, callback, args, kwargs)

    def call_later(self, delay: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
        return self._track("later", delay, callback, args, kwargs)


def test_registrations_change_only_when_needed_and_are_all_removed(driver: str) -> None:
    loop = TrackingLoop()

    async def main() -> None:
        async with LoopServer() as srv:
            curls = [make_curl(srv.url(f"/delay/{i}")) for i in range(50)]
            async with AsyncCurlMulti() as m:
                await asyncio.gather(*(m.perform(c) for c in curls))
                # done: libcurl said POLL_REMOVE for every socket ...
                assert m._assigned_fds == set()
                if driver == "python":
                    assert loop.readers == set() and loop.writers == set()
                    # ... and -1 for the timer: nothing left scheduled
                    assert all(ran or h.cancelled() for _, _, h, ran in loop.timers)
                else:
                    # the loop watches the epoll fd alone; libcurl's timeouts are a
                    # timerfd in the epoll set, except "now" after add_handle: call_soon
                    assert m._epoll is not None
                    assert loop.readers == {m._epoll.fd} and loop.writers == set()
                    assert {kind for kind, _, _, _ in loop.timers} == {"soon"}
                    assert all(ran or h.cancelled() for _, _, h, ran in loop.timers)
                    # Python ran once per wake-up, far fewer than the socket events
                    assert 0 < loop.wakeups < 50 * 4
            assert loop.readers == set() and loop.writers == set()
            assert loop.redundant == 0
            if driver == "python":
                # add_handle's 0 ms timeout became call_soon, not call_later(0)
                assert loop.timers[0][:2] == ["soon", 0]
                assert all(delay > 0 for kind, delay, _, _ in loop.timers if kind == "later")
            for c in curls:
                c.close()

    run_default(main(), lambda: loop)


def test_no_polling_while_waiting(silent_server: Any) -> None:
    loop = TrackingLoop()

    async def main() -> None:
        c = make_curl(f"http://{silent_server.host}:{silent_server.port}/")
        async with AsyncCurlMulti() as m:
            task = asyncio.ensure_future(m.perform(c))
            await wait_until(lambda: bool(loop.readers))  # request sent, awaiting the answer
            await asyncio.sleep(0.25)  # the connect-phase timers are done
            before = loop.wakeups
            await asyncio.sleep(0.75)
            assert loop.wakeups - before <= 1  # no poll loop: nothing to do, no wakeup
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        c.close()

    run_default(main(), lambda: loop)


# ---------------------------------------------------------------------------
# cancellation


@pytest.mark.parametrize("how", ["task", "future", "wait_for"])
def test_cancelling_one_transfer_others_complete_and_curl_reusable(
    run: Runner[Any], how: str, http_url: str
) -> None:
    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            sinks: list[list[bytes]] = [[] for _ in range(5)]
            fast = [make_curl(srv.url(f"/delay/{30 + i}"), sinks[i]) for i in range(5)]
            slow_sink: list[bytes] = []
            slow = make_curl(srv.url("/slow"), slow_sink)
            fast_tasks = [asyncio.ensure_future(m.perform(c)) for c in fast]
            if how == "future":
                slow_fut: Awaitable[Curl] = m.add_handle(slow)
                waiter = slow_fut
            elif how == "task":
                waiter = slow_fut = asyncio.ensure_future(m.perform(slow))
            else:
                waiter = asyncio.ensure_future(asyncio.wait_for(m.perform(slow), 0.2))
            await wait_until(lambda: "/slow" in srv.requests)
            if how == "wait_for":
                with pytest.raises(asyncio.TimeoutError):
                    await waiter
            else:
                slow_fut.cancel()  # type: ignore[attr-defined]
                with pytest.raises(asyncio.CancelledError):
                    await waiter
            # the others go on
            assert await asyncio.gather(*fast_tasks) == fast
            assert [b"".join(s) for s in sinks] == [
                f"body of /delay/{30 + i}".encode() for i in range(5)
            ]
            assert m.futures() == ()
            # libcurl dropped the slow transfer's connection
            await wait_until(lambda: "/slow" in srv.closed_paths)
            assert slow_sink == []
            # the cancelled Curl works again, on the multi ...
            slow.setopt(pycurlcb.URL, srv.url("/again"))
            assert await m.perform(slow) is slow
            assert slow_sink == [b"body of /again"]
        # ... and on its own (a threaded server: perform() blocks the loop)
        slow.setopt(pycurlcb.URL, http_url)
        slow.perform()
        assert slow_sink[-1] == b"hello"
        for c in [slow, *fast]:
            c.close()

    run(main())


def test_remove_handle_cancels_its_future(run: Runner[Any]) -> None:
    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            c = make_curl(srv.url("/slow"))
            fut = m.add_handle(c)
            await wait_until(lambda: srv.requests == ["/slow"])
            m.remove_handle(c)
            assert fut.cancelled()
            with pytest.raises(RuntimeError, match="not registered"):
                m.remove_handle(c)  # not added any more
            await wait_until(lambda: srv.closed_paths == ["/slow"])
            c.close()

    run(main())


# ---------------------------------------------------------------------------
# a transfer's Curl, multi or loop going away while it is awaited: no future
# is left pending


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_factory(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    """A new default loop or uvloop, for a test that runs its loop itself."""
    return asyncio.new_event_loop if request.param == "asyncio" else _uvloop_factory()


@pytest.mark.parametrize("when", ["before_the_loop_drives_it", "mid_transfer"])
def test_closing_the_curl_fails_its_awaited_transfer(run: Runner[Any], when: str) -> None:
    """curl.close() removes the Curl from the multi and fails its future with
    pycurlcb.error("curl object closed while its transfer was running"); the
    other transfers go on."""

    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            c = make_curl(srv.url("/slow"))
            other = make_curl(srv.url("/delay/50"))
            if when == "mid_transfer":
                waiter: Awaitable[Curl] = asyncio.ensure_future(m.perform(c))
                await wait_until(lambda: "/slow" in srv.requests)
            else:
                waiter = m.add_handle(c)
            other_future = m.add_handle(other)
            c.close()
            assert c.multi() is None
            assert m.futures() == (other_future,)
            with pytest.raises(pycurlcb.error) as info:
                await asyncio.wait_for(waiter, WAIT)
            assert type(info.value) is pycurlcb.error
            assert info.value.args == ("curl object closed while its transfer was running",)
            assert info.value.args == (async_multi.CURL_CLOSED,)
            assert await other_future is other
            with pytest.raises(RuntimeError, match="not registered"):
                m.remove_handle(c)
            if when == "mid_transfer":
                await wait_until(lambda: "/slow" in srv.closed_paths)  # its connection closed
            else:
                assert srv.requests == ["/delay/50"]
            other.close()

    run(main())


def test_closing_the_curlmulti_under_it_fails_every_awaited_transfer(run: Runner[Any]) -> None:
    """The CurlMulti behind an AsyncCurlMulti is reachable (curl.multi()):
    closing it fails every future with pycurlcb.error("multi-stack closed
    while the transfer was running") and leaves the AsyncCurlMulti closed,
    watching nothing."""

    async def main() -> None:
        async with LoopServer() as srv:
            m = AsyncCurlMulti()
            curls = [make_curl(srv.url("/slow")) for _ in range(2)]
            waiters = [asyncio.ensure_future(m.perform(curls[0])), m.add_handle(curls[1])]
            await wait_until(lambda: len(srv.requests) == 2)
            multi = curls[0].multi()
            assert isinstance(multi, pycurlcb.CurlMulti) and multi is curls[1].multi()
            multi.close()
            for waiter in waiters:
                with pytest.raises(pycurlcb.error) as info:
                    await asyncio.wait_for(waiter, WAIT)
                assert type(info.value) is pycurlcb.error
                assert info.value.args == ("multi-stack closed while the transfer was running",)
            assert m.closed and m.futures() == ()
            assert m._assigned_fds == set() and not m._reading_epoll and m._timer is None
            with pytest.raises(RuntimeError, match="AsyncCurlMulti is closed"):
                m.add_handle(curls[0])
            await wait_until(lambda: srv.closed_paths.count("/slow") == 2)
            await m.aclose()  # nothing left to do
            for c in curls:
                assert c.multi() is None
                c.close()

    run(main())


def test_removing_through_the_curlmulti_under_it_cancels_the_awaited_transfer(run: Runner[Any]) -> None:
    """``curl.multi().remove_handle(curl)``, behind the AsyncCurlMulti's back, ends
    that transfer's future as AsyncCurlMulti.remove_handle() does (cancelled); the
    other transfer goes on."""

    async def main() -> None:
        async with LoopServer() as srv:
            async with AsyncCurlMulti() as m:
                slow, quick = make_curl(srv.url("/slow")), make_curl(srv.url("/delay/100"))
                waiter = asyncio.ensure_future(m.perform(slow))
                other = asyncio.ensure_future(m.perform(quick))
                await wait_until(lambda: len(srv.requests) == 2)
                slow.multi().remove_handle(slow)
                with pytest.raises(asyncio.CancelledError):
                    await asyncio.wait_for(waiter, WAIT)
                assert await asyncio.wait_for(other, WAIT) is quick
                assert m.futures() == () and slow.multi() is None
            for c in (slow, quick):
                c.close()

    run(main())


def test_a_curl_only_the_multi_holds_is_not_collected_while_it_transfers(run: Runner[Any]) -> None:
    """Garbage collection cannot take a Curl away from its transfer: the
    CurlMulti holds every Curl added to it, and the loop holds the
    AsyncCurlMulti while it watches the transfer's socket or timer.  With only
    the awaiting task left, the transfer completes and the task gets the Curl."""

    async def main() -> None:
        async with LoopServer() as srv:
            sink: list[bytes] = []
            c = make_curl(srv.url("/delay/200"), sink)
            m = AsyncCurlMulti()
            curl_ref, multi_ref = weakref.ref(c), weakref.ref(m)
            task = asyncio.ensure_future(m.perform(c))
            del c, m
            await wait_until(lambda: srv.requests == ["/delay/200"])
            gc.collect()
            assert curl_ref() is not None and multi_ref() is not None
            c = await asyncio.wait_for(task, WAIT)
            assert c is curl_ref() and b"".join(sink) == b"body of /delay/200"
            m = multi_ref()
            if m is not None:
                await m.aclose()
            c.close()

    run(main())


def test_a_stopped_loop_leaves_transfers_pending_until_it_runs_again(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    """run_until_complete() returning (the loop stopped) with a transfer pending
    pauses it: running the loop again finishes it."""
    loop = loop_factory()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    m = AsyncCurlMulti()

    async def start() -> tuple[LoopServer, Curl, asyncio.Future[Curl]]:
        srv = await LoopServer().__aenter__()
        c = make_curl(srv.url("/delay/100"))
        return srv, c, m.add_handle(c)

    try:
        srv, c, future = loop.run_until_complete(start())
        assert not future.done()
        assert loop.run_until_complete(asyncio.wait_for(future, WAIT)) is c
        loop.run_until_complete(m.aclose())
        loop.run_until_complete(srv.__aexit__())
        c.close()
    finally:
        loop.close()
    assert reported == []


def test_transfers_pending_when_the_loop_closes(
    loop_factory: Callable[[], asyncio.AbstractEventLoop], silent_server: Any
) -> None:
    """A loop closed with transfers pending (not run by asyncio.run(), which
    cancels the tasks first): their futures cannot call back on that loop any
    more, yet curl.close() still fails its future and aclose() (on another
    loop) cancels the rest, without "Event loop is closed", leaving no fd."""
    loop = loop_factory()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    m = AsyncCurlMulti()
    called: list[asyncio.Future[Curl]] = []

    async def start() -> tuple[list[Curl], list[asyncio.Future[Curl]]]:
        curls = [make_curl(f"http://{silent_server.host}:{silent_server.port}/") for _ in range(2)]
        futures = [m.add_handle(c) for c in curls]
        for future in futures:
            future.add_done_callback(called.append)  # as an awaiting task would
        await wait_until(lambda: len(m._assigned_fds) >= 2)  # both connected or connecting
        return curls, futures

    try:
        curls, futures = loop.run_until_complete(start())
    finally:
        loop.close()
    assert not any(f.done() for f in futures)
    curls[0].close()
    assert futures[0].done()
    exc = futures[0].exception()
    assert type(exc) is pycurlcb.error and exc.args == (async_multi.CURL_CLOSED,)
    other = loop_factory()
    try:
        other.run_until_complete(m.aclose())
    finally:
        other.close()
    assert futures[1].cancelled()
    assert m.closed and m._assigned_fds == set()
    assert called == []  # the closed loop runs no callback
    curls[1].close()
    assert reported == []


# ---------------------------------------------------------------------------
# errors: one Curl's failure is its own


def test_exception_in_write_callback_fails_only_that_await(
    run: Runner[Any], capfd: pytest.CaptureFixture[str]
) -> None:
    boom = RuntimeError("write callback failed")

    def bad_write(data: bytes) -> None:
        raise boom

    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            sinks: list[list[bytes]] = [[] for _ in range(4)]
            curls = [make_curl(srv.url(f"/p{i}"), sinks[i]) for i in range(4)]
            curls[2].setopt(pycurlcb.WRITEFUNCTION, bad_write)
            results = await asyncio.gather(*(m.perform(c) for c in curls), return_exceptions=True)
            # what Curl.perform() raises: pycurl.error, the callback's exception its cause
            err = results[2]
            assert isinstance(err, pycurlcb.CallbackError)
            assert err.args[0] == pycurlcb.E_WRITE_ERROR and err.__cause__ is boom
            assert curls[2].callback_error is boom
            with pytest.raises(pycurlcb.error) as excinfo:
                await m.perform(curls[2])
            assert excinfo.value.__cause__ is boom
            assert [results[i] for i in (0, 1, 3)] == [curls[i] for i in (0, 1, 3)]
            assert [b"".join(sinks[i]) for i in (0, 1, 3)] == [
                f"body of /p{i}".encode() for i in (0, 1, 3)
            ]
            # the failed Curl is clean: it works again once its callback does
            curls[2].setopt(pycurlcb.WRITEFUNCTION, sinks[2].append)
            assert await m.perform(curls[2]) is curls[2]
            assert sinks[2] == [b"body of /p2"]
            for c in curls:
                c.close()

    run(main())
    assert capfd.readouterr() == ("", "")


def test_exception_in_opensocket_fails_only_that_await(
    run: Runner[Any], capfd: pytest.CaptureFixture[str]
) -> None:
    boom = PermissionError("no socket")

    def opensocket(purpose: int, address: Any) -> Any:
        raise boom

    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            curls = [make_curl(srv.url(f"/p{i}")) for i in range(3)]
            curls[0].setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
            results = await asyncio.gather(*(m.perform(c) for c in curls), return_exceptions=True)
            err = results[0]
            assert isinstance(err, pycurlcb.error) and err.__cause__ is boom
            assert err.args[0] == pycurlcb.E_COULDNT_CONNECT
            assert results[1:] == curls[1:]
            for c in curls:
                c.close()

    run(main())
    assert capfd.readouterr() == ("", "")


def test_driver_socket_callback_failure_fails_only_that_transfer(
    run: Runner[Any], capfd: pytest.CaptureFixture[str], driver: str
) -> None:
    """If the driver's own socket callback fails (the loop refuses an fd; for
    the C driver, epoll_ctl fails), the transfer libcurl called it for fails
    with MultiError whose cause is that exception; the others complete, and
    nothing is left registered.  (A failure for a socket of no transfer --
    libcurl 8's own wake-up socket -- or of the timer fails them all.)"""
    boom = OSError("the loop refused this fd")

    doomed_fds: set[int] = set()  # the sockets curls[1] opened

    def opensocket(purpose: int, address: Any) -> int:
        fd = socket.socket(address.family, address.socktype, address.protocol).detach()
        doomed_fds.add(fd)
        return fd  # an int: libcurl owns this very fd

    class Flaky(AsyncCurlMulti):
        failures = 1  # armed below

        def _on_socket(self, what: int, fd: int, multi: Any, watch: Any) -> None:
            # the first call for curls[1]'s connection, whichever it is: libcurl
            # 8 asks for POLL_OUT while connecting; up to 7.81 the connect to
            # loopback completes and the request is sent in the same call, so
            # the first is POLL_IN
            if Flaky.failures == 0 and fd in doomed_fds and what != pycurlcb.POLL_REMOVE:
                Flaky.failures += 1
                raise boom
            super()._on_socket(what, fd, multi, watch)

    async def main() -> None:
        async with LoopServer() as srv, Flaky() as m:
            # a first transfer: libcurl 8 registers its own wake-up socket then
            first = make_curl(srv.url("/first"))
            assert await m.perform(first) is first
            first.close()
            curls = [make_curl(srv.url(f"/p{i}")) for i in range(3)]
            if driver == "epoll":
                assert m._epoll is not None
                m._epoll.d.fail_easy = curls[1]._e.h
                m._epoll.d.fail_next = errno.ENOSPC  # epoll_ctl: no more watches
            else:
                # a connection of its own (not /first's, cached), opened here
                curls[1].setopt(pycurlcb.FRESH_CONNECT, 1)
                curls[1].setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
                Flaky.failures = 0
            results = await asyncio.gather(*(m.perform(c) for c in curls), return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            assert len(failed) == 1
            err = failed[0]
            assert results[1] is err
            assert isinstance(err, pycurlcb.MultiError)
            assert err.args[0] == pycurlcb.errors.MULTI_ABORTED_BY_CALLBACK
            if driver == "epoll":
                assert isinstance(err.__cause__, OSError) and err.__cause__.errno == errno.ENOSPC
                assert "epoll driver" in err.args[1]
            else:
                assert err.__cause__ is boom and Flaky.failures == 1
            assert [r for r in results if r is not err] == [c for c, r in zip(curls, results) if r is not err]
            assert m.futures() == ()
            assert m._assigned_fds == set()
            # the failed Curl works again
            again = curls[results.index(err)]
            assert await m.perform(again) is again
            for c in curls:
                c.close()

    run(main())
    # Every Curl is closed and the multi too: none waits for a socket as an
    # orphan (libcurl 7.88.1 closes the failed transfer's socket without
    # CLOSESOCKETFUNCTION; pycurlcb must not wait for it forever).
    assert pycurlcb._lifetime.ORPHANS == set()
    assert capfd.readouterr() == ("", "")


def _timerfds() -> list[int]:
    return [fd for fd in open_fds() if fd_target(fd) == "anon_inode:[timerfd]"]


def test_a_timeout_the_c_driver_cannot_arm_fails_the_transfers_at_once(
    driver: str, silent_server: tuple[str, int]
) -> None:
    """timerfd_settime failing while the driver settles after a call into
    libcurl fails every transfer in that same settle (the failure is read
    after the arming), not at the next wake-up of the epoll fd, which may
    never come: here it fails before the driver has woken once."""
    if driver != "epoll":
        pytest.skip("the C driver's timerfd")
    host, port = silent_server

    async def main() -> None:
        before = set(_timerfds())
        async with AsyncCurlMulti() as m:
            (tfd,) = set(_timerfds()) - before
            c = make_curl(f"http://{host}:{port}/")
            c.setopt(pycurlcb.TIMEOUT_MS, int(WAIT * 1000))
            wakes: list[bool] = []
            on_epoll = m._on_epoll

            def counted() -> None:
                wakes.append(future.done())
                on_epoll()

            m._on_epoll = counted  # type: ignore[method-assign]  # add_handle registers it
            future = m.add_handle(c)  # "due now": its socket_action runs from call_soon
            r, w = os.pipe()
            os.dup2(r, tfd)  # the driver's timerfd is now a pipe: timerfd_settime fails (EINVAL)
            os.close(r)
            os.close(w)
            with pytest.raises(pycurlcb.MultiError) as info:
                await asyncio.wait_for(future, WAIT / 2)
            err = info.value
            assert err.args[0] == pycurlcb.errors.MULTI_ABORTED_BY_CALLBACK
            assert "epoll driver" in err.args[1]
            assert isinstance(err.__cause__, OSError) and err.__cause__.errno == errno.EINVAL
            assert False not in wakes  # no wake-up of the driver came before the failure
            assert m.futures() == ()
            c.close()

    run_default(main())


def test_a_timeout_whose_timerfd_expired_early_still_fires(
    run: Runner[Any], driver: str, fast_server: Any
) -> None:
    """TIMEOUT_MS on a stalled transfer beside a short one, 15 times.  The C driver arms
    its timerfd lazily: libcurl moving its deadline later by a few microseconds leaves
    it armed for the earlier time, so it expires just before the deadline, the drive
    finds nothing due, and it must be armed again (it was not: 8 of 30 such rounds
    hung until the fix in pcb_aio_drive)."""
    if driver != "epoll":
        pytest.skip("the C driver's timerfd")

    async def main() -> None:
        for _ in range(15):
            async with AsyncCurlMulti() as m:
                stalled = make_curl(fast_server.url("/stall"))
                stalled.setopt(pycurlcb.TIMEOUT_MS, 200)
                fine = make_curl(fast_server.url("/delay/50"))
                started = time.monotonic()
                both = asyncio.gather(m.perform(stalled), m.perform(fine), return_exceptions=True)
                done, _ = await asyncio.wait([both], timeout=2)  # not wait_for: error 28 is a TimeoutError
                assert done, "the stalled transfer's timeout never fired"
                outcomes = both.result()
                assert time.monotonic() - started < 1.5
                assert isinstance(outcomes[0], pycurlcb.error)
                assert outcomes[0].args[0] == pycurlcb.E_OPERATION_TIMEDOUT
                assert outcomes[1] is fine
                stalled.close()
                fine.close()

    run(main())


def test_refused_port_raises_connection_error(run: Runner[Any], refusing_port: int) -> None:
    async def main() -> None:
        async with AsyncCurlMulti() as m:
            c = make_curl(f"http://127.0.0.1:{refusing_port}/")
            with pytest.raises(pycurlcb.error) as info:
                await m.perform(c)
            err = info.value
            assert isinstance(err, pycurlcb.CurlConnectionError)
            assert isinstance(err, ConnectionError)
            assert err.code == err.args[0] == pycurlcb.E_COULDNT_CONNECT
            assert isinstance(err.args[1], str) and err.args[1]
            c.close()

    run(main())


def test_opensocket_refusing_raises_couldnt_connect(run: Runner[Any]) -> None:
    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            seen: list[Any] = []

            def refuse(purpose: int, address: Any) -> None:
                seen.append((purpose, address.addr))
                return None

            c = make_curl(srv.url("/refused"))
            c.setopt(pycurlcb.OPENSOCKETFUNCTION, refuse)
            ok = make_curl(srv.url("/fine"))
            results = await asyncio.gather(m.perform(c), m.perform(ok), return_exceptions=True)
            assert isinstance(results[0], pycurlcb.CurlConnectionError)
            assert results[0].code == pycurlcb.E_COULDNT_CONNECT
            assert results[1] is ok
            assert seen == [(pycurlcb.SOCKTYPE_IPCXN, ("127.0.0.1", srv.port))]
            assert srv.requests == ["/fine"]
            c.close()
            ok.close()

    run(main())


def test_opensocket_redirect_with_address_tuple(run: Runner[Any], refusing_port: int) -> None:
    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            made: list[socket.socket] = []

            def redirect(purpose: int, address: Any) -> Any:
                s = socket.socket(address.family, address.socktype, address.protocol)
                made.append(s)
                return s, ("127.0.0.1", srv.port)

            sink: list[bytes] = []
            c = make_curl(f"http://127.0.0.1:{refusing_port}/moved", sink)
            c.setopt(pycurlcb.OPENSOCKETFUNCTION, redirect)
            assert await m.perform(c) is c
            assert sink == [b"body of /moved"]
            c.close()
            for s in made:
                s.close()

    run(main())


# ---------------------------------------------------------------------------
# lifetimes


def test_multi_keeps_curls_alive(run: Runner[Any]) -> None:
    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            sinks: list[list[bytes]] = [[] for _ in range(5)]
            futures = []
            refs = []
            for i in range(5):
                c = make_curl(srv.url(f"/delay/{20 * i}"), sinks[i])
                refs.append(weakref.ref(c))
                futures.append(m.add_handle(c))
            del c  # only the multi (and its futures' results, later) hold them
            gc.collect()
            assert all(r() is not None for r in refs)
            curls = await asyncio.gather(*futures)
            assert curls == [r() for r in refs]
            assert [b"".join(s) for s in sinks] == [
                f"body of /delay/{20 * i}".encode() for i in range(5)
            ]
            for c in curls:
                c.close()

    run(main())


def test_closesocket_called_from_aclose_after_curl_closed(run: Runner[Any]) -> None:
    async def main() -> None:
        closed: list[int] = []
        opened: list[int] = []
        in_aclose = [False]

        def opensocket(purpose: int, address: Any) -> int:
            opened.append(
                socket.socket(address.family, address.socktype, address.protocol).detach()
            )
            return opened[-1]

        def closesocket(fd: int) -> int:
            assert in_aclose[0], "closed before aclose()"
            closed.append(fd)
            os.close(fd)
            return 0

        async with LoopServer() as srv:
            m = AsyncCurlMulti()
            c = make_curl(srv.url("/keep"))
            c.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
            c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
            await m.perform(c)
            c.close()  # the connection stays in the multi's cache
            del c, opensocket, closesocket
            gc.collect()
            assert closed == []
            in_aclose[0] = True
            await m.aclose()
            assert closed == opened and len(opened) == 1

    run(main())


def test_dropping_the_multi_mid_transfer_never_crashes(driver: str) -> None:
    # Every reference to the AsyncCurlMulti, its Curls and their callbacks
    # goes away while transfers are in flight, the loop closes, gc runs.
    code = textwrap.dedent(
        """
        import asyncio, gc, json, os, socket
        import pycurlcb

        async def main():
            lst = socket.socket()
            lst.bind(("127.0.0.1", 0))
            lst.listen()
            lst.setblocking(False)
            port = lst.getsockname()[1]
            m = pycurlcb.AsyncCurlMulti()
            futs = []
            for i in range(3):
                c = pycurlcb.Curl()
                c.setopt(pycurlcb.URL, "http://127.0.0.1:%d/" % port)
                c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
                c.setopt(pycurlcb.CLOSESOCKETFUNCTION, lambda fd: os.close(fd))
                futs.append(m.add_handle(c))
            del c, m
            await asyncio.sleep(0.2)
            del futs
            gc.collect()
            lst.close()

        loop = asyncio.new_event_loop()
        loop.set_exception_handler(lambda l, ctx: None)
        loop.run_until_complete(main())
        loop.close()
        gc.collect()
        print("survived")
        """
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["PYCURLCB_ASYNC_DRIVER"] = driver
    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "survived"
    assert "points to garbage" not in proc.stderr


def test_c_driver_freed_before_or_after_its_multi_never_crashes(driver: str) -> None:
    """The C driver's memory is released by ffi.gc in whatever order the
    collector picks: freed while its CurlMulti is still open with transfers
    (it removes its callbacks first), or after the CurlMulti was closed."""
    if driver != "epoll":
        pytest.skip("the C driver's lifetime")

    async def main(driver_first: bool) -> None:
        async with LoopServer() as srv:
            m = AsyncCurlMulti()
            curls = [make_curl(srv.url("/slow")) for _ in range(3)]
            for c in curls:
                m.add_handle(c)
            await wait_until(lambda: len(srv.requests) == 3)
            epoll, multi = m._epoll, m._multi
            assert epoll is not None
            asyncio.get_running_loop().remove_reader(epoll.fd)
            m._epoll = None
            m._closing = True
            if driver_first:
                del epoll  # pcb_aio_free with the multi open: callbacks removed first
                gc.collect()
                multi.close()  # curl_multi_cleanup calls no driver callback
            else:
                multi.close()  # POLL_REMOVE for each socket, into the live driver
                del epoll
                gc.collect()
            del m, multi
            gc.collect()
            for c in curls:
                c.close()

    run_default(main(True))
    run_default(main(False))


def test_unpausing_from_the_loop_resumes_the_transfer(run: Runner[Any]) -> None:
    """curl_easy_pause(PAUSE_CONT) from the loop (outside any call into
    libcurl) asks libcurl's timer for an immediate run: each driver must see
    it without another socket event (the C driver's timer is a timerfd)."""

    async def main() -> None:
        async with LoopServer() as srv, AsyncCurlMulti() as m:
            chunks: list[bytes] = []
            paused = asyncio.get_running_loop().create_future()

            def write(data: bytes) -> int:
                if not paused.done():
                    paused.set_result(None)
                    return pycurlcb.WRITEFUNC_PAUSE  # libcurl keeps the data for later
                chunks.append(data)
                return len(data)

            c = make_curl(srv.url("/paused"))
            c.setopt(pycurlcb.WRITEFUNCTION, write)
            fut = m.add_handle(c)
            await paused
            await asyncio.sleep(0.1)
            assert not fut.done() and chunks == []
            c.pause(pycurlcb.PAUSE_CONT)
            assert await asyncio.wait_for(fut, WAIT) is c
            assert b"".join(chunks) == b"body of /paused"
            c.close()

    run(main())


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_keyboard_interrupt_in_a_callback_leaves_the_loop_at_once(loop_name: str) -> None:
    """A KeyboardInterrupt raised by a Curl's callback leaves run_until_complete
    at once (the driving call raises it); the interrupted transfer's future is
    cancelled, not failed with it again; the others complete afterwards."""
    factory = asyncio.new_event_loop if loop_name == "asyncio" else _uvloop_factory()
    loop = factory()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))

    def interrupt(data: bytes) -> None:
        raise KeyboardInterrupt

    async def start() -> tuple[LoopServer, AsyncCurlMulti, list[Curl], list[asyncio.Future[Curl]]]:
        srv = await LoopServer().__aenter__()
        m = AsyncCurlMulti()
        curls = [make_curl(srv.url("/delay/300")) for _ in range(3)]
        bad = make_curl(srv.url("/now"))
        bad.setopt(pycurlcb.WRITEFUNCTION, interrupt)
        futures = [m.add_handle(c) for c in [*curls, bad]]
        return srv, m, [*curls, bad], futures

    try:
        srv, m, curls, futures = loop.run_until_complete(start())
        started = time.monotonic()
        everything = asyncio.gather(*futures, return_exceptions=True)
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(everything)
        assert time.monotonic() - started < 0.25  # not after the others' 300 ms
        assert not any(f.done() for f in futures[:3])
        results = loop.run_until_complete(
            asyncio.wait_for(asyncio.gather(*futures[:3], return_exceptions=True), WAIT)
        )
        assert results == curls[:3]
        loop.run_until_complete(wait_until(futures[3].done))
        assert futures[3].cancelled()
        assert isinstance(loop.run_until_complete(everything)[3], asyncio.CancelledError)
        assert m.futures() == ()
        loop.run_until_complete(m.aclose())
        loop.run_until_complete(srv.__aexit__())
        for c in curls:
            c.close()
    finally:
        loop.close()
    assert reported == []


@pytest.mark.usefixtures("sigint_raises")
def test_sigint_while_the_loop_waits_on_a_transfer(silent_server: Any) -> None:
    """Ctrl-C while the loop waits on a stalled transfer: KeyboardInterrupt
    within a second; aclose() then cleans up."""
    loop = asyncio.new_event_loop()
    m = AsyncCurlMulti()
    c = make_curl(f"http://{silent_server.host}:{silent_server.port}/never")
    main_thread = threading.get_ident()
    sent: list[float] = []

    def send() -> None:
        time.sleep(0.3)
        sent.append(time.monotonic())
        signal.pthread_kill(main_thread, signal.SIGINT)

    try:
        task = loop.create_task(m.perform(c))
        sender = threading.Thread(target=send)
        sender.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                loop.run_until_complete(task)
            caught = time.monotonic()
        finally:
            sender.join()
        assert caught - sent[0] < 1.0
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            loop.run_until_complete(task)
        loop.run_until_complete(m.aclose())
        assert m.closed and m._assigned_fds == set()
    finally:
        c.close()
        loop.close()
