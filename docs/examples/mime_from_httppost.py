"""From HTTPPOST to MIMEPOST: the same form, sent both ways.

pycurl's HTTPPOST (a list of ``(name, value)`` tuples over libcurl's
deprecated curl_formadd API) still works in pycurlcb, with pycurl's
DeprecationWarning.  Each FORM_* option has a CurlMime equivalent; the
server (docs/examples/_form_server.py) shows both bodies parse the same.

Run: python docs/examples/mime_from_httppost.py
"""

from __future__ import annotations

import os
import tempfile
import warnings

from _form_server import form_server

import pycurlcb

PAYLOAD = b"\x00\x01 bytes from memory \xff"


def with_httppost(curl: pycurlcb.Curl, path: str) -> None:
    form = [
        ("name", "value"),
        ("typed", (pycurlcb.FORM_CONTENTS, "<b>hi</b>", pycurlcb.FORM_CONTENTTYPE, "text/html")),
        ("upload", (pycurlcb.FORM_FILE, path, pycurlcb.FORM_FILENAME, "renamed.txt")),
        ("memory", (pycurlcb.FORM_BUFFER, "memory.bin", pycurlcb.FORM_BUFFERPTR, PAYLOAD)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "HTTPPOST is deprecated; use MIMEPOST"
        curl.setopt(pycurlcb.HTTPPOST, form)


def with_mimepost(curl: pycurlcb.Curl, path: str) -> pycurlcb.CurlMime:
    mime = pycurlcb.CurlMime(curl)
    mime.add_field("name", "value")
    mime.add_field("typed", "<b>hi</b>", content_type="text/html")
    mime.add_file("upload", path, filename="renamed.txt")
    mime.add("memory", data=PAYLOAD, filename="memory.bin", content_type="application/octet-stream")
    curl.setopt(pycurlcb.MIMEPOST, mime)  # the Curl keeps the mime alive while it is set
    return mime


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, form_server() as url:
        path = os.path.join(tmp, "upload.txt")
        with open(path, "w") as f:
            f.write("file content\n")
        results = []
        for build in (with_httppost, with_mimepost):
            with pycurlcb.Curl() as curl:
                build(curl, path)
                curl.setopt(pycurlcb.URL, url)
                results.append(curl.perform_rs())
                print(f"{build.__name__}:\n{results[-1]}", end="")
        assert results[0] == results[1], results


if __name__ == "__main__":
    main()
