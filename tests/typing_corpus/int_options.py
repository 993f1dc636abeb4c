"""pycurl code that keeps options in int-typed variables (docs/typing.md).

Each idiom takes setopt's (int, Any) overload, so it type-checks under plain
``mypy --strict`` as against typeshed's pycurl stub, and under
``--enable-error-code deprecated`` too; and the typed results of getinfo and
of an opensocket callback's address.
"""

import socket
import sys
from io import BytesIO
from typing import Any

import pycurl


def set_opt(c: pycurl.Curl, option: int, value: Any) -> None:
    """A helper taking any option."""
    c.setopt(option, value)


class LoggingCurl(pycurl.Curl):
    """A subclass that sees every option set on it."""

    seen: list[int] = []

    def setopt(self, option: int, value: Any, **kwargs: Any) -> None:
        self.seen.append(option)
        super().setopt(option, value, **kwargs)


def opensocket(purpose: int, address: pycurl.CurlSockAddr) -> socket.socket:
    if isinstance(address.addr, tuple):  # AF_INET, AF_INET6: (host, port, ...)
        assert address.addr[0].startswith(("127.", "::1"))
    return socket.socket(address.family, address.socktype, address.protocol)


def main(url: str) -> None:
    buffer = BytesIO()
    c = LoggingCurl()
    options: dict[int, Any] = {
        pycurl.URL: url,
        pycurl.TIMEOUT: 30,
        pycurl.WRITEDATA: buffer,
        pycurl.HTTPHEADER: ["X-Test: 1"],
    }
    for option, value in options.items():  # a dict of options set in a loop
        c.setopt(option, value)
    literal = {pycurl.FOLLOWLOCATION: 1, pycurl.USERAGENT: "corpus/1.0"}  # dict[int, object]
    for option, value2 in literal.items():
        c.setopt(option, value2)
    set_opt(c, pycurl.CONNECTTIMEOUT, 5)
    opt = pycurl.NOSIGNAL  # one variable, options of two kinds
    c.setopt(opt, 1)
    opt = pycurl.ACCEPT_ENCODING
    c.setopt(opt, "")
    c.setopt(pycurl.OPENSOCKETFUNCTION, opensocket)
    c.perform()
    code: int = c.getinfo(pycurl.RESPONSE_CODE)
    total: float = c.getinfo(pycurl.TOTAL_TIME)
    effective: str = c.getinfo(pycurl.EFFECTIVE_URL)
    info = pycurl.RESPONSE_CODE
    anything = c.getinfo(info)  # an info in a variable: Any, as with typeshed's stub
    c.close()
    assert code == anything == 200 and total >= 0 and effective.startswith("http")
    assert pycurl.URL in c.seen and buffer.getvalue()
    print("ok", code)


if __name__ == "__main__":
    main(sys.argv[1])
