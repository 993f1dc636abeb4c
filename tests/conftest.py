"""Fixtures for real local servers, and the fd-leak check every test runs under.

Servers (all loopback, all stopped at teardown; see servers.py):

- ``httpserver``        pytest-httpserver, on 127.0.0.1 (HTTP/1.0, one request at a time)
- ``http_url``          str, ``http://127.0.0.1:PORT/hello`` serving ``b"hello"``
- ``http_paths``        callable ``(n) -> [(url, body), ...]``: n paths on ``httpserver``
- ``http6_server``      str, ``http://[::1]:PORT/`` serving ``b"ipv6"``; skips without IPv6
- ``unix_http_server``  str, path of a Unix socket serving HTTP/1.1 ``b"unix"``
- ``ftp_server``        ``FTPServerInfo(url, data)``: ``ftp://127.0.0.1:PORT/file.txt``
- ``tls_server``        ``TLSServerInfo`` with ``.url``, ``.ca_file``, ``.body == b"tls ok"``
- ``silent_server``     ``Address(host, port)``: accepts, never answers
- ``refusing_port``     int, a 127.0.0.1 port where connect() is refused

The fd-leak check: every test's call phase is wrapped (``pytest_runtest_call``,
after fixture setup and before fixture teardown); if more fds are open after the
test body than before it, once garbage is collected and server threads have had
up to ``FD_SETTLE_SECONDS`` to close their side, the test fails.  Opt out with
``@pytest.mark.allow_fd_leak``.  A server fixture must therefore open every fd it
keeps for the whole test (listener, selector, log file) during setup, not later
in its thread; per-connection fds are fine, they close when the client does.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from pycurlcb._failure import take_parked

# pytest's default import mode already puts tests/ on sys.path; importlib mode does not.
_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from fds import fd_target, open_fds  # noqa: E402
from servers import (  # noqa: E402
    Address,
    FastServer,
    FTPServerInfo,
    FTPServerThread,
    SilentServer,
    TLSServerInfo,
    ipv6_loopback_available,
    make_http6_server,
    make_tls_server,
    make_unix_http_server,
)

# How long server threads get to close their side of a connection before a
# higher fd count counts as a leak; `make memcheck` raises it (valgrind is slow).
# PyPy gets 3 s: it closes what garbage holds only in a collection (a full one,
# tens of ms each), a chain of finalisers over several, and it switches threads
# less often.
FD_SETTLE_SECONDS = float(
    os.environ.get("PYCURLCB_FD_SETTLE_SECONDS", "1.0" if hasattr(sys, "getrefcount") else "3.0")
)
FTP_DATA = b"ftp data\n" * 100


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_fd_leak: do not fail the test when it leaves more fds open than it found",
    )


# --------------------------------------------------------------------------
# fd-leak check


def _describe(fds: set[int]) -> str:
    return "\n".join(f"  fd {fd} -> {fd_target(fd)}" for fd in sorted(fds))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    if item.get_closest_marker("allow_fd_leak") or not os.path.isdir("/proc/self/fd"):
        return (yield)
    # No gc.collect() up front: a full collection costs 10-50 ms per test, and
    # collecting here could only lower "before", never make a clean test fail.
    before = open_fds()
    result = yield  # a failing test raises here; its own error wins
    after = open_fds()
    deadline = time.monotonic() + FD_SETTLE_SECONDS
    while len(after) > len(before):
        gc.collect()  # sockets and files only reachable from garbage cycles
        after = open_fds()  # counted last, after the last wait (not before it)
        if len(after) <= len(before) or time.monotonic() >= deadline:
            break
        time.sleep(0.02)  # a server thread may still be closing its side
    if len(after) > len(before):
        pytest.fail(
            f"test leaked {len(after) - len(before)} fd(s): {len(before)} open before, "
            f"{len(after)} after (mark with allow_fd_leak to opt out); new fds:\n"
            + _describe(after - before),
            pytrace=False,
        )
    return result


# --------------------------------------------------------------------------
# pytest-httpserver


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str | None, int | None]:
    """Overrides pytest-httpserver's default host "localhost" with 127.0.0.1.

    "localhost" makes libcurl try ::1 first (refused), then 127.0.0.1, which
    doubles opensocket calls in the socket-callback tests.
    PYTEST_HTTPSERVER_HOST / PYTEST_HTTPSERVER_PORT still win when set.
    """
    host = os.environ.get("PYTEST_HTTPSERVER_HOST") or "127.0.0.1"
    port = os.environ.get("PYTEST_HTTPSERVER_PORT")
    return host, int(port) if port else 0


@pytest.fixture
def http_url(httpserver: Any) -> str:
    """``http://127.0.0.1:PORT/hello``, which answers GET with 200 and ``b"hello"``."""
    httpserver.expect_request("/hello").respond_with_data(b"hello")
    return str(httpserver.url_for("/hello"))


@pytest.fixture
def http_paths(httpserver: Any) -> Callable[[int], list[tuple[str, bytes]]]:
    """Factory: ``http_paths(n)`` -> ``[(url, body), ...]`` for ``/p0`` .. ``/p{n-1}``.

    Path i answers with body ``b"path i\\n"``.
    """

    def make(n: int) -> list[tuple[str, bytes]]:
        out = []
        for i in range(n):
            body = f"path {i}\n".encode()
            httpserver.expect_request(f"/p{i}").respond_with_data(body)
            out.append((str(httpserver.url_for(f"/p{i}")), body))
        return out

    return make


# --------------------------------------------------------------------------
# standard-library servers


@pytest.fixture
def http6_server() -> Iterator[str]:
    """``http://[::1]:PORT/``: HTTP/1.1, every path answers 200 ``b"ipv6"``."""
    if not ipv6_loopback_available():
        pytest.skip("IPv6 loopback (::1) is not available")
    server = make_http6_server()
    server.start()
    try:
        port = server.server_address[1]  # type: ignore[index]
        yield f"http://[::1]:{port}/"
    finally:
        server.stop()


@contextlib.contextmanager
def _short_socket_dir(tmp_path: Path) -> Iterator[Path]:
    # sun_path holds 108 bytes; a deep basetemp can exceed it.
    if len(str(tmp_path / "http.sock")) < 100:
        yield tmp_path
        return
    short = Path(tempfile.mkdtemp(prefix="pcb-"))
    try:
        yield short
    finally:
        for child in short.iterdir():
            child.unlink()
        short.rmdir()


@pytest.fixture
def unix_http_server(tmp_path: Path) -> Iterator[str]:
    """Path of a Unix socket: HTTP/1.1, every path answers 200 ``b"unix"``.

    Use with CURLOPT_UNIX_SOCKET_PATH and any http:// URL, e.g. http://localhost/.
    """
    with _short_socket_dir(tmp_path) as directory:
        path = str(directory / "http.sock")
        server = make_unix_http_server(path)
        server.start()
        try:
            yield path
        finally:
            server.stop()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TLSServerInfo]:
    """HTTPS on 127.0.0.1 with a throwaway CA; see servers.TLSServerInfo."""
    info = make_tls_server(tmp_path)
    info.server.start()
    try:
        yield info
    finally:
        info.server.stop()


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[FTPServerInfo]:
    """``(url, data)``: anonymous read-only FTP, passive and active mode.

    url is ``ftp://127.0.0.1:PORT/file.txt``; data is its content,
    ``b"ftp data\\n" * 100``.
    """
    root = tmp_path / "ftproot"
    root.mkdir()
    (root / "file.txt").write_bytes(FTP_DATA)
    server = FTPServerThread(str(root))
    server.start()
    try:
        yield FTPServerInfo(f"ftp://127.0.0.1:{server.port}/file.txt", FTP_DATA)
    finally:
        server.stop()


@pytest.fixture
def silent_server() -> Iterator[Address]:
    """``(host, port)`` on 127.0.0.1: connect() succeeds, no byte ever comes back."""
    server = SilentServer()
    server.start()
    try:
        yield server.address
    finally:
        server.stop()


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A 127.0.0.1 port where connect() gets ECONNREFUSED.

    The port stays bound (never listening) for the test's duration, so no
    other process can take it between lookup and use.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture(autouse=True)
def _no_stray_exceptions() -> Iterator[None]:
    """No KeyboardInterrupt/SystemExit a callback raised may be left parked
    (``pycurlcb._failure.take_parked``) after the test: the driving call
    must have raised it, else the binding lost it."""
    take_parked()
    yield
    assert take_parked() is None


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What reaches ``sys.unraisablehook`` during the test (pycurl's teardown
    contract: close() and __del__ report what callbacks raise there, never
    raise it).  Each item has ``exc_value``, ``err_msg`` and ``object``."""
    caught: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", caught.append)
    return caught


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt during the test, whatever the parent set.

    A shell starts background jobs with SIGINT ignored, and Python then installs
    no handler of its own; tests of Ctrl-C must not depend on how they were run.
    """
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@pytest.fixture
def fast_server() -> Iterator[FastServer]:
    server = FastServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
