"""A pytest-httpserver handler that parses a multipart POST and answers with its parts.

The body is parsed by the standard library's email parser (not by libcurl,
not by the code under test): ``install(httpserver, path)`` makes ``path``
answer with JSON ``{"transfer_encoding": ..., "parts": [part, ...]}`` where
each part is ``{"name", "filename", "type", "encoding", "headers", "data"}``
(``data`` decoded from its Content-Transfer-Encoding, as latin-1 text so that
every byte survives JSON) or, for a nested multipart, ``"parts"`` instead of
``"data"``.  ``post(curl, url)`` performs and returns that JSON as a dict,
with ``data`` turned back into bytes.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from email.message import EmailMessage
from typing import Any

from werkzeug import Request, Response


def parse_multipart(content_type: str, body: bytes) -> list[dict[str, Any]]:
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    assert isinstance(message, EmailMessage) and message.is_multipart(), content_type
    return _parts(message)


def _parts(message: EmailMessage) -> list[dict[str, Any]]:
    out = []
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        item: dict[str, Any] = {
            "name": part.get_param("name", header="content-disposition"),
            "filename": part.get_filename(),
            "type": part.get_content_type(),
            "encoding": part.get("Content-Transfer-Encoding"),
            "headers": {k: str(v) for k, v in part.items()},
        }
        if part.is_multipart():
            item["parts"] = _parts(part)
        else:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            item["data"] = payload.decode("latin-1")
        out.append(item)
    return out


def _handler(request: Request) -> Response:
    parts = parse_multipart(request.headers["Content-Type"], request.get_data())
    answer = {"transfer_encoding": request.headers.get("Transfer-Encoding"), "parts": parts}
    return Response(json.dumps(answer), content_type="application/json")


def install(httpserver: Any, path: str = "/form") -> str:
    """Serve the multipart echo at ``path``; returns its URL."""
    httpserver.expect_request(path, method="POST").respond_with_handler(_handler)
    return str(httpserver.url_for(path))


def _bytes_back(parts: list[dict[str, Any]]) -> None:
    for part in parts:
        if "data" in part:
            part["data"] = part["data"].encode("latin-1")
        else:
            _bytes_back(part["parts"])


def post(curl: Any, url: str) -> dict[str, Any]:
    """Perform ``curl`` against ``url`` (the echo); the echo's answer, data as bytes."""
    curl.setopt(curl.URL, url)
    answer: dict[str, Any] = json.loads(curl.perform_rb())
    _bytes_back(answer["parts"])
    return answer


def fields(answer: dict[str, Any]) -> dict[str, bytes]:
    """{name: data} of the top-level parts."""
    return {p["name"]: p["data"] for p in answer["parts"] if "data" in p}
