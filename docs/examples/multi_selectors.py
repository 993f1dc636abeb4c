"""Drive a CurlMulti from a ``selectors`` loop with socket_action.

libcurl's multi socket interface in its plainest form (docs/event-loop.md):

* M_SOCKETFUNCTION tells which fd to watch for what: the callback only
  (un)registers the fd with the selector -- it never calls libcurl;
* M_TIMERFUNCTION tells when to call socket_action(SOCKET_TIMEOUT): the
  callback only stores the deadline (-1: no deadline);
* the loop waits in select() until an fd is ready or the deadline passes,
  then calls socket_action(fd, CSELECT_IN/OUT) or
  socket_action(SOCKET_TIMEOUT, 0), and reads finished transfers with
  info_read().

It fetches a few paths concurrently from a local server it starts itself.
With ``--trace`` it also prints, for one transfer, every callback and
socket_action call in the order they happen.

Run: python docs/examples/multi_selectors.py [--trace]
"""

from __future__ import annotations

import selectors
import sys
import time
from typing import Any, Optional

import pycurlcb
from pycurlcb.cli.server import EmbeddedServer

_EVENTS = {
    pycurlcb.POLL_IN: selectors.EVENT_READ,
    pycurlcb.POLL_OUT: selectors.EVENT_WRITE,
    pycurlcb.POLL_INOUT: selectors.EVENT_READ | selectors.EVENT_WRITE,
}
_POLL_NAMES = {
    pycurlcb.POLL_IN: "POLL_IN",
    pycurlcb.POLL_OUT: "POLL_OUT",
    pycurlcb.POLL_INOUT: "POLL_INOUT",
    pycurlcb.POLL_REMOVE: "POLL_REMOVE",
}


class SelectorsMulti:
    """A CurlMulti and the selectors loop that drives it."""

    def __init__(self, trace: bool = False) -> None:
        self.multi = pycurlcb.CurlMulti()
        self.selector = selectors.DefaultSelector()
        self.deadline: Optional[float] = None  # time.monotonic() of the next timeout
        self.trace: Optional[list[str]] = [] if trace else None
        self.t0 = time.monotonic()
        self.multi.setopt(pycurlcb.M_SOCKETFUNCTION, self.on_socket)
        self.multi.setopt(pycurlcb.M_TIMERFUNCTION, self.on_timer)

    def log(self, text: str) -> None:
        if self.trace is not None:
            self.trace.append(f"{(time.monotonic() - self.t0) * 1000:7.2f} ms  {text}")

    # --- the callbacks: bookkeeping only, never a call into libcurl -----------

    def on_socket(self, what: int, fd: int, multi: pycurlcb.CurlMulti, socketp: Any) -> None:
        self.log(f"  socket callback: {_POLL_NAMES[what]} fd={fd} socketp={socketp!r}")
        if what == pycurlcb.POLL_REMOVE:
            self.selector.unregister(fd)
        elif socketp is None:
            self.selector.register(fd, _EVENTS[what])
            # Our own per-socket state; libcurl hands it back as socketp from
            # the next callback for this fd on.
            multi.assign(fd, f"watched since {time.monotonic() - self.t0:.4f}s")
        else:
            self.selector.modify(fd, _EVENTS[what])

    def on_timer(self, timeout_ms: int) -> None:
        self.log(f"  timer callback: {timeout_ms} ms")
        self.deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000

    # --- the loop ------------------------------------------------------------------

    def action(self, fd: int, mask: int) -> int:
        name = "SOCKET_TIMEOUT" if fd == pycurlcb.SOCKET_TIMEOUT else f"fd={fd}"
        self.log(f"socket_action({name}, {mask})")
        _, running = self.multi.socket_action(fd, mask)
        return running

    def run(self, curls: list[pycurlcb.Curl], timeout: float = 10.0) -> dict[Any, tuple[int, str]]:
        """Transfer every Curl; returns {curl: (code, message)}, code 0 for success."""
        results: dict[Any, tuple[int, str]] = {}
        for curl in curls:
            self.log("add_handle()")
            self.multi.add_handle(curl)
        give_up = time.monotonic() + timeout
        while len(results) < len(curls):
            if time.monotonic() > give_up:
                raise TimeoutError(f"{len(curls) - len(results)} transfers still running")
            wait = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
            ready = self.selector.select(wait if wait is not None else 1.0)
            for key, events in ready:
                mask = 0
                if events & selectors.EVENT_READ:
                    mask |= pycurlcb.CSELECT_IN
                if events & selectors.EVENT_WRITE:
                    mask |= pycurlcb.CSELECT_OUT
                self.action(key.fd, mask)
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.deadline = None
                self.action(pycurlcb.SOCKET_TIMEOUT, 0)
            _, ok, err = self.multi.info_read()
            for curl in ok:
                self.log("info_read(): done")
                results[curl] = (0, "")
            for curl, code, message in err:
                results[curl] = (code, message)
        for curl in curls:
            self.multi.remove_handle(curl)
        return results

    def close(self) -> None:
        self.log("close()")
        self.multi.close()  # cached connections are closed here
        self.selector.close()


def fetch(urls: list[str]) -> list[bytes]:
    bodies: list[list[bytes]] = [[] for _ in urls]
    curls = []
    for url, body in zip(urls, bodies):
        curl = pycurlcb.Curl()
        curl.setopt(pycurlcb.URL, url)
        curl.setopt(pycurlcb.WRITEFUNCTION, body.append)
        curls.append(curl)
    driver = SelectorsMulti()
    try:
        results = driver.run(curls)
    finally:
        driver.close()
    for curl in curls:
        code, message = results[curl]
        if code:
            raise pycurlcb.error(code, message)
        curl.close()
    return [b"".join(b) for b in bodies]


def trace_one(url: str) -> list[str]:
    curl = pycurlcb.Curl()
    curl.setopt(pycurlcb.URL, url)
    curl.setopt(pycurlcb.WRITEFUNCTION, lambda data: None)
    driver = SelectorsMulti(trace=True)
    try:
        driver.run([curl])
    finally:
        driver.close()
        curl.close()
    assert driver.trace is not None
    return driver.trace


def main() -> int:
    with EmbeddedServer() as server:
        url = server.url
        urls = [f"{url}page/{i}" for i in range(5)]
        for u, body in zip(urls, fetch(urls)):
            print(f"{u} -> {body.decode().strip()}")
        if "--trace" in sys.argv[1:]:
            print()
            print("\n".join(trace_one(url)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
