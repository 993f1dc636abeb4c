"""The embedded HTTP server: what ``python -m pycurlcb`` fetches when given no URL.

docs/examples use it too (one local server for the command and the examples)::

    with EmbeddedServer() as server:
        curl.setopt(pycurlcb.URL, server.url)  # http://127.0.0.1:<port>/

The standard library's ``http.server`` on 127.0.0.1 and a free port, one
thread per connection, HTTP/1.1 with keep-alive (libcurl keeps the connection
cached until its Curl or multi handle is closed).  Every GET or HEAD, whatever
the path, answers 200 with the text/plain body ``hello <client ip>:<client
port>\\n``, so a client can see which source address its socket had.

Leaving the ``with`` block stops accepting, shuts down the connections a
client left open, and joins every thread.  Only the standard library is
imported: no pycurlcb.
"""

from __future__ import annotations

import http.server
import socket
import socketserver
import threading
from typing import Any

__all__ = ["EmbeddedServer"]


class _HelloHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "pycurlcb-embedded"
    # Buffered, flushed once per response: headers and body written apart would
    # meet Nagle and delayed ACK on a reused connection, a 40 ms stall.
    wbufsize = 64 * 1024
    timeout = 10  # seconds a connection may sit idle before the server drops it

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._reply(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._reply(send_body=False)

    def _reply(self, send_body: bool) -> None:
        ip, port = self.client_address[:2]
        body = f"hello {ip}:{port}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the connection threads
    block_on_close = True
    request_queue_size = 1024  # --parallel N connects all at once; the default backlog is 5

    def __init__(self) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _HelloHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(): a DNS lookup, slow offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)


class EmbeddedServer:
    """``with EmbeddedServer() as server:`` a running server; see the module docstring.

    ``url``: ``http://127.0.0.1:<port>/``; ``port``: int.  The listening
    socket exists from construction; requests are served inside the block.
    """

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="pycurlcb-embedded-server",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> EmbeddedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join()
        with self._server.connections_lock:
            left_open = list(self._server.connections)
        for conn in left_open:  # a kept-alive connection: its thread waits for a request
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()  # closes the listener, joins the connection threads
