"""The fixtures themselves, checked with standard-library clients (not pycurlcb)."""

from __future__ import annotations

import ftplib
import http.client
import io
import os
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from servers import Address, FTPServerInfo, TLSServerInfo

TIMEOUT = 5


def _get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=TIMEOUT, context=context) as resp:
        return resp.status, resp.read()


def test_http_url(http_url: str) -> None:
    assert http_url.startswith("http://127.0.0.1:")
    assert _get(http_url) == (200, b"hello")


def test_http_paths(http_paths: Any) -> None:
    paths = http_paths(3)
    assert len(paths) == 3
    for url, body in paths:
        assert _get(url) == (200, body)


def test_http6_server(http6_server: str) -> None:
    assert http6_server.startswith("http://[::1]:")
    assert _get(http6_server + "x") == (200, b"ipv6")


def test_http6_server_keepalive(http6_server: str) -> None:
    port = int(http6_server.rsplit(":", 1)[1].rstrip("/"))
    conn = http.client.HTTPConnection("::1", port, timeout=TIMEOUT)
    try:
        for _ in range(2):  # two requests, one connection
            conn.request("GET", "/")
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"ipv6")
    finally:
        conn.close()


def test_unix_http_server(unix_http_server: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(TIMEOUT)
        s.connect(unix_http_server)
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"unix"


def test_ftp_server_passive(ftp_server: FTPServerInfo) -> None:
    url, data = ftp_server
    assert url == f"ftp://127.0.0.1:{ftp_server.port}/file.txt"
    assert _retr(ftp_server, passive=True) == data


def test_ftp_server_active(ftp_server: FTPServerInfo) -> None:
    assert _retr(ftp_server, passive=False) == ftp_server.data


def _retr(info: FTPServerInfo, passive: bool) -> bytes:
    buf = io.BytesIO()
    with ftplib.FTP(timeout=TIMEOUT) as ftp:
        ftp.connect(info.host, info.port)
        ftp.login()  # anonymous
        ftp.set_pasv(passive)
        ftp.retrbinary("RETR file.txt", buf.write)
    return buf.getvalue()


def test_ftp_server_is_read_only(ftp_server: FTPServerInfo) -> None:
    with ftplib.FTP(timeout=TIMEOUT) as ftp:
        ftp.connect(ftp_server.host, ftp_server.port)
        ftp.login()
        with pytest.raises(ftplib.error_perm):
            ftp.storbinary("STOR new.txt", io.BytesIO(b"x"))


def test_tls_server(tls_server: TLSServerInfo) -> None:
    ctx = ssl.create_default_context(cafile=tls_server.ca_file)
    assert _get(tls_server.url, ctx) == (200, b"tls ok")
    assert _get(tls_server.localhost_url, ctx) == (200, b"tls ok")


def test_tls_server_rejects_untrusted_client_side(tls_server: TLSServerInfo) -> None:
    ctx = ssl.create_default_context()  # system CAs only: the test CA is unknown
    with pytest.raises(urllib.error.URLError) as exc_info:
        _get(tls_server.url, ctx)
    assert isinstance(exc_info.value.reason, ssl.SSLCertVerificationError)
    # The server survives the failed handshake and still serves.
    ok = ssl.create_default_context(cafile=tls_server.ca_file)
    assert _get(tls_server.url, ok) == (200, b"tls ok")


def test_silent_server(silent_server: Address) -> None:
    host, port = silent_server
    with socket.create_connection((host, port), timeout=TIMEOUT) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(0.2)
        # socket.timeout: an alias of TimeoutError from Python 3.10, a subclass
        # of OSError only on 3.9.
        with pytest.raises(socket.timeout):
            s.recv(1)


def test_refusing_port(refusing_port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", refusing_port), timeout=TIMEOUT)


# --------------------------------------------------------------------------
# the fd-leak check in conftest.py


@pytest.fixture
def closed_at_teardown() -> Iterator[list[int]]:
    """fds put in this list are closed at teardown, after the leak check ran."""
    fds: list[int] = []
    yield fds
    for fd in fds:
        os.close(fd)


@pytest.mark.xfail(strict=True, reason="the fd-leak check must fail a test that leaks an fd")
def test_fd_leak_is_detected(closed_at_teardown: list[int]) -> None:
    closed_at_teardown.append(os.open(os.devnull, os.O_RDONLY))


@pytest.mark.allow_fd_leak
def test_fd_leak_opt_out(closed_at_teardown: list[int]) -> None:
    closed_at_teardown.append(os.open(os.devnull, os.O_RDONLY))


def test_fd_closed_late_by_another_thread_is_not_a_leak() -> None:
    # A server thread closing its side a little after the client returns.
    fd = os.open(os.devnull, os.O_RDONLY)
    threading.Timer(0.2, os.close, (fd,)).start()
