"""AsyncCurlMulti under AnyIO, on its asyncio and its trio backend (anyio's pytest
plugin, ``@pytest.mark.anyio``), against conftest's threaded FastServer.

The same test code runs on both: AsyncCurlMulti picks the running library
itself (asyncio's futures on the asyncio backend, the trio side on the trio
backend).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

anyio = pytest.importorskip("anyio")
pytest.importorskip("trio")

import pycurlcb  # noqa: E402
from pycurlcb import AsyncCurlMulti, Curl, async_multi  # noqa: E402

pytestmark = pytest.mark.anyio
WAIT = 10.0


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_curl(url: str, sink: list[bytes] | None = None) -> Curl:
    c = Curl()
    c.setopt(pycurlcb.URL, url)
    c.setopt(pycurlcb.WRITEFUNCTION, (sink if sink is not None else []).append)
    return c


async def wait_until(predicate: Callable[[], bool]) -> None:
    """asyncio removes a cancelled transfer on the loop's next iteration; trio at once."""
    with anyio.fail_after(WAIT):
        while not predicate():
            await anyio.sleep(0.001)


def settled(m: AsyncCurlMulti) -> None:
    assert m._futures == {}
    assert m._assigned_fds == set()


async def test_100_transfers_10_at_a_time(fast_server: Any, anyio_backend: str) -> None:
    before = len(anyio.get_running_tasks())
    limiter = anyio.CapacityLimiter(10)
    bodies: list[bytes] = [b""] * 100
    with anyio.fail_after(WAIT):
        async with AsyncCurlMulti() as m:

            async def one(i: int) -> None:
                async with limiter:
                    assert len(m._futures) < 10
                    sink: list[bytes] = []
                    c = make_curl(fast_server.url(f"/n{i}"), sink)
                    try:
                        assert await m.perform(c) is c
                        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
                    finally:
                        c.close()
                    bodies[i] = b"".join(sink)

            async with anyio.create_task_group() as tg:
                for i in range(100):
                    tg.start_soon(one, i)
            settled(m)
            assert (m._trio is not None) == (anyio_backend == "trio")
    assert m.closed
    assert bodies == [f"fast:/n{i}".encode() for i in range(100)]
    assert len(anyio.get_running_tasks()) == before


@pytest.mark.parametrize("how", ["move_on_after", "fail_after", "cancel_scope"])
async def test_cancelling_one_transfer_leaves_the_others(fast_server: Any, how: str) -> None:
    with anyio.fail_after(WAIT):
        async with AsyncCurlMulti() as m:
            slow = [make_curl(fast_server.url("/delay/300")) for _ in range(3)]
            stalled = make_curl(fast_server.url("/stall"))
            done: list[Curl] = []

            async def fetch(c: Curl) -> None:
                done.append(await m.perform(c))

            async with anyio.create_task_group() as tg:
                for c in slow:
                    tg.start_soon(fetch, c)
                started = time.monotonic()
                if how == "move_on_after":
                    with anyio.move_on_after(0.1) as scope:
                        await m.perform(stalled)
                    assert scope.cancelled_caught
                elif how == "fail_after":
                    with pytest.raises(TimeoutError):
                        with anyio.fail_after(0.1):
                            await m.perform(stalled)
                else:
                    with anyio.CancelScope() as scope:

                        async def cancel_later() -> None:
                            await anyio.sleep(0.1)
                            scope.cancel()

                        tg.start_soon(cancel_later)
                        await m.perform(stalled)
                await wait_until(lambda: stalled not in m._futures)
                assert time.monotonic() - started < 0.25
                assert len(m._futures) == 3
            assert sorted(map(id, done)) == sorted(map(id, slow))
            stalled.setopt(pycurlcb.URL, fast_server.url("/again"))
            assert await m.perform(stalled) is stalled
            settled(m)
            for c in [*slow, stalled]:
                c.close()


async def test_a_failing_transfer_among_good_ones(fast_server: Any, refusing_port: int) -> None:
    class Boom(Exception):
        pass

    def explode(data: bytes) -> None:
        raise Boom

    with anyio.fail_after(WAIT):
        async with AsyncCurlMulti() as m:
            good = [make_curl(fast_server.url(f"/delay/{40 * i}")) for i in range(4)]
            bad = make_curl(fast_server.url("/now"))
            bad.setopt(pycurlcb.WRITEFUNCTION, explode)
            refused = make_curl(f"http://127.0.0.1:{refusing_port}/")
            outcomes: dict[int, Any] = {}

            async def fetch(c: Curl) -> None:
                try:
                    outcomes[id(c)] = await m.perform(c)
                except pycurlcb.error as exc:
                    outcomes[id(c)] = exc

            async with anyio.create_task_group() as tg:
                for c in [bad, refused, *good]:
                    tg.start_soon(fetch, c)
            assert all(outcomes[id(c)] is c for c in good)
            assert outcomes[id(bad)].args[0] == pycurlcb.E_WRITE_ERROR
            assert isinstance(outcomes[id(bad)].__cause__, Boom)
            assert outcomes[id(refused)].args[0] == pycurlcb.E_COULDNT_CONNECT
            settled(m)
            for c in [*good, bad, refused]:
                c.close()


async def test_libcurl_timeout_and_connection_limit(fast_server: Any) -> None:
    with anyio.fail_after(WAIT):
        async with AsyncCurlMulti() as m:
            m.setopt(pycurlcb.M_MAX_TOTAL_CONNECTIONS, 2)
            stalled = make_curl(fast_server.url("/stall"))
            stalled.setopt(pycurlcb.TIMEOUT_MS, 200)
            curls = [make_curl(fast_server.url("/delay/150")) for _ in range(2)]
            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                for c in curls:
                    tg.start_soon(m.perform, c)
                with pytest.raises(pycurlcb.error) as info:
                    await m.perform(stalled)  # waits for a connection: after the first two
            assert info.value.args[0] == pycurlcb.E_OPERATION_TIMEDOUT
            assert 0.3 < time.monotonic() - started < 1.5
            settled(m)
            for c in [*curls, stalled]:
                c.close()


async def test_closing_the_curl_fails_its_awaited_transfer(fast_server: Any) -> None:
    with anyio.fail_after(WAIT):
        async with AsyncCurlMulti() as m:
            stalled = make_curl(fast_server.url("/stall"))
            other = make_curl(fast_server.url("/delay/200"))
            async with anyio.create_task_group() as tg:
                tg.start_soon(m.perform, other)

                async def close_soon() -> None:
                    await anyio.sleep(0.1)
                    stalled.close()

                tg.start_soon(close_soon)
                with pytest.raises(pycurlcb.error) as info:
                    await m.perform(stalled)
                assert info.value.args == (async_multi.CURL_CLOSED,)
            settled(m)
            other.close()


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
def test_keyboard_interrupt_in_a_callback_leaves_anyio_run(fast_server: Any, anyio_backend: str) -> None:
    def interrupt(data: bytes) -> None:
        raise KeyboardInterrupt

    m = AsyncCurlMulti()
    curls = [make_curl(fast_server.url("/delay/300")) for _ in range(3)]
    bad = make_curl(fast_server.url("/now"))
    bad.setopt(pycurlcb.WRITEFUNCTION, interrupt)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for c in [*curls, bad]:
                tg.start_soon(m.perform, c)

    started = time.monotonic()
    with pytest.raises(BaseException) as info:
        anyio.run(main, backend=anyio_backend)
    assert _has(info.value, KeyboardInterrupt)
    assert time.monotonic() - started < 0.25
    anyio.run(m.aclose, backend=anyio_backend)
    assert m.closed and m._assigned_fds == set()
    for c in [*curls, bad]:
        c.close()


def _has(exc: BaseException, kind: type[BaseException]) -> bool:
    return isinstance(exc, kind) or any(_has(e, kind) for e in getattr(exc, "exceptions", ()))
