"""Threads and signals: many handles in many threads; Ctrl-C; cancelled awaits.

* 8 threads x 200 transfers, each thread with its own Curl and its own
  opensocket/sockopt/closesocket, a new connection per transfer: every body is
  right, and every callback ran in the thread of the handle it belongs to,
  with that handle's sockets (the server echoes the client port of each
  request; the socket closed by that handle's closesocket has that port).
* SIGINT while perform() waits on a server that never answers, with no
  callback set at all, raises KeyboardInterrupt within one second of the
  signal; the handle works afterwards.  A signal whose Python handler returns
  normally runs promptly and does not disturb the transfer.
* An awaited AsyncCurlMulti transfer to the silent server is cancelled
  cleanly: CancelledError, nothing left registered, the Curl performs again
  (on the multi and on its own), no fd left open.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from typing import Any

import pytest
from servers import FastServer

import pycurlcb
from pycurlcb import AsyncCurlMulti, Curl

N_THREADS = 8
N_TRANSFERS = 200
SIGNAL_AFTER = 0.3  # seconds into the stalled perform()
MAX_LATENCY = 1.0  # seconds from the signal to the KeyboardInterrupt


# ---------------------------------------------------------------------------
# threads


class ThreadCallbacks:
    """Socket callbacks of one thread's handle; they record what they saw."""

    def __init__(self) -> None:
        self.thread = 0  # set by the thread that owns the handle
        self.wrong_thread: list[tuple[str, int]] = []
        self.opened: list[int] = []
        self.sockopts: list[int] = []
        self.closed_ports: list[int] = []
        self.open_now: set[int] = set()

    def _check_thread(self, what: str) -> None:
        if threading.get_ident() != self.thread:
            self.wrong_thread.append((what, threading.get_ident()))

    def opensocket(self, purpose: Any, address: Any) -> int:
        self._check_thread("opensocket")
        fd = socket.socket(address.family, address.socktype, address.protocol).detach()
        self.opened.append(fd)
        self.open_now.add(fd)
        return fd

    def sockopt(self, fd: int, purpose: Any) -> int:
        self._check_thread("sockopt")
        assert fd in self.open_now, f"sockopt got fd {fd}, which this handle did not open"
        self.sockopts.append(fd)
        return pycurlcb.SOCKOPT_OK

    def closesocket(self, fd: int) -> int:
        self._check_thread("closesocket")
        assert fd in self.open_now, f"closesocket got fd {fd}, which this handle did not open"
        self.open_now.discard(fd)
        with socket.socket(fileno=os.dup(fd)) as sock:
            self.closed_ports.append(sock.getsockname()[1])
        os.close(fd)
        return 0


def test_eight_threads_each_with_its_own_handle_and_socket_callbacks(fast_server: FastServer) -> None:
    callbacks = [ThreadCallbacks() for _ in range(N_THREADS)]
    bodies: list[list[bytes]] = [[] for _ in range(N_THREADS)]
    failures: list[tuple[int, BaseException]] = []
    barrier = threading.Barrier(N_THREADS)

    def work(t: int) -> None:
        cb = callbacks[t]
        cb.thread = threading.get_ident()
        try:
            with Curl() as c:
                c.setopt(pycurlcb.OPENSOCKETFUNCTION, cb.opensocket)
                c.setopt(pycurlcb.SOCKOPTFUNCTION, cb.sockopt)
                c.setopt(pycurlcb.CLOSESOCKETFUNCTION, cb.closesocket)
                c.setopt(pycurlcb.FORBID_REUSE, 1)  # a new socket for every transfer
                c.setopt(pycurlcb.TIMEOUT_MS, 20000)
                barrier.wait()
                for j in range(N_TRANSFERS):
                    chunks: list[bytes] = []
                    c.setopt(pycurlcb.URL, fast_server.url(f"/whoami/t{t}-n{j}"))
                    c.setopt(pycurlcb.WRITEFUNCTION, chunks.append)
                    c.perform()
                    bodies[t].append(b"".join(chunks))
        except BaseException as exc:  # noqa: B036 - reported by the main thread
            failures.append((t, exc))

    threads = [threading.Thread(target=work, args=(t,), name=f"curl-{t}") for t in range(N_THREADS)]
    start = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    elapsed = time.monotonic() - start
    assert not any(th.is_alive() for th in threads), "a thread hung"
    assert failures == []
    assert fast_server.errors == []
    for t, cb in enumerate(callbacks):
        assert cb.wrong_thread == [], f"thread {t}'s callbacks ran elsewhere: {cb.wrong_thread[:5]}"
        assert len(bodies[t]) == N_TRANSFERS
        ports = []
        for j, body in enumerate(bodies[t]):
            path, _, port = body.decode().partition(" ")
            assert path == f"/whoami/t{t}-n{j}", (t, j, body)
            ports.append(int(port))
        assert len(cb.opened) == len(cb.sockopts) == len(cb.closed_ports) == N_TRANSFERS
        assert cb.sockopts == cb.opened  # sockopt saw each socket this handle opened, in order
        assert cb.open_now == set()
        # The socket the server answered on is the one this handle opened and closed.
        assert cb.closed_ports == ports, f"thread {t}: sockets crossed between handles"
    assert elapsed < 60, f"{N_THREADS * N_TRANSFERS} transfers took {elapsed:.1f} s"


# ---------------------------------------------------------------------------
# signals


def _signal_later(delay: float, signum: int, sent: list[float]) -> threading.Thread:
    main = threading.get_ident()

    def fire() -> None:
        time.sleep(delay)
        sent.append(time.monotonic())
        signal.pthread_kill(main, signum)

    th = threading.Thread(target=fire, name="signal-sender")
    th.start()
    return th


@pytest.mark.usefixtures("sigint_raises")
def test_sigint_interrupts_a_stalled_perform_with_no_callback_within_one_second(
    silent_server: Any, fast_server: FastServer
) -> None:
    host, port = silent_server
    latencies = []
    with Curl() as c:
        for attempt in range(3):
            c.setopt(pycurlcb.URL, f"http://{host}:{port}/stalled{attempt}")
            c.setopt(pycurlcb.TIMEOUT_MS, 15000)
            # No callback of any kind: nothing calls into Python while libcurl waits.
            sent: list[float] = []
            sender = _signal_later(SIGNAL_AFTER, signal.SIGINT, sent)
            try:
                with pytest.raises(KeyboardInterrupt):
                    c.perform()
                caught = time.monotonic()
            finally:
                sender.join()
            latencies.append(caught - sent[0])
            # The handle is usable afterwards (a write callback now, to see the body).
            chunks: list[bytes] = []
            c.setopt(pycurlcb.URL, fast_server.url("/after-sigint"))
            c.setopt(pycurlcb.WRITEFUNCTION, chunks.append)
            c.perform()
            assert b"".join(chunks) == b"fast:/after-sigint"
            assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
            c.unsetopt(pycurlcb.WRITEFUNCTION)
    assert max(latencies) < MAX_LATENCY, f"KeyboardInterrupt came {latencies} s after SIGINT"


def test_a_signal_handler_that_returns_does_not_disturb_perform(fast_server: FastServer) -> None:
    """SIGUSR1 with a Python handler that just records: the handler runs while
    perform() waits (within the 100 ms step), the transfer completes."""
    ran: list[float] = []
    old = signal.signal(signal.SIGUSR1, lambda signum, frame: ran.append(time.monotonic()))
    sent: list[float] = []
    try:
        with Curl() as c:
            chunks: list[bytes] = []
            c.setopt(pycurlcb.URL, fast_server.url("/delay/1200"))
            c.setopt(pycurlcb.WRITEFUNCTION, chunks.append)
            main = threading.get_ident()

            def fire() -> None:
                for _ in range(4):
                    time.sleep(0.2)
                    sent.append(time.monotonic())
                    signal.pthread_kill(main, signal.SIGUSR1)

            sender = threading.Thread(target=fire)
            sender.start()
            try:
                c.perform()
            finally:
                sender.join()
            assert b"".join(chunks) == b"delayed"
            assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert len(ran) == len(sent) == 4
    for s, r in zip(sent, ran):
        assert 0 <= r - s < 0.5, f"the handler ran {r - s:.3f} s after the signal"


# ---------------------------------------------------------------------------
# cancelling an awaited AsyncCurlMulti transfer


def test_cancelling_an_awaited_transfer_to_a_silent_server(
    silent_server: Any, fast_server: FastServer
) -> None:
    host, port = silent_server

    async def main() -> None:
        loop = asyncio.get_running_loop()
        c = Curl()
        chunks: list[bytes] = []
        c.setopt(pycurlcb.URL, f"http://{host}:{port}/never")
        c.setopt(pycurlcb.WRITEFUNCTION, chunks.append)
        c.setopt(pycurlcb.TIMEOUT_MS, 15000)
        async with AsyncCurlMulti() as m:
            task = asyncio.ensure_future(m.perform(c))
            await asyncio.sleep(SIGNAL_AFTER)
            assert not task.done()
            assert m.futures() != ()
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - started < 0.5
            assert task.cancelled()
            assert m.futures() == ()
            assert c not in m._multi  # removed from libcurl's multi
            assert m._assigned_fds == set()  # no fd left watched
            # The same Curl on the same multi: a complete transfer.
            c.setopt(pycurlcb.URL, fast_server.url("/after-cancel"))
            assert await asyncio.wait_for(m.perform(c), 10) is c
            assert b"".join(chunks) == b"fast:/after-cancel"
        assert m.closed
        # ... and on its own.
        del chunks[:]
        c.setopt(pycurlcb.URL, fast_server.url("/alone"))
        await loop.run_in_executor(None, c.perform)
        assert b"".join(chunks) == b"fast:/alone"
        c.close()

    loop = asyncio.new_event_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        loop.run_until_complete(asyncio.wait_for(main(), 30))
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
    assert reported == []


@pytest.mark.usefixtures("sigint_raises")
def test_sigint_while_awaiting_a_stalled_async_transfer(silent_server: Any, fast_server: FastServer) -> None:
    """Ctrl-C while the loop waits on AsyncCurlMulti: KeyboardInterrupt leaves
    run_until_complete within a second; then aclose() cleans up and the Curl
    works again."""
    host, port = silent_server
    loop = asyncio.new_event_loop()
    m = AsyncCurlMulti()
    c = Curl()
    chunks: list[bytes] = []
    c.setopt(pycurlcb.URL, f"http://{host}:{port}/never")
    c.setopt(pycurlcb.WRITEFUNCTION, chunks.append)
    c.setopt(pycurlcb.TIMEOUT_MS, 15000)
    sent: list[float] = []
    try:
        task = loop.create_task(m.perform(c))
        sender = _signal_later(SIGNAL_AFTER, signal.SIGINT, sent)
        try:
            with pytest.raises(KeyboardInterrupt):
                loop.run_until_complete(task)
            caught = time.monotonic()
        finally:
            sender.join()
        assert caught - sent[0] < MAX_LATENCY
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            loop.run_until_complete(task)
        loop.run_until_complete(m.aclose())
        assert m.closed
        c.setopt(pycurlcb.URL, fast_server.url("/after"))
        c.perform()
        assert b"".join(chunks) == b"fast:/after"
    finally:
        c.close()
        if not m.closed:
            loop.run_until_complete(m.aclose())
        loop.close()
