"""Real local servers for the test suite: loopback only, threaded, stoppable.

Every server here is started by a fixture in conftest.py and stopped at that
fixture's teardown: the listening socket is closed, connections a client left
open are shut down, and every server thread is joined.  Nothing here imports
pycurlcb.

Servers built on the standard library (HTTP over IPv6, over a Unix socket and
over TLS) answer every GET/HEAD/POST/PUT with one fixed body, speak HTTP/1.1
with keep-alive, and record handler exceptions in ``.errors`` instead of
printing them.
"""

from __future__ import annotations

import http.server
import logging
import os
import selectors
import socket
import socketserver
import ssl
import sys
import threading
import time
import warnings
import zlib
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "Address",
    "FTPServerInfo",
    "FixedBodyHandler",
    "FTPServerThread",
    "SilentServer",
    "StdlibServer",
    "TLSServerInfo",
    "ipv6_loopback_available",
    "make_http6_server",
    "make_tls_server",
    "make_unix_http_server",
]

JOIN_TIMEOUT = 5.0  # seconds; a server thread that takes longer is a bug


class Address(NamedTuple):
    """(host, port) of a TCP listener."""

    host: str
    port: int


# --------------------------------------------------------------------------
# HTTP on the standard library


class FixedBodyHandler(http.server.BaseHTTPRequestHandler):
    """Answers every request with 200 and ``server.body`` (bytes), HTTP/1.1.

    A request body (Content-Length) is read and discarded.  Logging is off,
    and ``address_string()`` works on AF_UNIX, where ``client_address`` is
    ``''`` (BaseHTTPRequestHandler would raise IndexError on it).
    """

    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds per blocking read; teardown does not wait for it

    server: StdlibServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            # Before the base class makes rfile/wfile: if the handshake fails,
            # no file object is left holding the socket's fd open.
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def address_string(self) -> str:
        if isinstance(self.client_address, tuple) and self.client_address:
            return str(self.client_address[0])
        return "unix"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _reply(self, send_body: bool) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply(True)

    def do_POST(self) -> None:
        self._reply(True)

    def do_PUT(self) -> None:
        self._reply(True)

    def do_HEAD(self) -> None:
        self._reply(False)


class StdlibServer(socketserver.ThreadingMixIn, socketserver.BaseServer):
    """Mixin over a socketserver class: one thread per connection, clean stop.

    Use through the ``make_*`` functions; call ``start()`` then ``stop()``.
    Accepted sockets are kept so ``stop()`` can shut down keep-alive
    connections that a client has not closed yet; handler threads are not
    daemons and ``server_close()`` joins them.
    """

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    body: bytes
    errors: list[BaseException]
    _conns: set[socket.socket]
    _conns_lock: threading.Lock
    _serve_thread: threading.Thread | None

    def _init_tracking(self, body: bytes) -> None:
        self.body = body
        self.errors = []
        self._conns = set()
        self._conns_lock = threading.Lock()
        self._serve_thread = None

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if exc is not None:
            # Without its traceback: the frames hold the handler and its
            # file objects, which would keep the connection's fd open.
            exc.__traceback__ = None
            exc.__context__ = None
            self.errors.append(exc)

    def start(self) -> None:
        self._serve_thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-serve",
        )
        self._serve_thread.start()

    def stop(self) -> None:
        """Stop accepting, drop open connections, join every thread."""
        if self._serve_thread is not None:
            self.shutdown()
            self._serve_thread.join(JOIN_TIMEOUT)
            self._serve_thread = None
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                # The base-class call works on an SSLSocket too without
                # dropping its SSL object under a thread still reading it.
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()  # closes the listener, joins handler threads


class _TCPServer(StdlibServer, http.server.HTTPServer):
    def __init__(self, address: tuple[str, int], body: bytes) -> None:
        self._init_tracking(body)
        super().__init__(address, FixedBodyHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a DNS lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])


class _TCP6Server(_TCPServer):
    address_family = socket.AF_INET6


class _TLSServer(_TCPServer):
    ssl_context: ssl.SSLContext

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        # No handshake here, in the accepting thread: a client that never
        # speaks TLS would block every other client.  The handler does it.
        tls = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return tls, addr


class _UnixServer(StdlibServer, socketserver.UnixStreamServer):
    def __init__(self, path: str, body: bytes) -> None:
        self._init_tracking(body)
        super().__init__(path, FixedBodyHandler)

    def server_close(self) -> None:
        super().server_close()
        try:
            os.unlink(self.server_address)  # type: ignore[arg-type]
        except OSError:
            pass


def ipv6_loopback_available() -> bool:
    """True if a socket can bind to ::1 here (containers often lack IPv6)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def make_http6_server(body: bytes = b"ipv6") -> StdlibServer:
    """HTTP/1.1 server on [::1]:<ephemeral>; not started."""
    return _TCP6Server(("::1", 0), body)


def make_unix_http_server(path: str, body: bytes = b"unix") -> StdlibServer:
    """HTTP/1.1 server on the Unix socket ``path`` (must not exist); not started."""
    return _UnixServer(path, body)


class TLSServerInfo(NamedTuple):
    """What ``tls_server`` returns.

    url: ``https://127.0.0.1:PORT/`` (the cert has IP SAN 127.0.0.1).
    localhost_url: ``https://localhost:PORT/`` (cert has DNS SAN localhost;
      the server listens on 127.0.0.1 only, so a client trying ::1 first
      gets a refusal before it falls back).
    ca_file: path of the CA certificate, PEM, to pass as CAINFO.
    body: what every request gets, ``b"tls ok"``.
    host, port: the listener, 127.0.0.1 and the ephemeral port.
    server: the running server; ``server.errors`` holds handshake failures.
    """

    url: str
    localhost_url: str
    ca_file: str
    body: bytes
    host: str
    port: int
    server: StdlibServer


def make_tls_server(tmp_dir: Path, body: bytes = b"tls ok") -> TLSServerInfo:
    """HTTPS (HTTP/1.1) server on 127.0.0.1 with a fresh trustme CA; not started."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1", "::1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ca_file = tmp_dir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    server = _TLSServer(("127.0.0.1", 0), body)
    server.ssl_context = ctx
    port = server.server_address[1]
    return TLSServerInfo(
        url=f"https://127.0.0.1:{port}/",
        localhost_url=f"https://localhost:{port}/",
        ca_file=str(ca_file),
        body=body,
        host="127.0.0.1",
        port=port,
        server=server,
    )


# --------------------------------------------------------------------------
# A TCP listener that never answers


class SilentServer:
    """Accepts TCP connections on 127.0.0.1, reads and discards, never writes.

    A connection is closed when the client closes it (so the fd-leak check
    sees the server's fd go away after a client timeout), and at ``stop()``.
    ``accepted`` counts connections accepted so far.
    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.setblocking(False)
        self.address = Address("127.0.0.1", self._listener.getsockname()[1])
        self.accepted = 0
        # Made here, not in the thread: the fd-leak check counts fds right
        # after fixture setup, and an epoll fd opened later would look leaked.
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="SilentServer")

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        with self._sel as sel:
            try:
                while not self._stop.is_set():
                    for key, _ in sel.select(0.05):
                        sock: socket.socket = key.fileobj  # type: ignore[assignment]
                        if sock is self._listener:
                            try:
                                conn, _addr = sock.accept()
                            except BlockingIOError:
                                continue
                            conn.setblocking(False)
                            self.accepted += 1
                            sel.register(conn, selectors.EVENT_READ)
                            continue
                        try:
                            data = sock.recv(65536)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b""
                        if not data:
                            sel.unregister(sock)
                            sock.close()
            finally:
                for key in list(sel.get_map().values()):
                    if key.fileobj is not self._listener:
                        key.fileobj.close()  # type: ignore[union-attr]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT)
        self._listener.close()


# --------------------------------------------------------------------------
# FTP (pyftpdlib)


class FTPServerInfo(NamedTuple):
    """What ``ftp_server`` returns: ``url, data = ftp_server``.

    url: ``ftp://127.0.0.1:PORT/file.txt``, anonymous, read-only.
    data: the exact content of file.txt, ``b"ftp data\\n" * 100``.
    """

    url: str
    data: bytes

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.url.split(":")[2].split("/")[0])

    @property
    def base_url(self) -> str:
        return self.url.rsplit("/", 1)[0] + "/"


class FTPServerThread:
    """pyftpdlib FTPServer on 127.0.0.1:<ephemeral>, anonymous read access to ``root``.

    Active mode works with pyftpdlib's defaults for a client on 127.0.0.1:
    ``permit_foreign_addresses=False`` only requires the PORT/EPRT address to
    equal the control connection's peer address, and
    ``permit_privileged_ports=False`` only refuses data ports below 1024
    (clients use ephemeral ports).  The server connects back from an
    ephemeral port, not 20.

    The IO loop is private to this server (not ``IOLoop.instance()``) and is
    driven in non-blocking steps so ``stop()`` can end it from another thread;
    the loop's own thread closes every socket.
    """

    def __init__(self, root: str) -> None:
        with warnings.catch_warnings():
            # On Python < 3.12 pyftpdlib imports the deprecated asyncore/asynchat.
            warnings.filterwarnings(
                "ignore", r"The async(ore|hat) module is deprecated", DeprecationWarning
            )
            from pyftpdlib.authorizers import DummyAuthorizer  # type: ignore[import-untyped]
            from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]
            from pyftpdlib.ioloop import IOLoop  # type: ignore[import-untyped]
            from pyftpdlib.servers import FTPServer  # type: ignore[import-untyped]

        # pyftpdlib installs its own stderr handler on first loop unless some
        # logging is configured; a NullHandler keeps records flowing to the
        # root logger (and pytest's capture) instead.
        log = logging.getLogger("pyftpdlib")
        if not log.handlers:
            log.addHandler(logging.NullHandler())

        authorizer = DummyAuthorizer()
        authorizer.add_anonymous(root, perm="elr")
        # A subclass per server: FTPHandler's settings are class attributes.
        handler = type(
            "TestFTPHandler",
            (FTPHandler,),
            {"authorizer": authorizer, "timeout": 30, "banner": "pycurlcb test ftpd"},
        )
        self._ioloop = IOLoop()
        self._server = FTPServer(("127.0.0.1", 0), handler, ioloop=self._ioloop)
        self.port: int = self._server.address[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="FTPServerThread")

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                # One poll step; FTPServer.serve_forever would log a line per step.
                self._ioloop.loop(0.05, blocking=False)
        finally:
            self._server.close_all()  # closes every socket and the poller

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT)


# --- a fast keep-alive server (one sendall per response) -------------------------


def body_of(n: int) -> bytes:
    """The body ``GET /body/<n>`` answers: n bytes, not all alike."""
    pattern = bytes(range(32, 127))
    return (pattern * (n // len(pattern) + 1))[:n]


class _FastHandler(socketserver.StreamRequestHandler):
    """HTTP/1.1 keep-alive; every response goes out in one sendall().

    Routes (any method):
      /body/<n>        200, body_of(n)
      /headers/<n>     200, n extra header lines, body b"headers"
      /redirect/<k>    302 to /redirect/<k-1>; /redirect/0 answers b"done"
      /r307/<path>     307 to /<path> (a client must rewind an upload)
      /echo            200, b"got <len> <crc32>" of the request body
      /whoami/<x>      200, b"/whoami/<x> <client port>"
      /delay/<ms>      200, b"delayed", after sleeping <ms> milliseconds
      /stall           no answer; the connection is held until the client closes it
      anything else    200, b"fast:" + path
    A request body (Content-Length or chunked) is always read; ``Expect:
    100-continue`` is answered.
    """

    server: FastServer

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            while self._one_request():
                pass
        except (OSError, ValueError):
            pass  # the client went away mid-request: libcurl aborted a transfer

    def _read_body(self, headers: dict[bytes, bytes]) -> bytes:
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(headers.get(b"content-length", b"0") or 0)
        return self.rfile.read(length) if length else b""

    def _one_request(self) -> bool:
        line = self.rfile.readline(65537)
        while line in (b"\r\n", b"\n"):
            line = self.rfile.readline(65537)
        if not line:
            return False
        method, target, _ = line.split(b" ", 2)
        headers: dict[bytes, bytes] = {}
        while True:
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            key, _, value = h.partition(b":")
            headers[key.strip().lower()] = value.strip()
        if headers.get(b"expect", b"").lower() == b"100-continue":
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self._read_body(headers)
        self.server.count_request(target)
        if target.startswith(b"/stall"):
            while self.request.recv(65536):
                pass
            return False
        status, extra, payload = self.server.route(method, target.decode(), body, self.client_address)
        lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(payload)}", *extra]
        if method == b"HEAD":
            payload = b""
        self.request.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        return headers.get(b"connection", b"").lower() != b"close"


class FastServer(StdlibServer, socketserver.TCPServer):
    """The routes of ``_FastHandler`` on 127.0.0.1:<ephemeral>, a thread per connection."""

    def __init__(self) -> None:
        self._init_tracking(b"")
        self.requests = 0
        self.stalls = 0
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _FastHandler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def count_request(self, target: bytes) -> None:
        with self._lock:
            self.requests += 1
            if target.startswith(b"/stall"):
                self.stalls += 1

    def route(
        self, method: bytes, path: str, body: bytes, client: Any
    ) -> tuple[str, list[str], bytes]:
        parts = path.split("/")
        if path.startswith("/body/"):
            return "200 OK", [], body_of(int(parts[2]))
        if path.startswith("/headers/"):
            return "200 OK", [f"X-Header-{i}: value {i}" for i in range(int(parts[2]))], b"headers"
        if path.startswith("/redirect/"):
            k = int(parts[2])
            if k == 0:
                return "200 OK", [], b"done"
            return "302 Found", [f"Location: /redirect/{k - 1}"], b""
        if path.startswith("/r307/"):
            return "307 Temporary Redirect", ["Location: /" + "/".join(parts[2:])], b""
        if path == "/echo":
            return "200 OK", [], b"got %d %08x" % (len(body), zlib.crc32(body))
        if path.startswith("/whoami/"):
            return "200 OK", [], f"{path} {client[1]}".encode()
        if path.startswith("/delay/"):
            time.sleep(int(parts[2]) / 1000)
            return "200 OK", [], b"delayed"
        return "200 OK", [], b"fast:" + path.encode()
