"""Uploads from a READDATA object that is an io.BytesIO or a binary file.

pycurlcb's read trampoline has ``obj.readinto`` fill libcurl's upload buffer
directly (one copy, as a C program's READFUNCTION makes) instead of calling
``obj.read(n)`` and copying the bytes it returns.  Only for the exact types
io.BytesIO, io.FileIO, io.BufferedReader and io.BufferedRandom, whose
readinto reads what read(n) would; any other object (a subclass included)
keeps pycurl's ``read(n)`` calls.  Checked against ``fast_server``'s /echo
(length and CRC-32 of the body it read): the bytes, the object's position
afterwards, chunked uploads, rewinding on a 307, errors as the read() path
gives them, and which option wins when READFUNCTION and READDATA are both set.
"""

from __future__ import annotations

import io
import os
import sys
import zlib
from pathlib import Path
from typing import Any, Callable

import pytest
from servers import FastServer, body_of

import pycurlcb

MiB = 1024 * 1024
SIZES = (0, 1, 64 * 1024 - 1, 64 * 1024, MiB + 1, 3 * MiB)


def echoed(data: bytes) -> bytes:
    return b"got %d %08x" % (len(data), zlib.crc32(data))


def upload(url: str, source: Any, size: int | None, **options: Any) -> tuple[pycurlcb.Curl, io.BytesIO]:
    """A PUT of ``source`` (READDATA); ``size`` None: chunked."""
    out = io.BytesIO()
    c = pycurlcb.Curl()
    c.setopt(pycurlcb.URL, url)
    c.setopt(pycurlcb.UPLOAD, 1)
    if size is not None:
        c.setopt(pycurlcb.INFILESIZE_LARGE, size)
    c.setopt(pycurlcb.READDATA, source)
    c.setopt(pycurlcb.WRITEFUNCTION, out.write)
    for name, value in options.items():
        c.setopt(getattr(pycurlcb, name), value)
    return c, out


def _file(tmp_path: Path, data: bytes, mode: str, buffering: int = -1) -> Any:
    path = tmp_path / "payload"
    path.write_bytes(data)
    return open(path, mode, buffering=buffering)  # noqa: SIM115 - closed by the test


#: How each kind of source is opened on ``data``: (id, factory(tmp_path, data)).
SOURCES: list[tuple[str, Callable[[Path, bytes], Any]]] = [
    ("BytesIO", lambda tmp, data: io.BytesIO(data)),
    ("BufferedReader", lambda tmp, data: _file(tmp, data, "rb")),
    ("FileIO", lambda tmp, data: _file(tmp, data, "rb", 0)),
    ("BufferedRandom", lambda tmp, data: _file(tmp, data, "r+b")),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("make", [m for _, m in SOURCES], ids=[n for n, _ in SOURCES])
def test_the_body_arrives_whole(fast_server: FastServer, tmp_path: Path, make: Any, size: int) -> None:
    data = body_of(size)
    source = make(tmp_path, data)
    try:
        c, out = upload(fast_server.url("/echo"), source, size)
        with c:
            c.perform()
            assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
            assert c.getinfo(pycurlcb.SIZE_UPLOAD_T) == size
        assert out.getvalue() == echoed(data)
        assert source.tell() == size
    finally:
        source.close()


def test_a_bytesio_is_read_with_readinto(fast_server: FastServer) -> None:
    """Its methods are C functions: a profile hook counts which ones run."""
    data = body_of(MiB)
    source = io.BytesIO(data)
    called: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call" and getattr(arg, "__self__", None) is source:
            called.append(arg.__name__)

    c, out = upload(fast_server.url("/echo"), source, len(data))
    with c:
        sys.setprofile(profile)
        try:
            c.perform()
        finally:
            sys.setprofile(None)
    assert out.getvalue() == echoed(data)
    # PyPy's BytesIO.readinto is its readinto1 (one function, named readinto1)
    readinto = io.BytesIO.readinto.__name__
    assert readinto in ("readinto", "readinto1")
    assert readinto in called and "read" not in called, called


@pytest.mark.parametrize("size", (0, 1, 5 * 64 * 1024 + 3))
def test_chunked_upload_ends_at_eof(fast_server: FastServer, size: int) -> None:
    data = body_of(size)
    c, out = upload(fast_server.url("/echo"), io.BytesIO(data), None)
    with c:
        c.perform()
    assert out.getvalue() == echoed(data)


class ReadSpy(io.BytesIO):
    """A BytesIO subclass: not an exact type, so libcurl's sizes reach read()."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, n: int | None = -1) -> bytes:
        self.asked.append(-1 if n is None else n)
        return super().read(n)


def test_a_subclass_keeps_pycurls_read_calls(fast_server: FastServer) -> None:
    data = body_of(3 * 64 * 1024)
    spy = ReadSpy(data)
    c, out = upload(fast_server.url("/echo"), spy, len(data))
    with c:
        c.perform()
    assert out.getvalue() == echoed(data)
    assert len(spy.asked) >= 3 and all(n > 0 for n in spy.asked)


@pytest.mark.parametrize("attr", ["read", "readinto"])
def test_a_read_replaced_on_the_instance_is_called(fast_server: FastServer, attr: str) -> None:
    data = body_of(1000)
    source = io.BytesIO(data)
    calls: list[int] = []

    def replaced(n: Any = -1) -> Any:  # read(n), or readinto(buffer): counted, then the type's own
        calls.append(1)
        return getattr(io.BytesIO, attr)(source, n)

    setattr(source, attr, replaced)
    c, out = upload(fast_server.url("/echo"), source, len(data))
    with c:
        c.perform()
    assert out.getvalue() == echoed(data)
    if attr == "read":
        assert calls  # the replaced read is what pycurl calls, and so is it here
    else:
        assert not calls  # readinto replaced: read(n) is used, as in pycurl


def test_readfunction_after_readdata_wins(fast_server: FastServer) -> None:
    data, other = body_of(1000), b"z" * 1000
    c, out = upload(fast_server.url("/echo"), io.BytesIO(data), len(data))
    with c:
        c.setopt(pycurlcb.READFUNCTION, io.BytesIO(other).read)
        c.perform()
    assert out.getvalue() == echoed(other)


def test_readdata_after_readfunction_wins(fast_server: FastServer) -> None:
    data = body_of(1000)
    c, out = upload(fast_server.url("/echo"), io.BytesIO(data), len(data))
    with c:
        c.setopt(pycurlcb.READFUNCTION, lambda n: b"never")
        c.setopt(pycurlcb.READDATA, io.BytesIO(data))
        c.perform()
    assert out.getvalue() == echoed(data)


def test_unsetopt_readdata_stops_reading_it(fast_server: FastServer) -> None:
    c, out = upload(fast_server.url("/echo"), io.BytesIO(b"unused"), 0)
    with c:
        c.unsetopt(pycurlcb.READDATA)
        c.perform()  # libcurl's default (stdin) is not read for an empty body
    assert out.getvalue() == echoed(b"")


def test_duphandle_uploads_the_same_object(fast_server: FastServer) -> None:
    data = body_of(100_000)
    source = io.BytesIO(data)
    c, _ = upload(fast_server.url("/echo"), source, len(data))
    with c, c.duphandle() as d:
        out = io.BytesIO()
        d.setopt(pycurlcb.WRITEFUNCTION, out.write)
        d.perform()
    assert out.getvalue() == echoed(data)
    assert source.tell() == len(data)


def test_a_307_rewinds_through_seekfunction(fast_server: FastServer) -> None:
    data = body_of(200_000)
    source = io.BytesIO(data)
    c, out = upload(fast_server.url("/r307/echo"), source, len(data), FOLLOWLOCATION=1)
    with c:
        c.setopt(pycurlcb.SEEKFUNCTION, lambda offset, origin: source.seek(offset, origin) and 0)
        c.perform()
    assert out.getvalue() == echoed(data)


def _failure(c: pycurlcb.Curl) -> pycurlcb.error:
    with pytest.raises(pycurlcb.error) as info:
        c.perform()
    return info.value


def test_a_307_without_seekfunction_fails_as_with_read(fast_server: FastServer) -> None:
    data = body_of(200_000)
    codes = []
    for source in (io.BytesIO(data), ReadSpy(data)):
        c, _ = upload(fast_server.url("/r307/echo"), source, len(data), FOLLOWLOCATION=1)
        with c:
            codes.append(_failure(c).args[0])
    assert codes == [pycurlcb.E_SEND_FAIL_REWIND] * 2


@pytest.mark.parametrize("source", [io.BytesIO(b"x"), ReadSpy(b"x")], ids=["BytesIO", "subclass"])
def test_a_closed_source_is_the_cause(fast_server: FastServer, source: io.BytesIO) -> None:
    source.close()
    c, _ = upload(fast_server.url("/echo"), source, 1)
    with c:
        err = _failure(c)
    assert err.args[0] == pycurlcb.E_ABORTED_BY_CALLBACK
    assert isinstance(err.__cause__, ValueError)
    assert "closed file" in str(err.__cause__)


class NonBlockingRead(io.FileIO):
    """A FileIO subclass: read() answers None on an empty non-blocking pipe."""


@pytest.mark.parametrize("kind", [io.FileIO, NonBlockingRead], ids=["FileIO", "subclass"])
def test_nothing_to_read_yet_is_the_read_error(fast_server: FastServer, kind: type) -> None:
    r, w = os.pipe()
    os.set_blocking(r, False)
    source = kind(r, "rb")
    try:
        c, _ = upload(fast_server.url("/echo"), source, None)
        with c:
            err = _failure(c)
    finally:
        source.close()
        os.close(w)
    assert err.args[0] == pycurlcb.E_ABORTED_BY_CALLBACK
    assert isinstance(err.__cause__, TypeError)
    assert str(err.__cause__).startswith("read callback returned None, which is not an object")


def test_keyboard_interrupt_from_readinto_is_itself(fast_server: FastServer) -> None:
    class Interrupting(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            raise KeyboardInterrupt

    source = io.BufferedReader(Interrupting())  # exact type: its readinto runs
    c, _ = upload(fast_server.url("/echo"), source, 10)
    with c, pytest.raises(KeyboardInterrupt):
        c.perform()


def test_the_position_afterwards_is_pycurls(fast_server: FastServer) -> None:
    """INFILESIZE shorter than the data: the object is read as far as with pycurl."""
    pycurl = pytest.importorskip(
        "pycurl",
        reason="the real pycurl is not importable (`make test` builds it from source; pycurl 7.49.0 needs "
        "Python 3.10+, so there is none on Python 3.9: CPython 3.9, Debian 12's PyPy 3.9)",
    )
    data, size = body_of(300_000), 100_000
    positions = []
    for mod in (pycurlcb, pycurl):
        source = io.BytesIO(data)
        c = mod.Curl()
        c.setopt(mod.URL, fast_server.url("/echo"))
        c.setopt(mod.UPLOAD, 1)
        c.setopt(mod.INFILESIZE_LARGE, size)
        c.setopt(mod.READDATA, source)
        c.setopt(mod.WRITEFUNCTION, lambda data: None)
        c.perform()
        c.close()
        positions.append(source.tell())
    assert positions[0] == positions[1]
