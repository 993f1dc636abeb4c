"""A multipart/form-data POST with CurlMime: fields, a file, bytes, a nested
multipart and a part streamed from a generator of unknown length.

The server (docs/examples/_form_server.py) answers with one line per part it
parsed.  Then the same streamed part fails half way: the exception raised in
the read callable aborts the transfer and comes out of perform() as the
``__cause__`` of ``pycurlcb.error``.

Run: python docs/examples/mime_post.py
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any, Callable

from _form_server import form_server

import pycurlcb


def stream(chunks: Iterator[bytes]) -> Callable[[Any, int], bytes]:
    """A data_cb read callable over an iterator of bytes: at most ``size`` bytes a call."""
    pending = b""

    def read(userdata: Any, size: int) -> bytes:
        nonlocal pending
        while not pending:
            pending = next(chunks, b"")
            if not pending:
                return b""  # the end
        out, pending = pending[:size], pending[size:]
        return out

    return read


def rows(n: int) -> Iterator[bytes]:
    for i in range(n):
        yield f"{i},{i * i}\n".encode()


def failing_rows(n: int) -> Iterator[bytes]:
    yield from rows(n)
    raise OSError("the data source went away")


def build(curl: pycurlcb.Curl, path: str, source: Iterator[bytes], freed: list[str]) -> pycurlcb.CurlMime:
    mime = pycurlcb.CurlMime(curl)
    mime.add_field("title", "squares")
    mime.add_field("blob", bytes(range(256)), content_type="application/octet-stream")
    mime.add_file("config", path, content_type="application/json")
    nested = mime.add_multipart(name="notes", subtype="alternative")
    nested.add_field("plain", "hello")
    nested.add_field("html", "<p>hello</p>", content_type="text/html")
    part = mime.addpart()
    part.name("table")
    part.filename("squares.csv")
    part.type("text/csv")
    # Size unknown (-1): libcurl sends the body chunked.  free() runs once
    # libcurl is done with the callables (here, when the mime is closed).
    part.data_cb(-1, stream(source), free=freed.append, userdata="table")
    return mime


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, form_server() as url:
        path = os.path.join(tmp, "config.json")
        with open(path, "w") as f:
            f.write('{"answer": 42}\n')
        freed: list[str] = []

        with pycurlcb.Curl() as curl, build(curl, path, rows(1000), freed) as mime:
            curl.setopt(pycurlcb.MIMEPOST, mime)
            curl.setopt(pycurlcb.URL, url)
            print(curl.perform_rs(), end="")
        print("freed:", freed)
        assert freed == ["table"]

        with pycurlcb.Curl() as curl, build(curl, path, failing_rows(1000), freed) as mime:
            curl.setopt(pycurlcb.MIMEPOST, mime)
            curl.setopt(pycurlcb.URL, url)
            try:
                curl.perform()
            except pycurlcb.error as exc:
                print(f"perform() raised {exc!r}, caused by {exc.__cause__!r}")
                assert isinstance(exc.__cause__, OSError)
            else:
                raise AssertionError("the transfer should have failed")


if __name__ == "__main__":
    main()
