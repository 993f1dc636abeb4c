"""A local HTTP server for the MIME examples: ``with form_server() as url: ...``.

Standard library only.  It answers a multipart POST with one line per part,
``name: <n> bytes [filename=...] [type=...]`` (nested multiparts indented),
parsed with the ``email`` package, so an example can show what arrived.
Bodies of unknown size come chunked (Transfer-Encoding: chunked), which
http.server does not decode itself: ``_body`` does.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import http.server
import socketserver
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any


def describe(message: EmailMessage, indent: str = "") -> list[str]:
    lines = []
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        name = part.get_param("name", header="content-disposition")
        extra = []
        if part.get_filename():
            extra.append(f"filename={part.get_filename()}")
        if part.get_content_type() != "text/plain":
            extra.append(f"type={part.get_content_type()}")
        if part.is_multipart():
            lines.append(f"{indent}{name}: multipart {' '.join(extra)}".rstrip())
            lines += describe(part, indent + "  ")
        else:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            lines.append(f"{indent}{name}: {len(payload)} bytes {' '.join(extra)}".rstrip())
    return lines


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))
        chunks = []
        while True:
            line = self.rfile.readline()
            if not line:
                raise EOFError("the client stopped sending (an aborted upload)")
            size = int(line.split(b";")[0], 16)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after the chunk
            if size == 0:
                return b"".join(chunks)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        try:
            body = self._body()
        except EOFError:
            self.close_connection = True
            return
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode("latin-1")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        assert isinstance(message, EmailMessage)
        answer = ("\n".join(describe(message)) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for the connection threads

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip the getfqdn() DNS lookup
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


@contextlib.contextmanager
def form_server() -> Iterator[str]:
    """Serve on 127.0.0.1:<free port>; yields the URL to POST to; stops on exit."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/upload"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
