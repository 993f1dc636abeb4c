"""AsyncCurlMulti under trio, against conftest's threaded FastServer (routes /delay/<ms>,
/stall, ...): each test runs its own ``trio.run`` (no pytest-trio needed).

The epoll driver is the only one under trio (``driver="python"`` is refused);
every test also checks that no transfer, watched fd or task is left behind
(``settled``), besides conftest's fd-leak check.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable
from typing import Any, Callable, TypeVar

import pytest

trio = pytest.importorskip("trio")

import pycurlcb  # noqa: E402
from pycurlcb import AsyncCurlMulti, Curl, async_multi  # noqa: E402
from pycurlcb._async_trio import TRANSFER_REMOVED  # noqa: E402

pytestmark = pytest.mark.skipif("epoll" not in async_multi.DRIVERS, reason="trio needs the epoll driver")

T = TypeVar("T")
WAIT = 10.0  # seconds any test's trio.run may take


def run(fn: Callable[[], Awaitable[T]]) -> T:
    """``trio.run(fn)``, failing after WAIT seconds."""

    async def bounded() -> T:
        with trio.fail_after(WAIT):
            return await fn()

    return trio.run(bounded)  # type: ignore[no-any-return]


def make_curl(url: str, sink: list[bytes] | None = None) -> Curl:
    c = Curl()
    c.setopt(pycurlcb.URL, url)
    c.setopt(pycurlcb.WRITEFUNCTION, (sink if sink is not None else []).append)
    return c


def settled(m: AsyncCurlMulti) -> None:
    """Nothing left running or watched in ``m``."""
    assert m._futures == {}
    assert m._assigned_fds == set()
    assert m._trio is None or m._trio.leader is None


def tasks_living() -> int:
    return int(trio.lowlevel.current_statistics().tasks_living)


def has(exc: BaseException, kind: type[BaseException]) -> bool:
    """``exc`` is ``kind`` or a (nested) exception group holding one."""
    if isinstance(exc, kind):
        return True
    return any(has(e, kind) for e in getattr(exc, "exceptions", ()))


def test_import_pycurlcb_imports_neither_trio_nor_anyio() -> None:
    code = (
        "import sys, pycurlcb, pycurlcb.async_multi; "
        "print(sorted(m for m in ('trio', 'anyio', 'sniffio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_100_transfers_10_at_a_time(fast_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """100 transfers, at most 10 at a time (a CapacityLimiter): every one 200 with its
    body; never more than one task waiting on the epoll fd, and one does for a slow
    answer; no task, transfer or fd left afterwards."""
    waiting: list[int] = []
    most = 0
    wait_readable = trio.lowlevel.wait_readable

    async def counted(fd: int) -> None:
        nonlocal most
        waiting.append(fd)
        most = max(most, len(waiting))
        try:
            await wait_readable(fd)
        finally:
            waiting.remove(fd)

    monkeypatch.setattr(trio.lowlevel, "wait_readable", counted)

    async def main() -> list[bytes]:
        before = tasks_living()
        limiter = trio.CapacityLimiter(10)
        bodies: list[bytes] = [b""] * 100
        running = peak = 0
        async with AsyncCurlMulti() as m:

            async def one(i: int) -> None:
                nonlocal running, peak
                async with limiter:
                    running += 1
                    peak = max(peak, len(m._futures))
                    sink: list[bytes] = []
                    c = make_curl(fast_server.url(f"/n{i}"), sink)
                    try:
                        assert await m.perform(c) is c
                        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
                    finally:
                        c.close()
                        running -= 1
                    bodies[i] = b"".join(sink)

            async with trio.open_nursery() as nursery:
                for i in range(100):
                    nursery.start_soon(one, i)
            # Busy transfers can keep the leader driving without one wait (a
            # loaded machine's did); a slow answer leaves it nothing but the fd.
            slow = make_curl(fast_server.url("/delay/100"))
            assert await m.perform(slow) is slow
            slow.close()
            assert m.driver == "epoll"
            settled(m)
            assert 1 <= peak <= 10
        assert m.closed
        assert tasks_living() == before
        return bodies

    assert run(main) == [f"fast:/n{i}".encode() for i in range(100)]
    assert most == 1


@pytest.mark.parametrize("how", ["move_on_after", "fail_after", "cancel_scope"])
def test_cancelling_one_transfer_leaves_the_others_and_the_curl_reusable(fast_server: Any, how: str) -> None:
    async def main() -> None:
        async with AsyncCurlMulti() as m:
            slow = [make_curl(fast_server.url("/delay/300")) for _ in range(3)]
            stalled = make_curl(fast_server.url("/stall"))
            done: list[Curl] = []

            async def fetch(c: Curl) -> None:
                done.append(await m.perform(c))

            async with trio.open_nursery() as nursery:
                for c in slow:
                    nursery.start_soon(fetch, c)
                started = trio.current_time()
                if how == "move_on_after":
                    with trio.move_on_after(0.1) as scope:
                        await m.perform(stalled)
                    assert scope.cancelled_caught
                elif how == "fail_after":
                    with pytest.raises(trio.TooSlowError):
                        with trio.fail_after(0.1):
                            await m.perform(stalled)
                else:
                    with trio.CancelScope() as scope:
                        nursery.start_soon(_cancel_later, scope, 0.1)
                        await m.perform(stalled)
                assert trio.current_time() - started < 0.25
                assert stalled not in m._futures  # removed at once
                assert len(m._futures) == 3  # the others go on
            assert sorted(map(id, done)) == sorted(map(id, slow))
            # the cancelled Curl can be used again at once
            stalled.setopt(pycurlcb.URL, fast_server.url("/again"))
            assert await m.perform(stalled) is stalled
            settled(m)
            for c in [*slow, stalled]:
                c.close()

    run(main)


async def _cancel_later(scope: Any, seconds: float) -> None:
    await trio.sleep(seconds)
    scope.cancel()


def test_cancelling_the_task_that_waits_on_the_fd_hands_the_wait_on(fast_server: Any) -> None:
    """The first perform()'s task waits on the epoll fd; cancelling it (or its transfer
    ending first) hands the wait to another task, whose transfer still completes."""

    async def main() -> None:
        async with AsyncCurlMulti() as m:
            first = make_curl(fast_server.url("/stall"))
            quick = make_curl(fast_server.url("/now"))
            later = make_curl(fast_server.url("/delay/200"))
            results: list[Curl] = []

            async def fetch(c: Curl) -> None:
                results.append(await m.perform(c))

            async with trio.open_nursery() as nursery:
                with trio.move_on_after(0.1):
                    nursery.start_soon(fetch, quick)
                    nursery.start_soon(fetch, later)
                    await m.perform(first)  # this task leads: it started first
            assert results == [quick, later]
            settled(m)
            for c in (first, quick, later):
                c.close()

    run(main)


def test_a_failing_transfer_among_good_ones(fast_server: Any, refusing_port: int) -> None:
    """An exception in one Curl's write callback fails that transfer alone with
    pycurlcb.error whose __cause__ it is; a refused connection fails its own."""

    class Boom(Exception):
        pass

    def explode(data: bytes) -> None:
        raise Boom("from the write callback")

    async def main() -> None:
        async with AsyncCurlMulti() as m:
            good = [make_curl(fast_server.url(f"/delay/{50 * i}")) for i in range(4)]
            bad = make_curl(fast_server.url("/now"))
            bad.setopt(pycurlcb.WRITEFUNCTION, explode)
            refused = make_curl(f"http://127.0.0.1:{refusing_port}/")
            outcomes: dict[int, Any] = {}

            async def fetch(c: Curl) -> None:
                try:
                    outcomes[id(c)] = await m.perform(c)
                except pycurlcb.error as exc:
                    outcomes[id(c)] = exc

            async with trio.open_nursery() as nursery:
                for c in [bad, refused, *good]:
                    nursery.start_soon(fetch, c)
            assert all(outcomes[id(c)] is c for c in good)
            failed = outcomes[id(bad)]
            assert failed.args[0] == pycurlcb.E_WRITE_ERROR
            assert isinstance(failed.__cause__, Boom)
            assert isinstance(outcomes[id(refused)], ConnectionError)
            assert outcomes[id(refused)].args[0] == pycurlcb.E_COULDNT_CONNECT
            settled(m)
            for c in [*good, bad, refused]:
                c.close()

    run(main)


def test_libcurl_timeouts_fire_under_trio(fast_server: Any) -> None:
    """TIMEOUT_MS on a stalled transfer: libcurl's timer (the timerfd in the epoll set)
    ends it on time with E_OPERATION_TIMEDOUT, while another transfer completes."""

    async def main() -> None:
        async with AsyncCurlMulti() as m:
            stalled = make_curl(fast_server.url("/stall"))
            stalled.setopt(pycurlcb.TIMEOUT_MS, 200)
            fine = make_curl(fast_server.url("/delay/50"))
            started = trio.current_time()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(m.perform, fine)
                with pytest.raises(pycurlcb.error) as info:
                    await m.perform(stalled)
            elapsed = trio.current_time() - started
            assert info.value.args[0] == pycurlcb.E_OPERATION_TIMEDOUT
            assert 0.19 < elapsed < 1.0
            settled(m)
            stalled.close()
            fine.close()

    run(main)


def test_max_total_connections_passes_through(fast_server: Any) -> None:
    async def main() -> float:
        async with AsyncCurlMulti() as m:
            m.setopt(pycurlcb.M_MAX_TOTAL_CONNECTIONS, 2)
            curls = [make_curl(fast_server.url("/delay/150")) for _ in range(6)]
            started = trio.current_time()
            async with trio.open_nursery() as nursery:
                for c in curls:
                    nursery.start_soon(m.perform, c)
            for c in curls:
                c.close()
            return float(trio.current_time() - started)

    assert run(main) >= 0.44  # three rounds of two, not one round of six


def test_closing_the_curl_fails_its_awaited_transfer(fast_server: Any) -> None:
    async def main() -> None:
        async with AsyncCurlMulti() as m:
            stalled = make_curl(fast_server.url("/stall"))
            other = make_curl(fast_server.url("/delay/200"))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(m.perform, other)

                async def close_soon() -> None:
                    await trio.sleep(0.1)
                    stalled.close()

                nursery.start_soon(close_soon)
                with pytest.raises(pycurlcb.error) as info:
                    await m.perform(stalled)
                assert info.value.args == (async_multi.CURL_CLOSED,)
            settled(m)
            other.close()

    run(main)


def test_closing_the_curlmulti_under_it_fails_every_awaited_transfer(fast_server: Any) -> None:
    async def main() -> None:
        m = AsyncCurlMulti()
        curls = [make_curl(fast_server.url("/stall")) for _ in range(3)]
        errors: list[BaseException] = []

        async def fetch(c: Curl) -> None:
            try:
                await m.perform(c)
            except pycurlcb.error as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            for c in curls:
                nursery.start_soon(fetch, c)
            await trio.sleep(0.1)
            curls[0].multi().close()
        assert [e.args for e in errors] == [(async_multi.MULTI_CLOSED,)] * 3
        assert m.closed
        settled(m)
        with pytest.raises(RuntimeError, match="closed"):
            await m.perform(curls[0])
        await m.aclose()
        for c in curls:
            c.close()

    run(main)


@pytest.mark.parametrize("how", ["remove_handle", "aclose"])
def test_remove_handle_and_aclose_end_the_awaits_with_transfer_removed(fast_server: Any, how: str) -> None:
    async def main() -> None:
        m = AsyncCurlMulti(close_handles=how == "aclose")
        curls = [make_curl(fast_server.url("/stall")) for _ in range(2)]
        errors: list[BaseException] = []

        async def fetch(c: Curl) -> None:
            try:
                await m.perform(c)
            except pycurlcb.error as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            for c in curls:
                nursery.start_soon(fetch, c)
            await trio.sleep(0.1)
            if how == "remove_handle":
                for c in curls:
                    m.remove_handle(c)
            else:
                await m.aclose()
        assert [e.args for e in errors] == [(TRANSFER_REMOVED,)] * 2
        settled(m)
        await m.aclose()
        assert m.closed
        for c in curls:
            if how == "aclose":
                with pytest.raises(pycurlcb.error):
                    c.perform()  # closed by close_handles
            c.close()

    run(main)


def test_add_handle_and_futures_point_to_perform_under_trio(fast_server: Any) -> None:
    async def main() -> None:
        async with AsyncCurlMulti() as m:
            c = make_curl(fast_server.url("/now"))
            with pytest.raises(RuntimeError, match=r"await multi\.perform\(curl\)"):
                m.add_handle(c)
            with pytest.raises(RuntimeError, match=r"await multi\.perform\(curl\)"):
                m.futures()
            assert await m.perform(c) is c
            c.setopt(pycurlcb.URL, fast_server.url("/delay/100"))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(m.perform, c)
                await trio.sleep(0.02)
                with pytest.raises(RuntimeError, match="already registered"):
                    await m.perform(c)
            c.close()
            settled(m)

    run(main)


def test_setopt_refuses_the_drivers_options_and_python_driver_is_refused() -> None:
    async def main() -> None:
        m = AsyncCurlMulti(driver="python") if "python" in async_multi.DRIVERS else None
        if m is not None:
            with pytest.raises(RuntimeError, match="needs the epoll driver"):
                await m.perform(Curl())
            await m.aclose()
        async with AsyncCurlMulti() as m2:
            with pytest.raises(ValueError):
                m2.setopt(pycurlcb.M_SOCKETFUNCTION, lambda *a: None)

    run(main)


def test_bound_to_its_first_trio_run(fast_server: Any) -> None:
    m = AsyncCurlMulti()
    c = make_curl(fast_server.url("/now"))

    async def once() -> None:
        assert await m.perform(c) is c

    run(once)
    with pytest.raises(RuntimeError, match="different event loop"):
        run(once)
    run(m.aclose)
    c.close()


def test_keyboard_interrupt_in_a_callback_leaves_trio_run_at_once(fast_server: Any) -> None:
    """A KeyboardInterrupt raised in a Curl's callback comes out of trio.run at once
    (possibly in an exception group); every transfer is removed on the way out."""

    def interrupt(data: bytes) -> None:
        raise KeyboardInterrupt

    m = AsyncCurlMulti()
    curls = [make_curl(fast_server.url("/delay/300")) for _ in range(3)]
    bad = make_curl(fast_server.url("/now"))
    bad.setopt(pycurlcb.WRITEFUNCTION, interrupt)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for c in [*curls, bad]:
                nursery.start_soon(m.perform, c)

    started = time.monotonic()
    with pytest.raises(BaseException) as info:
        trio.run(main)
    assert has(info.value, KeyboardInterrupt)
    assert time.monotonic() - started < 0.25  # not after the others' 300 ms
    settled(m)
    run(m.aclose)
    for c in [*curls, bad]:
        c.close()


@pytest.mark.usefixtures("sigint_raises")
def test_sigint_while_trio_waits_on_a_transfer(fast_server: Any) -> None:
    """Ctrl-C while the only task waits on a stalled transfer: KeyboardInterrupt within
    a second; the transfer is removed, aclose() then has nothing left."""
    m = AsyncCurlMulti()
    c = make_curl(fast_server.url("/stall"))
    main_thread = threading.get_ident()
    sent: list[float] = []

    def send() -> None:
        time.sleep(0.3)
        sent.append(time.monotonic())
        signal.pthread_kill(main_thread, signal.SIGINT)

    async def main() -> None:
        await m.perform(c)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        with pytest.raises(BaseException) as info:
            trio.run(main)
        caught = time.monotonic()
    finally:
        sender.join()
    assert has(info.value, KeyboardInterrupt)
    assert caught - sent[0] < 1.0
    settled(m)
    run(m.aclose)
    assert m.closed
    c.close()
