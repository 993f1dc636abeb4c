"""WebSocket echo in libcurl's two websocket modes (pycurl 7.49's ws_* methods).

1. CONNECT_ONLY=2: perform() does the upgrade handshake and returns; ws_send()
   and ws_recv() then move frames without blocking (wait on ACTIVESOCKET).
2. A WRITEFUNCTION: perform() runs the whole conversation; the callback gets
   each frame's payload, ws_meta() says which frame it is, ws_send() answers.

Needs libcurl 7.86.0 or newer built with websockets, and the ``websockets``
package for the local server; without either it says so and exits 0.

Run: python docs/examples/ws_echo.py
"""

from __future__ import annotations

import logging
import select
import threading
import time
from typing import Any, Optional

import pycurlcb
from pycurlcb.ws import MISSING


def recv(curl: pycurlcb.Curl, timeout: float = 5.0) -> tuple[bytes, Optional[pycurlcb.WsFrame]]:
    """ws_recv(), waiting for the socket while there is nothing to read yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return curl.ws_recv(65536)
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no websocket data") from None
            select.select([curl.getinfo(pycurlcb.ACTIVESOCKET)], [], [], left)


def kind(frame: Optional[pycurlcb.WsFrame]) -> str:
    if frame is None:
        return "-"
    names = ("TEXT", "BINARY", "CONT", "CLOSE", "PING", "PONG")
    return "|".join(n for n in names if frame.flags & getattr(pycurlcb, "WS_" + n))


def connect_only(url: str) -> None:
    print("CONNECT_ONLY=2")
    with pycurlcb.Curl() as curl:
        curl.setopt(pycurlcb.URL, url)
        curl.setopt(pycurlcb.CONNECT_ONLY, 2)
        curl.perform()  # the HTTP upgrade; the connection stays open
        for data, flags in (("héllo", None), (b"\x00\x01\x02", None), (b"are you there?", pycurlcb.WS_PING)):
            curl.ws_send(data, flags)  # str: a text frame, bytes: binary, unless flags say
            payload, frame = recv(curl)
            print(f"  sent {data!r:20} got {kind(frame):6} {payload!r}")
        curl.ws_close(1000, "bye")
        payload, frame = recv(curl)  # the server's answer to our close frame
        print(f"  closed: got {kind(frame)} code {int.from_bytes(payload[:2], 'big')}")


def write_callback(url: str) -> None:
    print("WRITEFUNCTION")
    with pycurlcb.Curl() as curl:

        def on_data(data: bytes) -> None:
            frame = curl.ws_meta()  # the frame this payload belongs to
            print(f"  got {kind(frame):6} {data!r}")
            if frame is not None and frame.flags & pycurlcb.WS_TEXT:
                if data == b"what is your name?":
                    curl.ws_send("pycurlcb")  # answering from inside the callback
                else:
                    curl.ws_close(1000)  # ends the conversation

        curl.setopt(pycurlcb.URL, url)
        curl.setopt(pycurlcb.WRITEFUNCTION, on_data)
        curl.perform()


def serve() -> tuple[Any, threading.Thread, str]:
    from websockets.sync.server import serve as ws_serve

    def handler(ws: Any) -> None:
        if ws.request.path == "/ask":
            ws.send("what is your name?")
            ws.send(f"hello, {ws.recv(timeout=5)}")
        for message in ws:  # /echo, and the rest of /ask until the client closes
            ws.send(message)

    logging.getLogger("websockets").addHandler(logging.NullHandler())
    logging.getLogger("websockets").propagate = False
    server = ws_serve(handler, "127.0.0.1", 0, close_timeout=1)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    return server, thread, f"ws://127.0.0.1:{server.socket.getsockname()[1]}"


def main() -> None:
    if MISSING is not None:
        print(f"skipped: {MISSING}")
        return
    try:
        import websockets.sync.server  # noqa: F401
    except ImportError:
        print("skipped: the local server needs the websockets package (pip install websockets)")
        return
    server, thread, url = serve()
    try:
        connect_only(url + "/echo")
        write_callback(url + "/ask")
    finally:
        server.shutdown()
        thread.join()


if __name__ == "__main__":
    main()
