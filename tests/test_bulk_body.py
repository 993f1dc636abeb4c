"""Bulk bodies: perform() buffers the body for a file-like WRITEDATA object.

libcurl writes into a C buffer of the handle's (ffi/src/bulk.c) and
``obj.write`` is called once per ~1 MiB instead of once per chunk (<= 16 KiB).
Checked against real local servers (``fast_server``: one sendall per response;
a streaming server of this file's own that notices when the client goes away):
bodies identical whatever their size, the number of write() calls, the
exception contract (a raising or short write stops the transfer with
E_WRITE_ERROR), and that every case that must keep per-chunk calls does
(WRITEFUNCTION, CurlMulti, a HEADERFUNCTION, pause()), and the buffer's
lifetime across reset(), duphandle() and close().  The same for a Curl in a
CurlMulti (perform(), socket_action() through AsyncCurlMulti's Python driver,
and AsyncCurlMulti's epoll driver): its buffer is drained at the end of every
driving call, and a failed drain fails that transfer alone.
"""

from __future__ import annotations

import asyncio
import gc
import io
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from servers import FastServer, body_of

import pycurlcb

MiB = 1024 * 1024
SIZES = (0, 1, 16 * 1024, MiB - 1, MiB, MiB + 1, 5 * MiB)


class Recorder:
    """A plain object with a write method: records what it is given."""

    def __init__(self, result: Any = None) -> None:
        self.calls: list[Any] = []
        self.result = result

    def write(self, data: Any) -> Any:
        self.calls.append(data)
        return self.result

    @property
    def data(self) -> bytes:
        return b"".join(bytes(c) for c in self.calls)


def _curl(url: str, target: Any) -> pycurlcb.Curl:
    c = pycurlcb.Curl()
    c.setopt(pycurlcb.URL, url)
    c.setopt(pycurlcb.WRITEDATA, target)
    return c


#: How a CurlMulti's transfers are driven: CurlMulti.perform() and select(),
#: or AsyncCurlMulti with each of its drivers (the Python one calls socket_action()).
MULTI_DRIVERS = ("perform", "epoll", "python")


#: Whether a Curl in a CurlMulti buffers its body: the loaded libcurl hands a
#: plain HTTP transfer several chunks per driving call from 7.88 on (multi.py).
MULTI_BULK = pycurlcb.version_info()[2] >= 0x075800


@pytest.fixture
def driving_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One item per driving call of any CurlMulti during the test: perform(),
    socket_action() (AsyncCurlMulti's Python driver) and the C driver's wake-ups."""
    calls: list[str] = []
    for name in ("perform", "socket_action", "_drive_with"):
        original = getattr(pycurlcb.CurlMulti, name)

        def counted(self: Any, *args: Any, _name: str = name, _original: Any = original) -> Any:
            calls.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(pycurlcb.CurlMulti, name, counted)
    return calls


def _run_multi(driver: str, curls: list[pycurlcb.Curl]) -> dict[pycurlcb.Curl, BaseException | None]:
    """Run ``curls``' transfers on one multi driven by ``driver`` until all are
    done: None for a Curl whose transfer succeeded, else the error it failed
    with (``pycurlcb.error``, ``callback_error`` as its ``__cause__``)."""
    if driver == "perform":
        results: dict[pycurlcb.Curl, BaseException | None] = {}
        with pycurlcb.CurlMulti() as m:
            for c in curls:
                m.add_handle(c)
            end = time.monotonic() + 30
            while len(results) < len(curls):
                assert time.monotonic() < end
                running = m.perform()[1]
                _, ok, err = m.info_read()
                results.update((c, None) for c in ok)
                for c, code, message in err:
                    exc = pycurlcb.error(code, message)
                    exc.__cause__ = c.callback_error
                    results[c] = exc
                if running:
                    m.select(0.5)
            for c in curls:
                m.remove_handle(c)
        return results

    async def main() -> list[Any]:
        async with pycurlcb.AsyncCurlMulti(driver=driver) as m:
            return await asyncio.gather(*(m.perform(c) for c in curls), return_exceptions=True)

    outcome = asyncio.run(main())
    return {c: None if r is c else r for c, r in zip(curls, outcome)}


@pytest.mark.parametrize("size", SIZES)
def test_bytesio_body_identical(fast_server: FastServer, size: int) -> None:
    body = io.BytesIO()
    with _curl(fast_server.url(f"/body/{size}"), body) as c:
        c.perform()
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
    assert body.getvalue() == body_of(size)


@pytest.mark.parametrize("size", SIZES)
def test_plain_object_gets_bytes(fast_server: FastServer, size: int) -> None:
    rec = Recorder()
    with _curl(fast_server.url(f"/body/{size}"), rec) as c:
        c.perform()
    assert all(type(chunk) is bytes for chunk in rec.calls)
    assert rec.data == body_of(size)


def test_five_mib_in_few_writes(fast_server: FastServer) -> None:
    rec = Recorder()
    with _curl(fast_server.url(f"/body/{5 * MiB}"), rec) as c:
        c.perform()
    assert rec.data == body_of(5 * MiB)
    assert 1 <= len(rec.calls) <= 6, [len(x) for x in rec.calls]


def test_bytesio_gets_few_writes_of_a_view(fast_server: FastServer) -> None:
    """io.BytesIO copies what it is given: flushes pass it a memoryview of the C
    buffer (no bytes object is made); its write is a C function, so the calls
    are counted with a profile hook."""
    body = io.BytesIO()
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "c_call" and getattr(arg, "__qualname__", "") == "BytesIO.write":
            calls += 1

    with _curl(fast_server.url(f"/body/{5 * MiB}"), body) as c:
        assert c._bulk_mv
        import sys

        sys.setprofile(profile)
        try:
            c.perform()
        finally:
            sys.setprofile(None)
    assert body.getvalue() == body_of(5 * MiB)
    assert 1 <= calls <= 6


def test_a_write_replaced_on_the_instance_gets_bytes(fast_server: FastServer) -> None:
    """A BytesIO whose write is replaced on the instance is a plain object: bytes, as pycurl gives."""
    body = io.BytesIO()
    kinds: list[type] = []

    def write(data: Any) -> int:
        kinds.append(type(data))
        return io.BytesIO.write(body, data)

    body.write = write  # type: ignore[method-assign]
    with _curl(fast_server.url(f"/body/{MiB}"), body) as c:
        c.perform()
    assert body.getvalue() == body_of(MiB)
    assert kinds and set(kinds) == {bytes}


def test_binary_file(fast_server: FastServer, tmp_path: Any) -> None:
    path = tmp_path / "body"
    with open(path, "wb") as f, _curl(fast_server.url(f"/body/{3 * MiB + 5}"), f) as c:
        assert c._bulk_mv
        c.perform()
    assert path.read_bytes() == body_of(3 * MiB + 5)


def test_user_writefunction_per_chunk(fast_server: FastServer) -> None:
    rec = Recorder()
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, fast_server.url(f"/body/{MiB}"))
        c.setopt(pycurlcb.WRITEDATA, io.BytesIO())
        c.setopt(pycurlcb.WRITEFUNCTION, rec.write)  # the later option wins
        c.perform()
    assert rec.data == body_of(MiB)
    assert len(rec.calls) >= MiB // (16 * 1024)
    assert max(len(x) for x in rec.calls) <= 16 * 1024


def test_headerfunction_keeps_per_chunk_order(fast_server: FastServer) -> None:
    """A callback that runs while the body arrives turns buffering off: headers
    and body reach a shared object in the order libcurl delivers them."""
    rec = Recorder()
    with _curl(fast_server.url(f"/body/{MiB}"), rec) as c:
        c.setopt(pycurlcb.HEADERFUNCTION, rec.write)
        c.perform()
    assert len(rec.calls) > MiB // (16 * 1024)
    assert rec.data.endswith(body_of(MiB))
    assert rec.data.startswith(b"HTTP/1.1 200")


def test_curlmulti_with_a_headerfunction_per_chunk(fast_server: FastServer) -> None:
    rec = Recorder()
    c = _curl(fast_server.url(f"/body/{MiB}"), rec)
    c.setopt(pycurlcb.HEADERFUNCTION, lambda line: None)
    results = _run_multi("perform", [c])
    c.close()
    assert results[c] is None
    assert rec.data == body_of(MiB)
    assert len(rec.calls) >= MiB // (16 * 1024)


def test_perform_rb_ignores_writedata(fast_server: FastServer) -> None:
    rec = Recorder()
    with _curl(fast_server.url(f"/body/{MiB}"), rec) as c:
        assert c.perform_rb() == body_of(MiB)
        assert rec.calls == []
        c.perform()  # WRITEDATA again afterwards
    assert rec.data == body_of(MiB)


# --- in a CurlMulti -------------------------------------------------------------------


@pytest.mark.parametrize("driver", MULTI_DRIVERS)
def test_curlmulti_bodies_identical_in_few_writes(
    fast_server: FastServer, driver: str, driving_calls: list[str]
) -> None:
    """Concurrent transfers each get exactly their body; a plain object gets
    bytes, a BytesIO views; at most one write per driving call (plus one per
    full 1 MiB buffer), not one per 16 KiB chunk.  Before libcurl 7.88 a
    multi's transfers write per chunk (multi.py: _MULTI_BULK)."""
    sizes = (0, 1, MiB + 1, 5 * MiB)
    targets: list[Any] = [Recorder(), io.BytesIO(), Recorder(), Recorder()]
    curls = [_curl(fast_server.url(f"/body/{n}"), t) for n, t in zip(sizes, targets)]
    results = _run_multi(driver, curls)
    for c in curls:
        c.close()
    assert all(r is None for r in results.values()), results
    for size, target in zip(sizes, targets):
        data = target.getvalue() if isinstance(target, io.BytesIO) else target.data
        assert data == body_of(size)
    assert all(type(chunk) is bytes for chunk in targets[3].calls)
    big = targets[3].calls
    per_chunk = 5 * MiB // (16 * 1024)
    if MULTI_BULK:
        assert len(big) <= len(driving_calls) + 5
        assert len(big) < per_chunk // 2
    else:
        assert len(big) >= per_chunk


@pytest.mark.parametrize("driver", ("perform", "python"))
def test_curlmulti_obj_has_every_byte_after_each_driving_call(stalling_server: str, driver: str) -> None:
    """What arrived reaches obj.write before the driving call returns: a stalled
    stream is not held back until 1 MiB or the end of the transfer."""
    rec = Recorder()
    c = _curl(stalling_server, rec)
    if driver == "perform":
        with pycurlcb.CurlMulti() as m:
            m.add_handle(c)
            end = time.monotonic() + 10
            while len(rec.data) < 100 * 1024:
                assert time.monotonic() < end, len(rec.data)
                assert m.perform()[1] == 1
                m.select(0.1)
            m.remove_handle(c)
    else:

        async def main() -> None:
            async with pycurlcb.AsyncCurlMulti(driver=driver) as m:
                future = m.add_handle(c)
                end = time.monotonic() + 10
                while len(rec.data) < 100 * 1024:
                    assert time.monotonic() < end, len(rec.data)
                    await asyncio.sleep(0.01)
                assert not future.done()

        asyncio.run(main())
    c.close()
    assert rec.data == body_of(100 * 1024)


@pytest.mark.parametrize("driver", MULTI_DRIVERS)
def test_curlmulti_write_raising_fails_only_that_transfer(
    streaming_server: dict[str, Any], fast_server: FastServer, driver: str
) -> None:
    boom = RuntimeError("disk full")

    class Failing(Recorder):
        def write(self, data: Any) -> Any:
            self.calls.append(data)
            raise boom

    rec, other = Failing(), io.BytesIO()
    failing = _curl(streaming_server["url"], rec)
    fine = _curl(fast_server.url(f"/body/{3 * MiB}"), other)
    results = _run_multi(driver, [failing, fine])
    exc = results[failing]
    assert isinstance(exc, pycurlcb.error)
    assert exc.args[0] == pycurlcb.E_WRITE_ERROR
    assert exc.__cause__ is boom
    assert failing.callback_error is boom
    assert len(rec.calls) == 1
    assert results[fine] is None
    assert other.getvalue() == body_of(3 * MiB)
    assert streaming_server["closed"].wait(10)  # the connection was dropped, not drained
    assert streaming_server["sent"] < 64 * MiB
    failing.close()
    fine.close()


@pytest.mark.parametrize("driver", MULTI_DRIVERS)
@pytest.mark.parametrize("result", ["raise", 0, 3])
def test_curlmulti_write_failing_after_the_last_chunk(
    fast_server: FastServer, driver: str, result: Any
) -> None:
    """A body smaller than the buffer reaches obj.write only after libcurl
    finished the transfer: the write's failure still fails it (info_read's
    error list), not the driving call."""
    boom = ValueError("nope")

    class Failing(Recorder):
        def write(self, data: Any) -> Any:
            self.calls.append(data)
            if result == "raise":
                raise boom
            return result

    rec = Failing()
    c = _curl(fast_server.url("/body/100"), rec)
    exc = _run_multi(driver, [c])[c]
    assert isinstance(exc, pycurlcb.error)
    assert exc.args[0] == pycurlcb.E_WRITE_ERROR
    assert exc.__cause__ is (boom if result == "raise" else None)
    assert rec.data == body_of(100)
    # the handle is usable again, on its own or in a multi
    body = io.BytesIO()
    c.setopt(pycurlcb.WRITEDATA, body)
    c.perform()
    assert _run_multi(driver, [c]) == {c: None}
    c.close()
    assert body.getvalue() == body_of(100) * 2


@pytest.mark.parametrize("size", [100, 3 * MiB])
def test_curlmulti_keyboard_interrupt_from_write(fast_server: FastServer, size: int) -> None:
    class Interrupting:
        def write(self, data: Any) -> None:
            raise KeyboardInterrupt

    c = _curl(fast_server.url(f"/body/{size}"), Interrupting())
    with pycurlcb.CurlMulti() as m:
        m.add_handle(c)
        with pytest.raises(KeyboardInterrupt):
            end = time.monotonic() + 10
            while m.perform()[1] and time.monotonic() < end:
                m.select(0.5)
            # a 100-byte body: libcurl finished it before the drain raised
            m.perform()
    c.close()


def test_curlmulti_puts_the_write_callback_back(fast_server: FastServer) -> None:
    """Out of the multi, the Curl's next transfer that may not buffer (a
    HEADERFUNCTION is set) writes per chunk through its own callback."""
    rec = Recorder()
    c = _curl(fast_server.url(f"/body/{MiB}"), rec)
    assert _run_multi("perform", [c]) == {c: None}
    in_multi = len(rec.calls)
    assert in_multi < MiB // (16 * 1024) // 2 or not MULTI_BULK
    c.setopt(pycurlcb.HEADERFUNCTION, lambda line: None)
    c.perform()
    assert len(rec.calls) - in_multi >= MiB // (16 * 1024)
    assert rec.data == body_of(MiB) * 2
    c.close()


def test_curlmulti_pause_between_driving_calls_keeps_bytes(fast_server: FastServer) -> None:
    """pause()/unpause of a transfer from outside its callbacks (an event loop
    pausing it): the bytes libcurl holds back and delivers later all reach
    obj, in order."""
    rec = Recorder()
    c = _curl(fast_server.url(f"/body/{3 * MiB}"), rec)
    with pycurlcb.CurlMulti() as m:
        m.add_handle(c)
        end = time.monotonic() + 10
        while not rec.calls:
            assert time.monotonic() < end
            m.perform()
            m.select(0.1)
        c.pause(pycurlcb.PAUSE_ALL)
        for _ in range(3):
            m.perform()
        c.pause(pycurlcb.PAUSE_CONT)
        while m.perform()[1]:
            assert time.monotonic() < end
            m.select(0.1)
        _, ok, err = m.info_read()
        assert (ok, err) == ([c], [])
        m.remove_handle(c)
    c.close()
    assert rec.data == body_of(3 * MiB)


@pytest.mark.parametrize("how", ["close", "remove", "close-multi"])
def test_curlmulti_stalled_transfer_ended_early(stalling_server: str, how: str) -> None:
    """A Curl closed or removed mid-transfer, or its multi closed: what arrived
    was written, nothing is written after, and the Curl is usable (or closed)."""
    rec = Recorder()
    c = _curl(stalling_server, rec)
    m = pycurlcb.CurlMulti()
    m.add_handle(c)
    end = time.monotonic() + 10
    while len(rec.data) < 100 * 1024:
        assert time.monotonic() < end
        m.perform()
        m.select(0.1)
    if how == "close":
        c.close()
        m.perform()
    elif how == "remove":
        m.remove_handle(c)
    m.close()
    assert rec.data == body_of(100 * 1024)
    if how != "close":
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
        c.close()


# --- the exception contract ----------------------------------------------------------


@pytest.fixture
def stalling_server() -> Iterator[str]:
    """One connection: headers announcing 10 MiB, 100 KiB of body, then nothing
    until the client goes away."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {10 * MiB}\r\n\r\n".encode())
            conn.sendall(body_of(100 * 1024))
            conn.settimeout(30)
            try:
                while conn.recv(65536):
                    pass
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        thread.join(10)
        listener.close()


@pytest.mark.usefixtures("sigint_raises")
def test_stalled_body_reaches_obj_and_ctrl_c_stops(stalling_server: str) -> None:
    """What has arrived reaches obj.write between perform()'s 100 ms steps (a
    stalled stream is not held back until 1 MiB), and Ctrl-C still stops it."""
    rec = Recorder()
    seen: list[float] = []

    class Timed(Recorder):
        def write(self, data: Any) -> None:
            seen.append(time.monotonic())
            rec.write(data)

    timer = threading.Timer(1.0, signal.pthread_kill, (threading.get_ident(), signal.SIGINT))
    with _curl(stalling_server, Timed()) as c:
        start = time.monotonic()
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                c.perform()
        finally:
            timer.cancel()
    assert rec.data == body_of(100 * 1024)
    assert seen and seen[0] - start < 0.9


@pytest.fixture
def streaming_server() -> Iterator[dict[str, Any]]:
    """One connection: a 64 MiB response sent in 64 KiB pieces; ``closed`` is set
    when a send fails because the client went away, ``sent`` counts bytes."""
    listener = socket.create_server(("127.0.0.1", 0))
    state: dict[str, Any] = {"closed": threading.Event(), "sent": 0,
                             "url": f"http://127.0.0.1:{listener.getsockname()[1]}/"}
    total = 64 * MiB

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode())
            piece = body_of(64 * 1024)
            try:
                while state["sent"] < total:
                    conn.sendall(piece)
                    state["sent"] += len(piece)
            except OSError:
                state["closed"].set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        thread.join(10)
        listener.close()


def test_write_raising_stops_transfer(streaming_server: dict[str, Any]) -> None:
    boom = RuntimeError("disk full")

    class Failing(Recorder):
        def write(self, data: Any) -> Any:
            self.calls.append(data)
            raise boom

    rec = Failing()
    with _curl(streaming_server["url"], rec) as c:
        with pytest.raises(pycurlcb.error) as info:
            c.perform()
        assert info.value.args[0] == pycurlcb.E_WRITE_ERROR
        assert info.value.__cause__ is boom
        assert len(rec.calls) == 1
    assert streaming_server["closed"].wait(10)
    assert streaming_server["sent"] < 64 * MiB


def test_short_write_mid_body(streaming_server: dict[str, Any]) -> None:
    rec = Recorder(result=0)
    with _curl(streaming_server["url"], rec) as c:
        with pytest.raises(pycurlcb.error) as info:
            c.perform()
    assert info.value.args[0] == pycurlcb.E_WRITE_ERROR
    assert info.value.__cause__ is None  # as pycurl: a short write is libcurl's error
    assert len(rec.calls) == 1
    assert streaming_server["closed"].wait(10)


@pytest.mark.parametrize("result", [3, 0, -1])
def test_short_write_at_the_end(fast_server: FastServer, result: int) -> None:
    rec = Recorder(result=result)
    with _curl(fast_server.url("/body/10"), rec) as c:
        with pytest.raises(pycurlcb.error) as info:
            c.perform()
    assert info.value.args[0] == pycurlcb.E_WRITE_ERROR
    assert len(rec.calls) == 1


def test_full_length_return_is_fine(fast_server: FastServer) -> None:
    class Counting(Recorder):
        def write(self, data: Any) -> int:
            self.calls.append(data)
            return len(data)

    rec = Counting()
    with _curl(fast_server.url(f"/body/{2 * MiB + 3}"), rec) as c:
        c.perform()
    assert rec.data == body_of(2 * MiB + 3)


def test_write_raising_at_the_end(fast_server: FastServer) -> None:
    boom = ValueError("nope")

    class Failing:
        def write(self, data: Any) -> None:
            raise boom

    with _curl(fast_server.url("/body/100"), Failing()) as c:
        with pytest.raises(pycurlcb.error) as info:
            c.perform()
        assert info.value.args[0] == pycurlcb.E_WRITE_ERROR
        assert info.value.__cause__ is boom
        # the handle is usable again
        body = io.BytesIO()
        c.setopt(pycurlcb.WRITEDATA, body)
        c.perform()
    assert body.getvalue() == body_of(100)


@pytest.mark.parametrize("size", [100, 3 * MiB])
def test_keyboard_interrupt_from_write(fast_server: FastServer, size: int) -> None:
    class Interrupting:
        def write(self, data: Any) -> None:
            raise KeyboardInterrupt

    with _curl(fast_server.url(f"/body/{size}"), Interrupting()) as c:
        with pytest.raises(KeyboardInterrupt):
            c.perform()


def test_pause_from_write_keeps_bytes(fast_server: FastServer) -> None:
    """pause() during perform: the rest of the body is delivered per chunk."""
    c = pycurlcb.Curl()

    class Pausing(Recorder):
        def write(self, data: Any) -> None:
            self.calls.append(data)
            c.pause(pycurlcb.PAUSE_CONT)

    rec = Pausing()
    c.setopt(pycurlcb.URL, fast_server.url(f"/body/{3 * MiB}"))
    c.setopt(pycurlcb.WRITEDATA, rec)
    try:
        c.perform()
    finally:
        c.close()
    assert rec.data == body_of(3 * MiB)
    assert len(rec.calls) > 10  # per chunk after the first flush


# --- the buffer's lifetime -------------------------------------------------------------


def test_reset_duphandle_close(fast_server: FastServer) -> None:
    url = fast_server.url(f"/body/{2 * MiB}")
    first = io.BytesIO()
    c = _curl(url, first)
    c.perform()
    assert first.getvalue() == body_of(2 * MiB)
    dup = c.duphandle()  # its own buffer, made on its first perform
    second = io.BytesIO()
    dup.setopt(pycurlcb.WRITEDATA, second)
    dup.perform()
    c.perform()
    assert second.getvalue() == body_of(2 * MiB)
    assert first.getvalue() == body_of(2 * MiB) * 2
    c.reset()  # frees the buffer; WRITEDATA is forgotten
    c.setopt(pycurlcb.URL, url)
    third = Recorder()
    c.setopt(pycurlcb.WRITEDATA, third)
    c.perform()
    assert third.data == body_of(2 * MiB)
    c.close()
    c.close()
    dup.perform()
    assert second.getvalue() == body_of(2 * MiB) * 2
    del dup  # collected without close(): the ffi.gc release frees the buffer
    gc.collect()


def test_duphandle_inside_write(fast_server: FastServer) -> None:
    """A copy made while the body is buffered writes through its own callback."""
    c = pycurlcb.Curl()
    copies: list[pycurlcb.Curl] = []

    class Duplicating(Recorder):
        def write(self, data: Any) -> None:
            self.calls.append(data)
            if not copies:
                copies.append(c.duphandle())

    rec = Duplicating()
    c.setopt(pycurlcb.URL, fast_server.url(f"/body/{3 * MiB}"))
    c.setopt(pycurlcb.WRITEDATA, rec)
    c.perform()
    assert rec.data == body_of(3 * MiB)
    n = len(rec.calls)
    copies[0].perform()
    assert rec.data == body_of(3 * MiB) * 2
    assert len(rec.calls) <= 2 * n
    copies[0].close()
    c.close()


def test_stringio_is_a_write_error(fast_server: FastServer) -> None:
    """pycurl's write_to_stringio test with WRITEDATA: str.write(bytes) raises."""
    with _curl(fast_server.url("/body/10"), io.StringIO()) as c:
        with pytest.raises(pycurlcb.error) as info:
            c.perform()
    assert info.value.args[0] == pycurlcb.E_WRITE_ERROR
    assert isinstance(info.value.__cause__, TypeError)


def test_upload_and_socket_callbacks_keep_buffering(fast_server: FastServer) -> None:
    """READDATA and the socket callbacks do not turn buffering off."""
    rec = Recorder()
    opened: list[int] = []

    def opensocket(purpose: Any, address: Any) -> socket.socket:
        s = socket.socket(address.family, address.socktype, address.protocol)
        opened.append(s.fileno())
        return s

    with _curl(fast_server.url(f"/body/{3 * MiB}"), rec) as c:
        c.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
        c.setopt(pycurlcb.READDATA, io.BytesIO(b"x" * 1000))
        c.setopt(pycurlcb.UPLOAD, 1)
        c.setopt(pycurlcb.CUSTOMREQUEST, "GET")
        c.perform()
    assert rec.data == body_of(3 * MiB)
    assert len(rec.calls) <= 5
    assert opened
