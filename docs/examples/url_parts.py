"""Take a URL apart and put it together with libcurl's own parser (CurlUrl),
then transfer from it with setopt(CURLU).

Run: python docs/examples/url_parts.py
"""

from __future__ import annotations

import copy

import pycurlcb
from pycurlcb import CurlUrl
from pycurlcb.cli.server import EmbeddedServer


def parts() -> None:
    u = CurlUrl("https://user:secret@example.com:8443/a/b/../c?x=1#top")  # path: /a/c
    for name in ("scheme", "user", "host", "port", "path", "query", "fragment"):
        print(f"{name:>8}: {getattr(u, name)}")

    v = copy.copy(u)  # an independent handle (curl_url_dup)
    v.password = None  # remove a part
    v.url = "../d?y=2"  # a relative reference, resolved as a redirect would be
    v.setpart(pycurlcb.UPART_QUERY, "q=a b", pycurlcb.U_URLENCODE | pycurlcb.U_APPENDQUERY)
    print(f"  changed: {v}")
    print(f" original: {u}")
    assert str(v) == "https://user@example.com:8443/d?y=2&q=a+b"  # /a/c + ../d

    try:
        v.port = "eighty"
    except pycurlcb.UrlError as exc:
        print(f"  refused: {exc.name}: {exc.args[1]}")


def transfer(url: str) -> None:
    u = CurlUrl(url)
    with pycurlcb.Curl() as curl:
        curl.setopt(pycurlcb.CURLU, u)
        print(f"  fetched: {u} -> {curl.perform_rs().strip()}")
        u.path = "/other"  # read again when the next transfer starts
        u.query = "from=curlu"
        print(f"  fetched: {u} -> {curl.perform_rs().strip()}")


def main() -> None:
    parts()
    with EmbeddedServer() as server:
        url = server.url
        transfer(url)


if __name__ == "__main__":
    main()
