"""OPENSOCKETFUNCTION, SOCKOPTFUNCTION and CLOSESOCKETFUNCTION against real servers.

What each callback is called with (IPv4, IPv6, AF_UNIX, active FTP, TLS), what
each kind of return value does, what an exception raised in any callback does
(fail closed: perform() raises pycurlcb.error for libcurl's code with the
exception as ``__cause__``, KeyboardInterrupt as itself, nothing printed;
close() hands it to sys.unraisablehook), lifetimes (many performs with gc in
between, replace/unset, duphandle, close/del/gc in every order) and threads.
Every test also runs under the conftest fd-leak check, and under its
``_no_stray_exceptions`` check.
"""

from __future__ import annotations

import gc
import http.server
import io
import itertools
import os
import signal
import socket
import socketserver
import stat
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fds import collect_garbage
from servers import FixedBodyHandler, StdlibServer
from since import VERSION_NUM, version_num

import pycurlcb
import pycurlcb._callbacks.sockets
import pycurlcb._lifetime
from pycurlcb import CurlSockAddr, SockType

BROKEN_ALREADY_CONNECTED = pycurlcb.LIBCURL_VERSION_NUM in (0x075800, 0x075801)



# --------------------------------------------------------------------------
# servers of this file: IPv4 HTTP/1.1 with keep-alive, and a bare listener


class _PathHandler(FixedBodyHandler):
    """Answers ``server.body + path``, HTTP/1.1 keep-alive, in one write (no Nagle delay)."""

    def do_GET(self) -> None:
        body = self.server.body + self.path.encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
        self.wfile.write(head.encode() + body)


class _KeepAliveServer(StdlibServer, http.server.HTTPServer):
    def __init__(self, body: bytes) -> None:
        self._init_tracking(body)
        super().__init__(("127.0.0.1", 0), _PathHandler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no getfqdn() lookup
        self.server_name = "127.0.0.1"
        self.server_port = int(self.server_address[1])


def _serve(body: bytes) -> Iterator[tuple[str, int]]:
    server = _KeepAliveServer(body)
    server.start()
    try:
        port = server.server_address[1]
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.stop()
    assert server.errors == []


@pytest.fixture
def ka_server() -> Iterator[tuple[str, int]]:
    """``(base_url, port)`` of a keep-alive HTTP/1.1 server: GET /x answers b"ka/x"."""
    yield from _serve(b"ka")


@pytest.fixture
def ka_server2() -> Iterator[tuple[str, int]]:
    """A second one, whose GET /x answers b"second/x"."""
    yield from _serve(b"second")


class _AbstractUnixServer(StdlibServer, socketserver.UnixStreamServer):
    def __init__(self, name: bytes) -> None:
        self._init_tracking(b"abstract")
        super().__init__(name, FixedBodyHandler)  # type: ignore[arg-type]


@pytest.fixture
def abstract_unix_server() -> Iterator[bytes]:
    """A Linux abstract AF_UNIX name, without its leading NUL, serving b"abstract"."""
    if not sys.platform.startswith("linux"):
        pytest.skip("abstract AF_UNIX addresses are Linux-only")
    name = f"pycurlcb-test-{os.getpid()}-{id(object())}".encode()
    server = _AbstractUnixServer(b"\0" + name)
    server.start()
    try:
        yield name
    finally:
        server.stop()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening 127.0.0.1 socket that never accepts: it shows whether a client connected."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def _assert_never_connected(sock: socket.socket) -> None:
    try:
        conn, peer = sock.accept()
    except BlockingIOError:
        return
    conn.close()
    pytest.fail(f"the server saw a connection from {peer}")


def _url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def _is_socket(fd: int) -> bool:
    return stat.S_ISSOCK(os.fstat(fd).st_mode)


# --------------------------------------------------------------------------
# helpers


class Trace:
    """Socket callbacks that record their calls; opensocket returns a socket object."""

    def __init__(self) -> None:
        self.opened: list[tuple[Any, CurlSockAddr]] = []
        self.sockopts: list[tuple[int, Any]] = []
        self.closed: list[int] = []
        self.threads: set[int] = set()

    def opensocket(self, purpose: Any, address: CurlSockAddr) -> socket.socket:
        self.threads.add(threading.get_ident())
        self.opened.append((purpose, address))
        return socket.socket(address.family, address.socktype, address.protocol)

    def sockopt(self, fd: int, purpose: Any) -> int:
        self.threads.add(threading.get_ident())
        assert _is_socket(fd)
        self.sockopts.append((fd, purpose))
        return pycurlcb.SOCKOPT_OK

    def closesocket(self, fd: int) -> int:
        self.threads.add(threading.get_ident())
        assert _is_socket(fd)
        self.closed.append(fd)
        os.close(fd)
        return 0

    def install(self, c: pycurlcb.Curl) -> None:
        c.setopt(pycurlcb.OPENSOCKETFUNCTION, self.opensocket)
        c.setopt(pycurlcb.SOCKOPTFUNCTION, self.sockopt)
        c.setopt(pycurlcb.CLOSESOCKETFUNCTION, self.closesocket)


def _curl(url: str, **opts: Any) -> tuple[pycurlcb.Curl, io.BytesIO]:
    c = pycurlcb.Curl()
    c.setopt(pycurlcb.URL, url)
    body = io.BytesIO()
    c.setopt(pycurlcb.WRITEDATA, body)
    for name, value in opts.items():
        c.setopt(getattr(pycurlcb, name), value)
    return c, body


def _perform_ok(c: pycurlcb.Curl, url: str, expected: bytes) -> None:
    """One more transfer on ``c`` that must succeed: the handle is still usable."""
    body = io.BytesIO()
    c.setopt(pycurlcb.URL, url)
    c.setopt(pycurlcb.WRITEDATA, body)
    c.perform()
    assert body.getvalue() == expected


# --------------------------------------------------------------------------
# opensocket: what it is called with


def test_opensocket_ipv4(http_url: str) -> None:
    trace = Trace()
    port = int(http_url.split(":")[2].split("/")[0])
    c, body = _curl(http_url)
    with c:
        trace.install(c)
        c.perform()
    assert body.getvalue() == b"hello"
    assert len(trace.opened) == 1
    purpose, address = trace.opened[0]
    assert purpose is SockType.IPCXN
    assert purpose == pycurlcb.SOCKTYPE_IPCXN
    assert type(address) is CurlSockAddr
    assert address.family == socket.AF_INET
    # libcurl 7.81.0 and older pass protocol 0 (socket() then picks TCP) for a numeric address
    assert address.protocol in ((0, socket.IPPROTO_TCP) if VERSION_NUM < version_num("7.82.0")
                                else (socket.IPPROTO_TCP,))
    assert address.socktype & 0xF == socket.SOCK_STREAM  # 8.x may OR in SOCK_CLOEXEC
    assert address.addr == ("127.0.0.1", port)
    family, socktype, protocol, addr = address  # pycurl's namedtuple shape
    assert addr == address.addr
    assert [p for _, p in trace.sockopts] == [SockType.IPCXN]
    assert len(trace.closed) == 1


def test_opensocket_ipv6(http6_server: str) -> None:
    trace = Trace()
    port = int(http6_server.rsplit(":", 1)[1].rstrip("/"))
    c, body = _curl(http6_server)
    with c:
        trace.install(c)
        c.perform()
        assert c.getinfo(pycurlcb.PRIMARY_IP) == "::1"
    assert body.getvalue() == b"ipv6"
    [(purpose, address)] = trace.opened
    assert purpose is SockType.IPCXN
    assert address.family == socket.AF_INET6
    # (host, port, flowinfo, scope_id), port in host byte order as the socket module
    assert address.addr == ("::1", port, 0, 0)
    assert len(trace.closed) == 1


def test_opensocket_unix(unix_http_server: str) -> None:
    trace = Trace()
    c, body = _curl("http://localhost/x", UNIX_SOCKET_PATH=unix_http_server)
    with c:
        trace.install(c)
        c.perform()
    assert body.getvalue() == b"unix"
    [(purpose, address)] = trace.opened
    assert purpose is SockType.IPCXN
    assert address.family == socket.AF_UNIX
    assert address.addr == unix_http_server.encode()
    assert type(address.addr) is bytes  # pycurl's form for AF_UNIX
    assert len(trace.closed) == 1


def test_opensocket_abstract_unix(abstract_unix_server: bytes) -> None:
    trace = Trace()
    c, body = _curl("http://localhost/", ABSTRACT_UNIX_SOCKET=abstract_unix_server)
    with c:
        trace.install(c)
        c.perform()
    assert body.getvalue() == b"abstract"
    [(purpose, address)] = trace.opened
    assert address.family == socket.AF_UNIX
    assert address.addr == b"\0" + abstract_unix_server  # bytes, as the socket module gives


# --------------------------------------------------------------------------
# opensocket: what it may return


def test_return_socket_closed_right_after(http_url: str) -> None:
    """libcurl gets a dup(): closing the Python socket object at once is fine."""
    made: list[socket.socket] = []

    def opensocket(purpose: Any, address: CurlSockAddr) -> socket.socket:
        sock = socket.socket(address.family, address.socktype, address.protocol)
        made.append(sock)
        return sock

    def sockopt(fd: int, purpose: Any) -> None:
        assert fd != made[-1].fileno()  # libcurl's own fd
        made[-1].close()  # before connect(): libcurl's dup is unaffected

    c, body = _curl(http_url, OPENSOCKETFUNCTION=opensocket, SOCKOPTFUNCTION=sockopt)
    with c:
        c.perform()
        assert body.getvalue() == b"hello"
        assert made[-1].fileno() == -1
        _perform_ok(c, http_url, b"hello")
    assert len(made) == 2


def test_return_socket_that_is_garbage_collected_at_once(http_url: str) -> None:
    def opensocket(purpose: Any, address: CurlSockAddr) -> socket.socket:
        return socket.socket(address.family, address.socktype, address.protocol)

    def sockopt(fd: int, purpose: Any) -> None:
        gc.collect()  # the socket object is gone; libcurl's dup is not

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the unclosed socket object
        c, body = _curl(http_url, OPENSOCKETFUNCTION=opensocket, SOCKOPTFUNCTION=sockopt)
        with c:
            c.perform()
    assert body.getvalue() == b"hello"


def test_return_int_fd_passes_ownership(http_url: str) -> None:
    given: list[int] = []
    closed: list[int] = []
    sockopt_fds: list[int] = []

    def opensocket(purpose: Any, address: CurlSockAddr) -> int:
        fd = socket.socket(address.family, address.socktype, address.protocol).detach()
        given.append(fd)
        return fd

    def closesocket(fd: int) -> int:
        closed.append(fd)
        os.close(fd)
        return 0

    c, body = _curl(
        http_url,
        OPENSOCKETFUNCTION=opensocket,
        SOCKOPTFUNCTION=lambda fd, p: sockopt_fds.append(fd),
        CLOSESOCKETFUNCTION=closesocket,
    )
    with c:
        c.perform()
    assert body.getvalue() == b"hello"
    assert len(given) == 1
    assert sockopt_fds == given  # the very fd, not a copy
    assert closed == given


def test_return_int_fd_without_closesocket_is_closed_by_libcurl(http_url: str) -> None:
    def opensocket(purpose: Any, address: CurlSockAddr) -> int:
        return socket.socket(address.family, address.socktype, address.protocol).detach()

    c, body = _curl(http_url, OPENSOCKETFUNCTION=opensocket)
    with c:
        c.perform()
    assert body.getvalue() == b"hello"  # and the fd-leak check proves it was closed


@pytest.mark.parametrize("refusal", [None, pycurlcb.SOCKET_BAD], ids=["None", "SOCKET_BAD"])
def test_refusing_is_couldnt_connect(listener: socket.socket, http_url: str, refusal: Any) -> None:
    calls: list[CurlSockAddr] = []

    def opensocket(purpose: Any, address: CurlSockAddr) -> Any:
        calls.append(address)
        return refusal

    c, _ = _curl(_url_of(listener), OPENSOCKETFUNCTION=opensocket)
    with c:
        with pytest.raises(pycurlcb.CurlConnectionError) as info:
            c.perform()
        err = info.value
        assert isinstance(err, pycurlcb.error)
        assert err.args[0] == pycurlcb.E_COULDNT_CONNECT
        assert err.code == pycurlcb.E_COULDNT_CONNECT
        assert err.name == "CURLE_COULDNT_CONNECT"
        assert len(calls) == 1
        _assert_never_connected(listener)
        c.unsetopt(pycurlcb.OPENSOCKETFUNCTION)
        _perform_ok(c, http_url, b"hello")
    assert pycurlcb.SOCKET_BAD == -1


def test_tuple_redirects_to_another_server(ka_server: Any, ka_server2: Any) -> None:
    """(sock, new_addr): libcurl connects to new_addr, here a different real server."""
    first_url, first_port = ka_server
    second_url, second_port = ka_server2
    seen: list[CurlSockAddr] = []

    def opensocket(purpose: Any, address: CurlSockAddr) -> Any:
        seen.append(address)
        sock = socket.socket(address.family, address.socktype, address.protocol)
        return sock, ("127.0.0.1", second_port)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        c, body = _curl(first_url + "/path", OPENSOCKETFUNCTION=opensocket)
        with c:
            c.perform()
    assert body.getvalue() == b"second/path"
    assert seen[0].addr == ("127.0.0.1", first_port)


def test_tuple_with_int_fd_redirects(ka_server2: Any, listener: socket.socket) -> None:
    second_url, second_port = ka_server2

    def opensocket(purpose: Any, address: CurlSockAddr) -> Any:
        fd = socket.socket(address.family, address.socktype, address.protocol).detach()
        return fd, ("127.0.0.1", second_port)

    c, body = _curl(_url_of(listener) + "x", OPENSOCKETFUNCTION=opensocket)
    with c:
        c.perform()
    assert body.getvalue() == b"second/x"
    _assert_never_connected(listener)


def test_tuple_redirects_ipv4_to_a_unix_socket(
    unix_http_server: str, listener: socket.socket
) -> None:
    """The new address takes the family of the socket returned with it."""
    made: list[socket.socket] = []

    def opensocket(purpose: Any, address: CurlSockAddr) -> Any:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        made.append(sock)
        return sock, unix_http_server

    c, body = _curl(_url_of(listener), OPENSOCKETFUNCTION=opensocket)
    with c:
        c.perform()
    for sock in made:
        sock.close()
    assert body.getvalue() == b"unix"
    _assert_never_connected(listener)


def test_tuple_with_int_fd_redirects_ipv4_to_ipv6(
    http6_server: str, listener: socket.socket
) -> None:
    port6 = int(http6_server.rsplit(":", 1)[1].rstrip("/"))

    def opensocket(purpose: Any, address: CurlSockAddr) -> Any:
        fd = socket.socket(socket.AF_INET6, socket.SOCK_STREAM).detach()
        return fd, ("::1", port6)  # (host, port) is enough for AF_INET6

    c, body = _curl(_url_of(listener), OPENSOCKETFUNCTION=opensocket)
    with c:
        c.perform()
    assert body.getvalue() == b"ipv6"
    _assert_never_connected(listener)


def test_tuple_redirects_ipv4_to_ipv6(http6_server: str, listener: socket.socket) -> None:
    port6 = int(http6_server.rsplit(":", 1)[1].rstrip("/"))
    made: list[socket.socket] = []

    def opensocket(purpose: Any, address: CurlSockAddr) -> Any:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        made.append(sock)
        return sock, ("::1", port6, 0, 0)

    c, body = _curl(_url_of(listener), OPENSOCKETFUNCTION=opensocket)
    with c:
        c.perform()
    for sock in made:
        sock.close()
    assert body.getvalue() == b"ipv6"
    _assert_never_connected(listener)


def test_tuple_redirects_to_an_abstract_unix_name(
    abstract_unix_server: bytes, listener: socket.socket
) -> None:
    made: list[socket.socket] = []

    def opensocket(purpose: Any, address: CurlSockAddr) -> Any:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        made.append(sock)
        return sock, b"\0" + abstract_unix_server

    c, body = _curl(_url_of(listener), OPENSOCKETFUNCTION=opensocket)
    with c:
        c.perform()
    for sock in made:
        sock.close()
    assert body.getvalue() == b"abstract"
    _assert_never_connected(listener)


class _StrFileno:
    def fileno(self) -> str:
        return "3"


def _closed_socket(address: CurlSockAddr) -> socket.socket:
    sock = socket.socket(address.family, address.socktype, address.protocol)
    sock.close()
    return sock


_MADE: list[socket.socket] = []  # sockets the bad-return cases create; closed by the test


def _sock(address: CurlSockAddr) -> socket.socket:
    sock = socket.socket(address.family, address.socktype, address.protocol)
    _MADE.append(sock)
    return sock


def _fd(address: CurlSockAddr) -> int:
    return socket.socket(address.family, address.socktype, address.protocol).detach()


BAD_RETURNS: dict[str, tuple[Callable[[CurlSockAddr], Any], tuple[type, ...]]] = {
    "str": (lambda a: "5", (TypeError,)),
    "bytes": (lambda a: b"5", (TypeError,)),
    "float": (lambda a: 5.0, (TypeError,)),
    "bool": (lambda a: True, (TypeError,)),
    "negative int": (lambda a: -7, (ValueError,)),
    "closed socket": (_closed_socket, (ValueError,)),
    "fileno() returns str": (lambda a: _StrFileno(), (TypeError,)),
    "object": (lambda a: object(), (TypeError,)),
    "list": (lambda a: [_sock(a), a.addr], (TypeError,)),
    "tuple of 1": (lambda a: (_sock(a),), (TypeError, ValueError)),
    "tuple of 3": (lambda a: (_sock(a), a.addr, 0), (TypeError, ValueError)),
    "tuple, host not an address": (lambda a: (_sock(a), ("localhost", a.addr[1])), (ValueError,)),
    "tuple, host not a str": (lambda a: (_sock(a), (b"127.0.0.1", a.addr[1])), (TypeError,)),
    "tuple, port too big": (lambda a: (_sock(a), ("127.0.0.1", 70000)), (ValueError,)),
    "tuple, port a str": (lambda a: (_sock(a), ("127.0.0.1", "80")), (TypeError, ValueError)),
    "tuple, address a str": (lambda a: (_sock(a), "127.0.0.1:80"), (TypeError, ValueError)),
    "tuple, address an int": (lambda a: (_sock(a), 80), (TypeError,)),
    "tuple, AF_INET socket, IPv6 address": (
        lambda a: (_sock(a), ("::1", a.addr[1], 0, 0)),
        (ValueError,),
    ),
    "tuple, address too short": (lambda a: (_sock(a), ("127.0.0.1",)), (TypeError,)),
    "tuple, ipv6 host for ipv4": (lambda a: (_sock(a), ("::1", a.addr[1])), (ValueError,)),
    "tuple, int fd, bad address": (lambda a: (_fd(a), ("nowhere", 1)), (ValueError,)),
    "tuple, closed socket": (lambda a: (_closed_socket(a), a.addr), (ValueError,)),
    "tuple, None socket": (lambda a: (None, a.addr), (TypeError, ValueError)),
    "tuple, str socket": (lambda a: ("3", a.addr), (TypeError,)),
    "fd beyond a C int": (lambda a: 2**40, (pycurlcb.errors.ReturnOverflow,)),
}


E_WRITE = pycurlcb.E_WRITE_ERROR
E_ABORTED = pycurlcb.E_ABORTED_BY_CALLBACK

#: callback, what it returns -> what perform() does, as pycurl 7.49: "ok" (the
#: value is ignored), (code, type of the __cause__ or None) for a
#: pycurlcb.CallbackError, or ReturnOverflow, which perform() raises itself.
INT_RETURNS: list[tuple[str, int, Any]] = [
    # write/header: a C long cast to size_t; anything but the length aborts
    # (-1 is a plain abort), a value beyond a C long is an OverflowError.
    ("write", -1, (E_WRITE, None)),
    ("write", 2**70, (E_WRITE, OverflowError)),
    ("header", -5, (E_WRITE, None)),
    # progress/xferinfo: a C int; too large is an OverflowError as the cause.
    ("xferinfo", 2**40, (E_ABORTED, OverflowError)),
    ("xferinfo", -(2**40), (E_ABORTED, OverflowError)),
    # closesocket: libcurl ignores its return value, and so does pycurlcb.
    ("closesocket", 2**40, "ok"),
    # sockopt and opensocket's int: pycurl raises the OverflowError itself.
    ("sockopt", 2**40, pycurlcb.errors.ReturnOverflow),
    ("opensocket", 2**40, pycurlcb.errors.ReturnOverflow),
]


@pytest.mark.parametrize(("callback", "value", "expected"), INT_RETURNS)
def test_int_return_out_of_its_c_range(
    callback: str, value: int, expected: Any, httpserver: Any, capfd: Any
) -> None:
    """An int the callback's C return type cannot hold fails closed, as pycurl:
    never cffi's bare OverflowError from inside a trampoline."""

    def fn(*args: Any) -> int:
        if callback == "closesocket":
            os.close(args[0])
        return value

    c = pycurlcb.Curl()
    try:
        _setup_for(callback, c, httpserver, fn)
        if expected == "ok":
            c.perform()
            assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
        elif isinstance(expected, type):
            with pytest.raises(expected, match=f"{callback} callback returned {value} ") as info:
                c.perform()
            assert isinstance(info.value, OverflowError)
            assert not isinstance(info.value, pycurlcb.error)
        else:
            code, cause = expected
            with pytest.raises(pycurlcb.CallbackError) as info:
                c.perform()
            assert info.value.args[0] == code
            if cause is None:
                assert info.value.__cause__ is None
            else:
                assert type(info.value.__cause__) is cause
                assert str(value) in str(info.value.__cause__)
        _setup_for(callback, c, httpserver, _harmless(callback))
        c.perform()
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
    finally:
        c.close()
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("case", list(BAD_RETURNS))
def test_bad_return_raises_from_perform(
    case: str, listener: socket.socket, http_url: str, capfd: Any
) -> None:
    """A bad opensocket result fails the connect: pycurlcb.error(E_COULDNT_CONNECT)
    with the TypeError/ValueError as its cause (an int fd beyond a C int: the
    ReturnOverflow itself, as pycurl)."""
    make, expected = BAD_RETURNS[case]
    c, _ = _curl(_url_of(listener), OPENSOCKETFUNCTION=lambda purpose, address: make(address))
    try:
        if expected == (pycurlcb.errors.ReturnOverflow,):
            with pytest.raises(pycurlcb.errors.ReturnOverflow):
                c.perform()
        else:
            with pytest.raises(pycurlcb.CurlConnectionError) as info:
                c.perform()
            assert info.value.args[0] == pycurlcb.E_COULDNT_CONNECT
            assert isinstance(info.value.__cause__, expected), repr(info.value.__cause__)
            assert info.value.__cause__.__traceback__ is not None
        _assert_never_connected(listener)
        # The same handle completes the next transfer.
        c.unsetopt(pycurlcb.OPENSOCKETFUNCTION)
        _perform_ok(c, http_url, b"hello")
    finally:
        c.close()
        for sock in _MADE:
            sock.close()
        del _MADE[:]
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


# --------------------------------------------------------------------------
# exceptions raised in any callback


def _raiser(exc: BaseException) -> Callable[..., Any]:
    def fn(*args: Any) -> Any:
        raise exc

    return fn


def _setup_for(callback: str, c: pycurlcb.Curl, httpserver: Any, fn: Any) -> None:
    """Point ``c`` at a transfer in which ``callback`` runs, with ``fn`` installed."""
    c.setopt(pycurlcb.FORBID_REUSE, 1)  # closesocket runs inside perform()
    c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
    if callback == "read":
        httpserver.expect_request("/up", method="PUT").respond_with_data(b"stored")
        c.setopt(pycurlcb.URL, httpserver.url_for("/up"))
        c.setopt(pycurlcb.UPLOAD, 1)
        c.setopt(pycurlcb.INFILESIZE, 5)
    else:
        httpserver.expect_request("/hello").respond_with_data(b"hello")
        c.setopt(pycurlcb.URL, httpserver.url_for("/hello"))
    if callback == "debug":
        c.setopt(pycurlcb.VERBOSE, 1)
    if callback == "xferinfo":
        c.setopt(pycurlcb.NOPROGRESS, 0)  # pycurl: setting the callback does not do it
    option = {
        "opensocket": pycurlcb.OPENSOCKETFUNCTION,
        "sockopt": pycurlcb.SOCKOPTFUNCTION,
        "closesocket": pycurlcb.CLOSESOCKETFUNCTION,
        "write": pycurlcb.WRITEFUNCTION,
        "header": pycurlcb.HEADERFUNCTION,
        "read": pycurlcb.READFUNCTION,
        "xferinfo": pycurlcb.XFERINFOFUNCTION,
        "debug": pycurlcb.DEBUGFUNCTION,
    }[callback]
    c.setopt(option, fn)


def _harmless(callback: str) -> Any:
    return {
        "opensocket": lambda p, a: socket.socket(a.family, a.socktype, a.protocol).detach(),
        "sockopt": lambda fd, p: pycurlcb.SOCKOPT_OK,
        "closesocket": lambda fd: os.close(fd),
        "write": lambda b: None,
        "header": lambda b: None,
        "read": io.BytesIO(b"12345").read,
        "xferinfo": lambda *a: 0,
        "debug": lambda k, d: None,
    }[callback]


CALLBACKS = ["opensocket", "sockopt", "closesocket", "write", "header", "read", "xferinfo", "debug"]

#: The CURLcode perform() reports when each callback raises: what libcurl makes
#: of the trampoline's abort value (closesocket and debug cannot abort: libcurl
#: reports success or goes on, and pycurlcb reports E_ABORTED_BY_CALLBACK).
RAISED_CODE = {
    "opensocket": (pycurlcb.CurlConnectionError, pycurlcb.E_COULDNT_CONNECT),
    "sockopt": (pycurlcb.CallbackError, pycurlcb.E_ABORTED_BY_CALLBACK),
    "closesocket": (pycurlcb.CallbackError, pycurlcb.E_ABORTED_BY_CALLBACK),
    "write": (pycurlcb.CallbackError, pycurlcb.E_WRITE_ERROR),
    "header": (pycurlcb.CallbackError, pycurlcb.E_WRITE_ERROR),
    "read": (pycurlcb.CallbackError, pycurlcb.E_ABORTED_BY_CALLBACK),
    "xferinfo": (pycurlcb.CallbackError, pycurlcb.E_ABORTED_BY_CALLBACK),
    "debug": (pycurlcb.CallbackError, pycurlcb.E_ABORTED_BY_CALLBACK),
}


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt, ValueError])
@pytest.mark.parametrize("callback", CALLBACKS)
def test_exception_in_callback_comes_out_of_perform(
    callback: str, exc_type: type[BaseException], httpserver: Any, capfd: Any
) -> None:
    """An Exception: pycurlcb.error(code, message) with it as __cause__; a
    KeyboardInterrupt: itself.  Aborted at once, nothing printed."""
    exc = exc_type(f"raised in {callback}")
    calls = 0

    def fn(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if callback == "closesocket":
            os.close(args[0])  # it owns the fd, whatever it does next
        raise exc

    c = pycurlcb.Curl()
    try:
        _setup_for(callback, c, httpserver, fn)
        if issubclass(exc_type, Exception):
            cls, code = RAISED_CODE[callback]
            with pytest.raises(pycurlcb.error) as info:
                c.perform()
            assert type(info.value) is cls
            if callback == "debug" and info.value.args[0] == pycurlcb.E_WRITE_ERROR:
                # libcurl went on after the debug callback raised (see
                # test_exception_in_debug_alone_aborts_the_transfer) and the
                # write trampoline, refusing once a callback failed, stopped it.
                code = pycurlcb.E_WRITE_ERROR
            assert info.value.args[0] == code
            assert len(info.value.args) == 2 and isinstance(info.value.args[1], str)
            assert info.value.code == code
            assert info.value.__cause__ is exc
            assert getattr(exc, "__notes__", None) is None  # no note any more
        else:
            with pytest.raises(exc_type) as info:
                c.perform()
            assert info.value is exc
        assert calls == 1  # aborted at once: not called again
        assert exc.__traceback__ is not None
        # The handle stays usable.
        _setup_for(callback, c, httpserver, _harmless(callback))
        c.perform()
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
    finally:
        c.close()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("callback", ["opensocket", "sockopt"])
def test_raising_before_connect_fails_closed(
    callback: str, exc_type: type[BaseException], listener: socket.socket, capfd: Any
) -> None:
    """An exception in opensocket (or sockopt, which runs before connect()) means
    the server never sees a connection."""
    exc = exc_type("no")
    c, _ = _curl(_url_of(listener))
    with c:
        if callback == "opensocket":
            c.setopt(pycurlcb.OPENSOCKETFUNCTION, _raiser(exc))
        else:
            c.setopt(pycurlcb.SOCKOPTFUNCTION, _raiser(exc))
        with pytest.raises(BaseException) as info:
            c.perform()
        if issubclass(exc_type, Exception):
            cls, code = RAISED_CODE[callback]
            assert type(info.value) is cls
            assert info.value.args[0] == code
            assert info.value.__cause__ is exc
        else:
            assert info.value is exc
    _assert_never_connected(listener)
    assert capfd.readouterr() == ("", "")


def test_sigint_during_perform_is_keyboardinterrupt(
    silent_server: Any, capfd: Any, sigint_raises: None
) -> None:
    """A real Ctrl-C while libcurl waits: the next callback aborts the transfer."""
    main = threading.get_ident()
    c, _ = _curl(f"http://{silent_server.host}:{silent_server.port}/", TIMEOUT_MS=5000)
    c.setopt(pycurlcb.NOPROGRESS, 0)
    c.setopt(pycurlcb.XFERINFOFUNCTION, lambda *a: None)
    timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
    start = time.monotonic()
    with c:
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                c.perform()
        finally:
            timer.join()
    assert time.monotonic() - start < 2.5  # not the 5 s timeout
    assert capfd.readouterr() == ("", "")


def _bytes_received(sock: socket.socket) -> bytes:
    """What clients sent to ``sock`` (a listener that never accepted) so far."""
    got = b""
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return got
        with conn:
            try:
                got += conn.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                pass


def test_exception_in_debug_alone_aborts_the_transfer(listener: socket.socket, capfd: Any) -> None:
    """No other callback is set: the debug callback's exception must still abort
    the transfer at once (libcurl ignores its return value): it raises at its
    first call ("Trying ..."), so no byte of the request may be sent."""
    exc = RuntimeError("debug")
    c, _ = _curl(_url_of(listener) + "hello")
    with c:
        c.unsetopt(pycurlcb.WRITEDATA)
        c.setopt(pycurlcb.NOBODY, 1)  # nothing for libcurl to write to stdout
        c.setopt(pycurlcb.VERBOSE, 1)
        c.setopt(pycurlcb.DEBUGFUNCTION, _raiser(exc))
        with pytest.raises(pycurlcb.CallbackError) as info:
            c.perform()
        assert info.value.args[0] == pycurlcb.E_ABORTED_BY_CALLBACK
        assert info.value.__cause__ is exc
    sent = _bytes_received(listener)  # loopback: what libcurl sent has arrived
    if VERSION_NUM >= version_num("7.82.0"):
        assert sent == b"", f"the transfer went on after the debug callback raised: {sent!r}"
    # else: libcurl 7.81.0 and older connect to loopback and send the request
    # inside the very curl_multi_perform call in which the debug callback
    # reports "Trying": no caller can stop it before that call returns
    assert capfd.readouterr() == ("", "")


def test_exception_in_closesocket_at_close(ka_server: Any, capfd: Any, unraisable: list[Any]) -> None:
    """With a cached connection the close happens at c.close(): teardown, so
    what closesocket raises goes to sys.unraisablehook (pycurl), and the fd it
    was handed is its own: pycurlcb does not close it after it raised."""
    url, _ = ka_server
    exc = RuntimeError("closesocket at close")
    closed: list[int] = []

    def closesocket(fd: int) -> None:
        closed.append(fd)
        raise exc

    c, body = _curl(url + "/", CLOSESOCKETFUNCTION=closesocket)
    c.perform()
    assert body.getvalue() == b"ka/"
    assert closed == []
    c.close()  # does not raise
    assert c.closed
    assert [u.exc_value for u in unraisable] == [exc]
    assert "close" in unraisable[0].err_msg
    assert unraisable[0].object is c
    assert len(closed) == 1
    assert _is_socket(closed[0])  # still open: the callable owns it
    os.close(closed[0])
    assert capfd.readouterr() == ("", "")


# --------------------------------------------------------------------------
# sockopt


def test_sockopt_args(http_url: str) -> None:
    calls: list[tuple[Any, Any]] = []

    def sockopt(fd: int, purpose: Any) -> int:
        calls.append((fd, purpose))
        assert type(fd) is int and _is_socket(fd)
        # Before connect(): the socket has no peer yet.
        with pytest.raises(OSError):
            socket.socket(fileno=os.dup(fd)).getpeername()
        return pycurlcb.SOCKOPT_OK

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        c, body = _curl(http_url, SOCKOPTFUNCTION=sockopt)
        with c:
            c.perform()
    assert body.getvalue() == b"hello"
    [(fd, purpose)] = calls
    assert purpose is SockType.IPCXN


def test_sockopt_can_set_options(http_url: str) -> None:
    seen: list[int] = []

    def sockopt(fd: int, purpose: Any) -> None:
        s = socket.socket(fileno=fd)
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            seen.append(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        finally:
            s.detach()  # libcurl owns the fd

    c, body = _curl(http_url, SOCKOPTFUNCTION=sockopt, TCP_NODELAY=0)
    with c:
        c.perform()
    assert body.getvalue() == b"hello"
    assert seen and seen[0] != 0


@pytest.mark.parametrize("ok", [None, pycurlcb.SOCKOPT_OK, pycurlcb.SockOpt.OK, False])  # False: 0, as pycurl
def test_sockopt_ok(http_url: str, ok: Any) -> None:
    c, body = _curl(http_url, SOCKOPTFUNCTION=lambda fd, p: ok)
    with c:
        c.perform()
    assert body.getvalue() == b"hello"


def test_sockopt_error_aborts(listener: socket.socket, http_url: str) -> None:
    c, _ = _curl(_url_of(listener), SOCKOPTFUNCTION=lambda fd, p: pycurlcb.SOCKOPT_ERROR)
    with c:
        with pytest.raises(pycurlcb.error) as info:
            c.perform()
        assert info.value.args[0] == pycurlcb.E_ABORTED_BY_CALLBACK
        assert isinstance(info.value, pycurlcb.CallbackError)
        _assert_never_connected(listener)
        c.setopt(pycurlcb.SOCKOPTFUNCTION, lambda fd, p: pycurlcb.SOCKOPT_OK)
        _perform_ok(c, http_url, b"hello")


@pytest.mark.parametrize(
    ("bad", "cause"),
    [
        ("0", TypeError), (0.0, TypeError), (object(), TypeError),
        (3, ValueError), (99, ValueError), (-5, ValueError), (True, None),
    ],
    ids=repr,
)
def test_sockopt_bad_return(listener: socket.socket, bad: Any, cause: Any, capfd: Any) -> None:
    """A non-int is a TypeError (the cause, pycurl's message); an int other than
    SOCKOPT_OK, SOCKOPT_ERROR, SOCKOPT_ALREADY_CONNECTED a ValueError naming it.
    Both abort before connect().  True is 1, SOCKOPT_ERROR: a plain abort."""
    c, _ = _curl(_url_of(listener), SOCKOPTFUNCTION=lambda fd, p: bad)
    with c, pytest.raises(pycurlcb.CallbackError) as info:
        c.perform()
    assert info.value.args[0] == pycurlcb.E_ABORTED_BY_CALLBACK
    if cause is None:
        assert info.value.__cause__ is None
    else:
        assert type(info.value.__cause__) is cause
        if cause is TypeError:
            assert str(info.value.__cause__) == (
                f"sockopt callback returned {bad!r} which is not an integer"
            )
        else:
            assert str(info.value.__cause__) == (
                f"sockopt callback returned {bad}, which is not SOCKOPT_OK (0), "
                "SOCKOPT_ERROR (1) or SOCKOPT_ALREADY_CONNECTED (2)"
            )
    _assert_never_connected(listener)
    assert capfd.readouterr() == ("", "")


def _preconnecting_opensocket(made: list[socket.socket]) -> Callable[..., socket.socket]:
    def opensocket(purpose: Any, address: CurlSockAddr) -> socket.socket:
        sock = socket.socket(address.family, address.socktype, address.protocol)
        made.append(sock)
        sock.connect(address.addr)
        return sock

    return opensocket


@pytest.mark.skipif(
    BROKEN_ALREADY_CONNECTED,
    reason="libcurl 7.88.0/7.88.1 ignore CURL_SOCKOPT_ALREADY_CONNECTED (curl/curl#10626)",
)
def test_sockopt_already_connected(http_url: str) -> None:
    made: list[socket.socket] = []
    c, body = _curl(
        http_url,
        OPENSOCKETFUNCTION=_preconnecting_opensocket(made),
        SOCKOPTFUNCTION=lambda fd, p: pycurlcb.SOCKOPT_ALREADY_CONNECTED,
    )
    with c:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no warning on a fixed libcurl
            c.perform()
    for sock in made:
        sock.close()
    assert body.getvalue() == b"hello"


@pytest.mark.skipif(not BROKEN_ALREADY_CONNECTED, reason="only libcurl 7.88.0/7.88.1 warn")
def test_sockopt_already_connected_warns_once_on_7_88(
    http_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pycurlcb._callbacks.sockets, "_warned_already_connected", False)
    made: list[socket.socket] = []
    c, _ = _curl(
        http_url,
        OPENSOCKETFUNCTION=_preconnecting_opensocket(made),
        SOCKOPTFUNCTION=lambda fd, p: pycurlcb.SOCKOPT_ALREADY_CONNECTED,
    )
    with c, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            # What 7.88.1 does: connect() again, EISCONN, CURLE_COULDNT_CONNECT.
            with pytest.raises(pycurlcb.CurlConnectionError) as info:
                c.perform()
            assert info.value.args[0] == pycurlcb.E_COULDNT_CONNECT
    for sock in made:
        sock.close()
    ours = [w for w in caught if "10626" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    assert ours[0].category is RuntimeWarning


# --------------------------------------------------------------------------
# closesocket


def test_closesocket_for_every_socket_inside_perform(http_paths: Any) -> None:
    """FORBID_REUSE=1: each connection is closed at the end of its transfer."""
    given: list[int] = []
    closed: list[int] = []

    def opensocket(purpose: Any, address: CurlSockAddr) -> int:
        fd = socket.socket(address.family, address.socktype, address.protocol).detach()
        given.append(fd)
        return fd

    def closesocket(fd: int) -> int:
        assert _is_socket(fd)  # still open when handed over
        closed.append(fd)
        os.close(fd)
        return 0

    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
        c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
        c.setopt(pycurlcb.FORBID_REUSE, 1)
        for i, (url, expected) in enumerate(http_paths(3)):
            _perform_ok(c, url, expected)
            assert len(given) == i + 1
            assert closed == given
    assert len(closed) == 3


def test_closesocket_after_perform_at_close(ka_server: Any) -> None:
    """FORBID_REUSE=0 with a keep-alive server: the close happens at c.close()."""
    url, _ = ka_server
    trace = Trace()
    c = pycurlcb.Curl()
    trace.install(c)
    c.setopt(pycurlcb.FORBID_REUSE, 0)
    for path in ("/a", "/b", "/c"):
        _perform_ok(c, url + path, b"ka" + path.encode())
    assert len(trace.opened) == 1  # one connection, reused
    assert trace.closed == []
    c.close()
    assert len(trace.closed) == 1
    assert trace.closed[0] == trace.sockopts[0][0]


def test_connection_cache_reuse_and_eviction(ka_server: Any, ka_server2: Any) -> None:
    """As curl_easy_perform(3): connections are reused across performs, and
    MAXCONNECTS=1 evicts (closes, through closesocket) the older one during
    the next transfer."""
    url1, _ = ka_server
    url2, _ = ka_server2
    trace = Trace()
    with pycurlcb.Curl() as c:
        trace.install(c)
        _perform_ok(c, url1 + "/a", b"ka/a")
        _perform_ok(c, url2 + "/b", b"second/b")
        _perform_ok(c, url1 + "/c", b"ka/c")
        assert c.getinfo(pycurlcb.NUM_CONNECTS) == 0  # reused
        assert len(trace.opened) == 2 and trace.closed == []
        c.setopt(pycurlcb.MAXCONNECTS, 1)
        # libcurl evicts the longest idle one, in whole milliseconds: make it url1's.
        time.sleep(0.02)
        _perform_ok(c, url2 + "/d", b"second/d")  # the cache keeps only one
        assert len(trace.closed) == 1
        _perform_ok(c, url1 + "/e", b"ka/e")
        assert c.getinfo(pycurlcb.NUM_CONNECTS) == 1  # url1's connection was evicted
        assert len(trace.opened) == 3
    assert len(trace.closed) == 3


def test_closesocket_at_del_and_gc(ka_server: Any) -> None:
    url, _ = ka_server
    closed: list[int] = []

    def make() -> pycurlcb.Curl:
        def closesocket(fd: int) -> None:
            closed.append(fd)
            os.close(fd)

        c = pycurlcb.Curl()
        c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
        _perform_ok(c, url + "/", b"ka/")
        return c

    c = make()
    assert closed == []
    del c
    gc.collect()
    assert len(closed) == 1


def test_subclass_without_super_del_is_released_by_ffi_gc(ka_server: Any) -> None:
    """A subclass __del__ that does not call super(): the C handle is released by
    ffi.gc when the object is collected, without calling Python (its
    closesocket is not called), and its cached connection is closed all the
    same (the fd-leak check)."""
    url, _ = ka_server
    closed: list[int] = []

    class Quiet(pycurlcb.Curl):
        def __del__(self) -> None:
            pass

    def make() -> pycurlcb.Curl:
        def closesocket(fd: int) -> None:
            closed.append(fd)
            os.close(fd)

        c = Quiet()
        c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
        _perform_ok(c, url + "/", b"ka/")
        return c

    c = make()
    ref = weakref.ref(c)
    del c
    gc.collect()
    assert ref() is None
    assert closed == []


@pytest.mark.parametrize("value", ["closed", None, 1, -1, 2**40, object()], ids=repr)
def test_closesocket_return_value_is_ignored(http_url: str, value: Any, capfd: Any) -> None:
    """libcurl ignores CLOSESOCKETFUNCTION's result, and so does pycurlcb (pycurl)."""
    closed: list[int] = []

    def closesocket(fd: int) -> Any:
        closed.append(fd)
        os.close(fd)
        return value

    c, body = _curl(http_url, CLOSESOCKETFUNCTION=closesocket, FORBID_REUSE=1)
    with c:
        c.perform()
        _perform_ok(c, http_url, b"hello")
    assert body.getvalue() == b"hello"
    assert len(closed) == 2
    assert capfd.readouterr() == ("", "")


# --------------------------------------------------------------------------
# purpose ACCEPT: active-mode FTP


def test_active_ftp_accept_purpose(ftp_server: Any) -> None:
    trace = Trace()
    c, body = _curl(ftp_server.url, FTPPORT="127.0.0.1")
    with c:
        trace.install(c)
        c.perform()
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 226
    assert body.getvalue() == ftp_server.data
    purposes = [p for p, _ in trace.opened]
    assert purposes == [SockType.IPCXN, SockType.IPCXN]  # control, then the listener
    control, listen = (a for _, a in trace.opened)
    assert control.addr == ("127.0.0.1", ftp_server.port)
    assert listen.family == socket.AF_INET
    assert listen.addr[1] == 0  # bind address for PORT: any port
    sockopt_purposes = [p for _, p in trace.sockopts]
    assert SockType.ACCEPT in sockopt_purposes
    assert sockopt_purposes[0] is SockType.IPCXN
    assert sockopt_purposes[-1] is SockType.ACCEPT
    assert all(isinstance(p, SockType) for p in sockopt_purposes)
    assert pycurlcb.SOCKTYPE_ACCEPT == SockType.ACCEPT
    # Both sockets opensocket made were closed through closesocket.
    assert len(trace.closed) == 2


def test_passive_ftp_has_no_accept(ftp_server: Any) -> None:
    trace = Trace()
    c, body = _curl(ftp_server.url)
    with c:
        trace.install(c)
        c.perform()
    assert body.getvalue() == ftp_server.data
    assert all(p is SockType.IPCXN for p, _ in trace.opened)
    assert all(p is SockType.IPCXN for _, p in trace.sockopts)
    assert len(trace.opened) == 2  # control and data
    assert len(trace.closed) == 2


# --------------------------------------------------------------------------
# TLS over a socket made by opensocket


def test_tls_over_opensocket_socket(tls_server: Any) -> None:
    trace = Trace()
    c, body = _curl(tls_server.url, CAINFO=tls_server.ca_file)
    with c:
        trace.install(c)
        c.perform()
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
        assert c.getinfo(pycurlcb.SSL_VERIFYRESULT) == 0
    assert body.getvalue() == tls_server.body
    assert len(trace.opened) == 1
    assert trace.opened[0][1].addr == ("127.0.0.1", tls_server.port)
    assert len(trace.closed) == 1


def test_tls_redirected_by_opensocket_still_verifies(tls_server: Any, listener: socket.socket) -> None:
    """Redirecting the socket does not change the name TLS verifies."""
    made: list[socket.socket] = []

    def opensocket(purpose: Any, address: CurlSockAddr) -> Any:
        sock = socket.socket(address.family, address.socktype, address.protocol)
        made.append(sock)
        return sock, (tls_server.host, tls_server.port)

    port = listener.getsockname()[1]
    c, body = _curl(
        f"https://127.0.0.1:{port}/", CAINFO=tls_server.ca_file, OPENSOCKETFUNCTION=opensocket
    )
    with c:
        c.perform()
    for sock in made:
        sock.close()
    assert body.getvalue() == tls_server.body
    _assert_never_connected(listener)


# --------------------------------------------------------------------------
# lifetimes


def _install_closures(c: pycurlcb.Curl, counts: dict[str, int], chunks: list[bytes]) -> None:
    """Callbacks referenced only by the handle once this function returns."""

    def opensocket(purpose: Any, address: CurlSockAddr) -> int:
        counts["open"] += 1
        return socket.socket(address.family, address.socktype, address.protocol).detach()

    def sockopt(fd: int, purpose: Any) -> None:
        counts["sockopt"] += 1

    def closesocket(fd: int) -> int:
        counts["close"] += 1
        os.close(fd)
        return 0

    c.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
    c.setopt(pycurlcb.SOCKOPTFUNCTION, sockopt)
    c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
    c.setopt(pycurlcb.WRITEFUNCTION, lambda b: chunks.append(b))
    c.setopt(pycurlcb.HEADERFUNCTION, lambda b: None)
    c.setopt(pycurlcb.XFERINFOFUNCTION, lambda *a: None)


def test_set_once_perform_twenty_times_with_gc(http_url: str) -> None:
    counts = {"open": 0, "sockopt": 0, "close": 0}
    chunks: list[bytes] = []
    c = pycurlcb.Curl()
    c.setopt(pycurlcb.URL, http_url)
    c.setopt(pycurlcb.FORBID_REUSE, 1)
    _install_closures(c, counts, chunks)
    gc.collect()
    with c:
        for i in range(20):
            c.perform()
            gc.collect()
            assert b"".join(chunks) == b"hello" * (i + 1)
    assert counts == {"open": 20, "sockopt": 20, "close": 20}


class _Callable:
    """A callable object a weakref can watch."""

    def __init__(self, result: Any = None) -> None:
        self.result = result

    def __call__(self, *args: Any) -> Any:
        return self.result


_CALLBACK_OPTIONS = [
    "OPENSOCKETFUNCTION", "SOCKOPTFUNCTION", "CLOSESOCKETFUNCTION", "WRITEFUNCTION",
    "HEADERFUNCTION", "READFUNCTION", "XFERINFOFUNCTION", "DEBUGFUNCTION",
]


@pytest.mark.skipif(not hasattr(sys, "getrefcount"), reason="PyPy has no sys.getrefcount (no reference "
                    "counts) and no equivalent for 'exactly one reference'; the weak-reference checks of "
                    "test_replacing_or_unsetting_drops_the_old_callable run there")
@pytest.mark.parametrize("name", _CALLBACK_OPTIONS)
def test_a_set_callable_has_exactly_one_strong_reference(name: str) -> None:
    with pycurlcb.Curl() as c:
        old = _Callable()
        before = sys.getrefcount(old)
        c.setopt(getattr(pycurlcb, name), old)
        assert sys.getrefcount(old) == before + 1


@pytest.mark.parametrize("how", ["replace", "unsetopt", "setopt None", "reset"])
@pytest.mark.parametrize("name", _CALLBACK_OPTIONS)
def test_replacing_or_unsetting_drops_the_old_callable(name: str, how: str) -> None:
    option = getattr(pycurlcb, name)
    with pycurlcb.Curl() as c:
        old = _Callable()
        c.setopt(option, old)
        ref = weakref.ref(old)
        del old
        gc.collect()
        assert ref() is not None  # the handle keeps it alive while set
        if how == "replace":
            c.setopt(option, _Callable())
        elif how == "unsetopt":
            c.unsetopt(option)
        elif how == "setopt None":
            c.setopt(option, None)
        else:
            c.reset()
        gc.collect()
        assert ref() is None


def test_replaced_callback_is_the_one_called(http_url: str) -> None:
    first: list[Any] = []
    second: list[Any] = []
    c, body = _curl(http_url)
    with c:
        c.setopt(pycurlcb.SOCKOPTFUNCTION, lambda fd, p: first.append(fd))
        c.setopt(pycurlcb.SOCKOPTFUNCTION, lambda fd, p: second.append(fd))
        c.perform()
        c.unsetopt(pycurlcb.SOCKOPTFUNCTION)
        _perform_ok(c, http_url, b"hello")
    assert first == [] and len(second) == 1


def test_reset_with_a_cached_connection(ka_server: Any) -> None:
    """reset() drops the callables; the connection opened under them still closes."""
    url, _ = ka_server
    counts = {"open": 0, "sockopt": 0, "close": 0}
    chunks: list[bytes] = []
    c = pycurlcb.Curl()
    c.setopt(pycurlcb.URL, url + "/")
    _install_closures(c, counts, chunks)
    c.perform()
    c.reset()
    gc.collect()
    _perform_ok(c, url + "/again", b"ka/again")  # may reuse the cached connection
    c.close()
    assert chunks == [b"ka/"]
    assert counts["open"] == 1


def test_duphandle_carries_callbacks_over(http_url: str) -> None:
    counts = {"open": 0, "sockopt": 0, "close": 0}
    chunks: list[bytes] = []
    c = pycurlcb.Curl()
    c.setopt(pycurlcb.URL, http_url)
    _install_closures(c, counts, chunks)
    d = c.duphandle()
    c.close()
    del c
    gc.collect()
    with d:
        d.perform()
        gc.collect()
        d.perform()
    assert b"".join(chunks) == b"hello" * 2
    assert counts["open"] == counts["sockopt"] == counts["close"] == 2


def test_duphandle_copy_has_its_own_connections(ka_server: Any) -> None:
    url, _ = ka_server
    trace = Trace()
    c = pycurlcb.Curl()
    trace.install(c)
    _perform_ok(c, url + "/1", b"ka/1")
    d = c.duphandle()
    _perform_ok(d, url + "/2", b"ka/2")
    assert len(trace.opened) == 2  # the copy does not share c's connection cache
    c.close()
    assert len(trace.closed) == 1
    _perform_ok(d, url + "/3", b"ka/3")
    d.close()
    assert len(trace.closed) == 2


def _valid_orders() -> list[tuple[str, ...]]:
    """Every order of closing, deleting and collecting two handles (c and its copy d).

    Each handle is either closed then deleted, or only deleted (its __del__
    closes it); ``gc`` runs once somewhere in between.
    """
    orders = set()
    for c_ops in (("close c", "del c"), ("del c",)):
        for d_ops in (("close d", "del d"), ("del d",)):
            events = c_ops + d_ops + ("gc",)
            for perm in itertools.permutations(events):
                if all(
                    perm.index(f"close {h}") < perm.index(f"del {h}")
                    for h in "cd"
                    if f"close {h}" in perm
                ):
                    orders.add(perm)
    return sorted(orders)


def test_close_del_gc_in_every_order(ka_server: Any) -> None:
    url, _ = ka_server
    orders = _valid_orders()
    assert len(orders) > 40
    total_opened = 0
    total_closed = 0
    for order in orders:
        counts = {"open": 0, "sockopt": 0, "close": 0}
        chunks: list[bytes] = []
        handles: dict[str, Any] = {"c": pycurlcb.Curl()}
        handles["c"].setopt(pycurlcb.URL, url + "/")
        _install_closures(handles["c"], counts, chunks)
        handles["c"].perform()  # leaves a cached connection in c
        handles["d"] = handles["c"].duphandle()
        handles["d"].perform()  # and one in d
        for event in order:
            if event == "gc":
                gc.collect()
            else:
                what, name = event.split()
                if what == "close":
                    handles[name].close()
                    assert handles[name].closed
                else:
                    del handles[name]  # refcounting runs __del__ -> close() now
        if not hasattr(sys, "getrefcount"):
            # PyPy runs __del__ in a collection only: a "del" after the
            # order's "gc" closes in the next one (several: see collect_garbage).
            collect_garbage()
        assert b"".join(chunks) == b"ka/" * 2
        assert counts["open"] == 2
        assert counts["close"] == 2, order  # every cached connection closed through it
        total_opened += counts["open"]
        total_closed += counts["close"]
    assert total_opened == total_closed == 2 * len(orders)
    assert pycurlcb._lifetime.ORPHANS == set()


def test_callbacks_survive_the_caller_dropping_them(http_url: str) -> None:
    """Callables whose only reference is the handle, gc between setopt and perform."""
    got: list[bytes] = []

    def make() -> pycurlcb.Curl:
        c = pycurlcb.Curl()
        c.setopt(pycurlcb.URL, http_url)
        c.setopt(pycurlcb.OPENSOCKETFUNCTION, _Callable_open())
        c.setopt(pycurlcb.SOCKOPTFUNCTION, _Callable(pycurlcb.SOCKOPT_OK))
        c.setopt(pycurlcb.CLOSESOCKETFUNCTION, _Callable_close())
        c.setopt(pycurlcb.WRITEFUNCTION, got.append)
        return c

    c = make()
    gc.collect()
    with c:
        c.perform()
    assert got == [b"hello"]


class _Callable_open:  # noqa: N801
    def __call__(self, purpose: Any, address: CurlSockAddr) -> int:
        return socket.socket(address.family, address.socktype, address.protocol).detach()


class _Callable_close:  # noqa: N801
    def __call__(self, fd: int) -> int:
        os.close(fd)
        return 0


# --------------------------------------------------------------------------
# threads


def test_threads_each_with_own_curl_and_callbacks(ka_server: Any) -> None:
    url, _ = ka_server
    n_threads, n_transfers = 8, 50
    failures: list[BaseException] = []
    traces = [Trace() for _ in range(n_threads)]
    idents: list[int] = [0] * n_threads
    barrier = threading.Barrier(n_threads)

    def work(i: int) -> None:
        try:
            idents[i] = threading.get_ident()
            c = pycurlcb.Curl()
            traces[i].install(c)
            c.setopt(pycurlcb.FORBID_REUSE, 1)  # a new socket for every transfer
            barrier.wait()
            with c:
                for j in range(n_transfers):
                    path = f"/thread{i}/transfer{j}"
                    _perform_ok(c, url + path, b"ka" + path.encode())
        except BaseException as exc:  # noqa: B036 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    for i, trace in enumerate(traces):
        assert len(trace.opened) == n_transfers
        assert len(trace.sockopts) == n_transfers
        assert len(trace.closed) == n_transfers
        assert trace.threads == {idents[i]}  # each handle's callbacks ran on its own thread
