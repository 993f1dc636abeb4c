"""POST with POSTFIELDS, a header list, a header callback and reset()."""

import sys
from urllib.parse import urlencode

import pycurl

headers: dict[str, str] = {}


def header_function(header_line: bytes) -> None:
    line = header_line.decode("iso-8859-1")
    if ":" in line:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()


def main(url: str) -> None:
    chunks: list[bytes] = []
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.POSTFIELDS, urlencode({"field": "value"}))
    c.setopt(pycurl.HTTPHEADER, ["Accept: text/plain", "X-Test: 1"])
    c.setopt(pycurl.HEADERFUNCTION, header_function)
    c.setopt(pycurl.WRITEFUNCTION, chunks.append)
    c.setopt(pycurl.USERAGENT, "corpus/1.0")
    c.setopt(pycurl.VERBOSE, False)
    c.perform()
    print(c.getinfo(pycurl.HTTP_CODE), headers.get("content-type"), b"".join(chunks)[:20])
    c.reset()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.NOBODY, True)
    c.perform()
    c.unsetopt(pycurl.USERAGENT)
    c.close()


if __name__ == "__main__":
    main(sys.argv[1])
