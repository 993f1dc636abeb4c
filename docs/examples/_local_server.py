"""A local HTTP server for the examples: ``with local_server() as (url, port): ...``.

Standard library only.  It answers every GET with ``hello <client ip>:<port>``,
so an example can show which source address libcurl's socket had.  HTTP/1.1
with keep-alive, as most servers, so libcurl keeps the connection cached
until the Curl (or the multi handle) is closed.
"""

from __future__ import annotations

import contextlib
import http.server
import socketserver
import threading
from collections.abc import Iterator
from typing import Any


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 64 * 1024  # headers and body in one write
    timeout = 10

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = f"hello {self.client_address[0]}:{self.client_address[1]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for the connection threads

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip the getfqdn() DNS lookup
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


@contextlib.contextmanager
def local_server() -> Iterator[tuple[str, int]]:
    """Serve on 127.0.0.1:<free port>; yields (url, port); stops on exit."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        port = server.server_address[1]
        yield f"http://127.0.0.1:{port}/", port
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
