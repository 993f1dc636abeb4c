"""CurlShare against real local servers: what is shared is observed at the server
(connections accepted, cookies received) or through libcurl's own behaviour
(a name only the shared DNS cache knows), never through pycurlcb's bookkeeping.
"""

from __future__ import annotations

import gc
import os
import platform
import socket
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from fds import collect_garbage
from pytest_httpserver import HTTPServer
from servers import FastServer, body_of
from werkzeug import Request, Response

import pycurlcb
from pycurlcb import Curl, CurlShare, ShareError

# --------------------------------------------------------------------------
# the server counts the connections it accepts


class CountingServer(FastServer):
    """FastServer (HTTP/1.1 keep-alive) that counts the TCP connections it accepts."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self.accepted += 1
        super().process_request(request, client_address)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    s = CountingServer()
    s.start()
    try:
        yield s
    finally:
        s.stop()


def get(curl: Curl, url: str) -> bytes:
    curl.setopt(pycurlcb.URL, url)
    return curl.perform_rb()


def sharing(*kinds: int, **kwargs: Any) -> CurlShare:
    s = CurlShare(**kwargs)
    s.share(*kinds)
    return s


# --------------------------------------------------------------------------
# what is shared, seen from outside


def test_lock_data_connect_makes_three_handles_use_one_connection(server: CountingServer) -> None:
    with sharing(pycurlcb.LOCK_DATA_CONNECT) as s:
        curls = [Curl() for _ in range(3)]
        for i, c in enumerate(curls):
            c.setopt(pycurlcb.SHARE, s)
            assert get(c, server.url(f"/body/{100 + i}")) == body_of(100 + i)
        assert [c.getinfo(pycurlcb.NUM_CONNECTS) for c in curls] == [1, 0, 0]
        assert server.accepted == 1
        for c in curls:
            c.close()


def test_without_a_share_each_handle_connects(server: CountingServer) -> None:
    curls = [Curl() for _ in range(3)]
    for c in curls:
        assert get(c, server.url("/x")) == b"fast:/x"
    assert server.accepted == 3
    for c in curls:
        c.close()


def test_lock_data_dns_shares_a_resolve_entry(server: CountingServer) -> None:
    # CURLOPT_RESOLVE fills the DNS cache: shared, the other handle finds the
    # name there; ".invalid" resolves nowhere else (RFC 6761).
    port = server.server_address[1]
    url = f"http://share.invalid:{port}/dns"
    with sharing(pycurlcb.LOCK_DATA_DNS) as s, Curl() as a, Curl() as b, Curl() as alone:
        a.setopt(pycurlcb.RESOLVE, [f"share.invalid:{port}:127.0.0.1"])
        for c in (a, b):
            c.setopt(pycurlcb.SHARE, s)
        assert get(a, url) == b"fast:/dns"
        assert get(b, url) == b"fast:/dns"
        with pytest.raises(pycurlcb.error) as info:
            get(alone, url)
        assert info.value.code == pycurlcb.E_COULDNT_RESOLVE_HOST


def _cookie_app(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/set").respond_with_response(
        Response("set", headers={"Set-Cookie": "flavour=oatmeal; Path=/"})
    )

    def echo(request: Request) -> Response:
        return Response(request.headers.get("Cookie", "no cookie"))

    httpserver.expect_request("/echo").respond_with_handler(echo)


def test_lock_data_cookie_shares_the_cookie_jar(httpserver: HTTPServer) -> None:
    _cookie_app(httpserver)
    with sharing(pycurlcb.LOCK_DATA_COOKIE) as s, Curl() as a, Curl() as b, Curl() as alone:
        for c in (a, b, alone):
            c.setopt(pycurlcb.COOKIEFILE, "")  # the cookie engine on (libcurl 7.71+ needs it)
        for c in (a, b):
            c.setopt(pycurlcb.SHARE, s)
        assert get(a, httpserver.url_for("/set")) == b"set"
        assert get(b, httpserver.url_for("/echo")) == b"flavour=oatmeal"
        assert get(alone, httpserver.url_for("/echo")) == b"no cookie"


def test_duphandle_copy_uses_the_share(server: CountingServer) -> None:
    with sharing(pycurlcb.LOCK_DATA_CONNECT) as s, Curl() as c:
        c.setopt(pycurlcb.SHARE, s)
        assert get(c, server.url("/a")) == b"fast:/a"
        with c.duphandle() as d:
            assert d.share() is s
            assert get(d, server.url("/b")) == b"fast:/b"
            assert d.getinfo(pycurlcb.NUM_CONNECTS) == 0  # the connection c opened
            assert server.accepted == 1
        assert server.accepted == 1


def test_duphandle_copy_is_detached_by_close(server: CountingServer) -> None:
    s = sharing(pycurlcb.LOCK_DATA_DNS)
    with Curl() as c:
        c.setopt(pycurlcb.SHARE, s)
        with c.duphandle() as d:
            s.close()
            assert s.closed
            assert c.share() is None and d.share() is None
            assert get(d, server.url("/d")) == b"fast:/d"


# --------------------------------------------------------------------------
# threads


@pytest.mark.parametrize("socket_callbacks", [False, True], ids=["plain", "socket-callbacks"])
def test_four_threads_forty_transfers_each(server: CountingServer, socket_callbacks: bool) -> None:
    # What libcurl supports sharing between concurrent threads: DNS and
    # cookies, not the connection pool (CURLSHOPT_SHARE(3); LOCK_DATA_CONNECT
    # across threads is libcurl's KNOWN_BUGS 11.11 and can crash it).
    port = server.server_address[1]
    s = sharing(pycurlcb.LOCK_DATA_DNS, pycurlcb.LOCK_DATA_COOKIE)
    opened: list[int] = []
    closed: list[int] = []
    errors: list[BaseException] = []
    bad: list[tuple[int, int]] = []

    def opensocket(purpose: int, address: Any) -> int:
        fd = socket.socket(address.family, address.socktype, address.protocol).detach()
        opened.append(fd)
        return fd  # libcurl owns it now

    def closesocket(fd: int) -> int:
        closed.append(fd)
        os.close(fd)
        return 0

    curls = [Curl() for _ in range(4)]
    if socket_callbacks:
        for c in curls:
            c.setopt(pycurlcb.OPENSOCKETFUNCTION, opensocket)
            c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
    # Only the first Curl is told the name: the others find it in the shared
    # DNS cache (".invalid" resolves nowhere else, RFC 6761).
    curls[0].setopt(pycurlcb.RESOLVE, [f"threads.invalid:{port}:127.0.0.1"])
    curls[0].setopt(pycurlcb.SHARE, s)
    assert get(curls[0], f"http://threads.invalid:{port}/body/1") == body_of(1)

    def worker(t: int) -> None:
        c = curls[t]
        try:
            if t:
                c.setopt(pycurlcb.SHARE, s)
            for i in range(40):
                n = 1 + 997 * t + 131 * i
                if get(c, f"http://threads.invalid:{port}/body/{n}") != body_of(n):
                    bad.append((t, i))
        except BaseException as exc:  # noqa: B036 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == [] and bad == []
    assert server.requests == 161
    assert server.accepted == 4  # each Curl keeps one connection of its own
    s.close()  # detaches the idle Curls; their connections stay theirs
    assert all(c.share() is None for c in curls)
    for c in curls:
        c.close()  # closes each connection, through the Curl's closesocket
    if socket_callbacks:
        assert len(opened) == 4
        assert sorted(closed) == sorted(opened)


def test_concurrent_setopt_share_unshare_from_threads() -> None:
    s = CurlShare()

    def worker() -> None:
        for _ in range(200):
            s.share(pycurlcb.LOCK_DATA_COOKIE)
            s.unshare(pycurlcb.LOCK_DATA_COOKIE)
            s.setopt(pycurlcb.SH_SHARE, pycurlcb.LOCK_DATA_DNS)
            assert not s.closed

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s.close()


def test_concurrent_attach_detach_and_close() -> None:
    # Threads attach and detach their own Curls while the main thread tries
    # to close the share: every attach either succeeds or finds it closed.
    s = sharing(pycurlcb.LOCK_DATA_DNS)
    outcomes: list[str] = []
    stop = threading.Event()

    def worker() -> None:
        with Curl() as c:
            while not stop.is_set():
                try:
                    c.setopt(pycurlcb.SHARE, s)
                except ShareError as exc:  # libcurl found it closed
                    outcomes.append(exc.name)
                    return
                except pycurlcb.error as exc:  # pycurlcb found it closed first
                    outcomes.append(str(exc))
                    return
                c.setopt(pycurlcb.SHARE, None)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(1000):
        try:
            s.close()
            break
        except ShareError:
            pass  # a Curl was attached at that instant (detached: with detach_on_close)
    stop.set()
    for t in threads:
        t.join()
    assert s.closed
    assert set(outcomes) <= {"CURLSHE_INVALID", "CurlShare is closed"}


def test_close_refused_while_a_transfer_runs_in_another_thread(server: CountingServer) -> None:
    s = sharing(pycurlcb.LOCK_DATA_DNS)
    c = Curl()
    c.setopt(pycurlcb.SHARE, s)
    c.setopt(pycurlcb.URL, server.url("/delay/600"))
    started = threading.Event()
    result: list[bytes] = []
    t = threading.Thread(target=lambda: (started.set(), result.append(c.perform_rb())))
    t.start()
    started.wait()
    while server.requests == 0:  # the transfer is under way
        threading.Event().wait(0.01)
    with pytest.raises(ShareError) as info:
        s.close()
    assert info.value.name == "CURLSHE_IN_USE"
    assert "still in use by 1 active Curl object" in info.value.args[1]
    t.join()
    assert result == [b"delayed"] and c.share() is s
    s.close()
    assert s.closed and c.share() is None
    c.close()


def test_close_refused_while_added_to_a_multi() -> None:
    s = sharing(pycurlcb.LOCK_DATA_DNS)
    m = pycurlcb.CurlMulti()
    c = Curl()
    c.setopt(pycurlcb.SHARE, s)
    m.add_handle(c)
    with pytest.raises(ShareError, match="still in use by 1 active Curl object"):
        s.close()
    m.remove_handle(c)
    s.close()
    assert c.share() is None
    m.close()
    c.close()


# --------------------------------------------------------------------------
# closing orders and the collector


def test_close_share_first_detaches_and_the_curls_go_on(server: CountingServer) -> None:
    s = sharing(pycurlcb.LOCK_DATA_CONNECT)
    curls = [Curl() for _ in range(3)]
    for c in curls:
        c.setopt(pycurlcb.SHARE, s)
        assert get(c, server.url("/1")) == b"fast:/1"
    assert server.accepted == 1
    s.close()
    assert s.closed
    for c in curls:
        assert c.share() is None
        assert get(c, server.url("/2")) == b"fast:/2"  # each on a connection of its own now
        c.close()
    assert server.accepted == 4


def test_close_share_first_without_detach_is_refused() -> None:
    s = sharing(pycurlcb.LOCK_DATA_DNS, detach_on_close=False)
    curls = [Curl() for _ in range(2)]
    for c in curls:
        c.setopt(pycurlcb.SHARE, s)
    with pytest.raises(ShareError) as info:
        s.close()
    assert info.value.name == "CURLSHE_IN_USE"
    assert info.value.args[1] == "cannot close CurlShare: still in use by 2 active Curl objects"
    assert not s.closed and all(c.share() is s for c in curls)
    curls[0].close()
    curls[1].unsetopt(pycurlcb.SHARE)
    s.close()
    assert s.closed
    curls[1].close()


def test_close_easy_first(server: CountingServer) -> None:
    s = sharing(pycurlcb.LOCK_DATA_CONNECT, detach_on_close=False)
    c = Curl()
    c.setopt(pycurlcb.SHARE, s)
    assert get(c, server.url("/e")) == b"fast:/e"
    c.close()
    s.close()  # nothing attached any more
    assert s.closed
    s.close()  # idempotent


def test_curl_keeps_its_share_alive() -> None:
    s = sharing(pycurlcb.LOCK_DATA_DNS)
    ref = weakref.ref(s)
    c = Curl()
    c.setopt(pycurlcb.SHARE, s)
    del s
    gc.collect()
    assert ref() is not None and c.share() is ref()
    c.close()
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("detach_on_close", [True, False])
def test_share_and_curl_in_a_garbage_cycle_are_collected(
    server: CountingServer, detach_on_close: bool
) -> None:
    s = sharing(pycurlcb.LOCK_DATA_CONNECT, detach_on_close=detach_on_close)
    c = Curl()
    c.setopt(pycurlcb.SHARE, s)
    chunks: list[bytes] = []
    c.setopt(pycurlcb.WRITEFUNCTION, lambda data, _c=c: chunks.append(data))  # c -> callable -> c
    c.setopt(pycurlcb.URL, server.url("/cycle"))
    c.perform()
    s.cycle = s  # type: ignore[attr-defined]
    refs = [weakref.ref(s), weakref.ref(c)]
    del s, c
    collect_garbage()
    assert [r() for r in refs] == [None, None]
    assert chunks == [b"fast:/cycle"]


@pytest.mark.skipif(platform.python_implementation() == "PyPy", reason="PyPy finalises the Curl, which "
                    "references the share, before the share: the share's __del__ never runs with a Curl "
                    "still "
                    "attached, so it closes the share and a resurrected CurlShare is a closed one")
def test_resurrected_share_keeps_a_working_handle() -> None:
    saved: list[CurlShare] = []

    class Phoenix(CurlShare):
        def __del__(self) -> None:
            super().__del__()
            saved.append(self)

    s = Phoenix()
    s.share(pycurlcb.LOCK_DATA_DNS)
    c = Curl()
    c.setopt(pycurlcb.SHARE, s)
    c.setopt(pycurlcb.WRITEFUNCTION, lambda data, _c=c: len(data))
    del s, c
    collect_garbage()  # the share's finaliser runs while the Curl is still attached
    survivor = saved.pop()
    assert not survivor.closed
    survivor.share(pycurlcb.LOCK_DATA_COOKIE)  # the C handle is alive and usable
    survivor.close()
    assert survivor.closed


def test_share_without_super_del_is_released() -> None:
    class Quiet(CurlShare):
        def __del__(self) -> None:
            pass

    s = Quiet()
    ref = weakref.ref(s)
    with Curl() as c:
        c.setopt(pycurlcb.SHARE, s)
        del s
        gc.collect()
        assert ref() is not None
    gc.collect()
    assert ref() is None


def test_context_manager_detaches() -> None:
    c = Curl()
    with CurlShare() as s:
        c.setopt(pycurlcb.SHARE, s)
    assert s.closed and c.share() is None
    c.close()


# --------------------------------------------------------------------------
# the pycurl interface and its errors


def test_constants_on_the_instance() -> None:
    with CurlShare() as s:
        assert s.SH_SHARE is pycurlcb.SH_SHARE
        assert s.LOCK_DATA_CONNECT == pycurlcb.LOCK_DATA_CONNECT


def test_constructor_arguments() -> None:
    with pytest.raises(TypeError):
        CurlShare(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        CurlShare(a=1)  # type: ignore[call-arg]
    CurlShare(detach_on_close=False).close()


@pytest.mark.parametrize(
    "bad", [99999, -1, pycurlcb.LOCK_DATA_NONE, pycurlcb.LOCK_DATA_SHARE, pycurlcb.LOCK_DATA_LAST]
)
def test_bad_lock_data_is_a_type_error_naming_the_choices(bad: int) -> None:
    with CurlShare() as s:
        with pytest.raises(TypeError, match="LOCK_DATA_COOKIE, LOCK_DATA_DNS"):
            s.setopt(pycurlcb.SH_SHARE, bad)
        with pytest.raises(TypeError, match="is not a kind of data"):
            s.share(pycurlcb.LOCK_DATA_DNS, bad)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda s: s.share(), "at least one LOCK_DATA_"),
        (lambda s: s.unshare([pycurlcb.LOCK_DATA_DNS]), "not expanded"),
        (lambda s: s.share("LOCK_DATA_DNS"), "must be LOCK_DATA_\\* integers"),
        (lambda s: s.setopt(pycurlcb.SH_SHARE, None), "LOCK_DATA_\\* integer"),
        (lambda s: s.setopt(pycurlcb.URL, pycurlcb.LOCK_DATA_DNS), "not SH_SHARE or SH_UNSHARE"),
        (lambda s: s.setopt("SH_SHARE", pycurlcb.LOCK_DATA_DNS), "must be SH_SHARE or SH_UNSHARE"),
    ],
)
def test_bad_arguments(call: Any, match: str) -> None:
    with CurlShare() as s:
        with pytest.raises(TypeError, match=match):
            call(s)


def test_values_beyond_c_ranges_overflow() -> None:
    with CurlShare() as s:
        with pytest.raises(OverflowError, match="does not fit in a C long"):
            s.share(1 << 70)
        with pytest.raises(OverflowError, match="does not fit in a C long"):
            s.setopt(pycurlcb.SH_SHARE, 1 << 70)
        with pytest.raises(OverflowError, match="does not fit in a C int"):
            s.setopt(1 << 40, pycurlcb.LOCK_DATA_DNS)


def test_setopt_on_a_share_in_use_is_refused_by_libcurl() -> None:
    with CurlShare() as s, Curl() as c:
        c.setopt(pycurlcb.SHARE, s)
        with pytest.raises(ShareError) as info:
            s.setopt(pycurlcb.SH_SHARE, pycurlcb.LOCK_DATA_DNS)
        assert info.value.name == "CURLSHE_IN_USE"
        assert info.value.args[1].startswith("setopt(SH_SHARE) LOCK_DATA_DNS: ")


@pytest.mark.parametrize(
    "call, what",
    [
        (lambda s: s.setopt(pycurlcb.SH_SHARE, pycurlcb.LOCK_DATA_DNS), "setopt"),
        (lambda s: s.share(pycurlcb.LOCK_DATA_DNS), "share"),
        (lambda s: s.unshare(pycurlcb.LOCK_DATA_DNS), "unshare"),
    ],
)
def test_closed_share_refuses(call: Any, what: str) -> None:
    s = CurlShare()
    s.close()
    with pytest.raises(ShareError) as info:
        call(s)
    assert info.value.name == "CURLSHE_INVALID"
    assert info.value.args[1] == f"cannot invoke {what}() - no share handle"


def test_setopt_share_errors() -> None:
    closed = CurlShare()
    closed.close()
    with Curl() as c, CurlShare() as s1, CurlShare() as s2:
        with pytest.raises(pycurlcb.error) as closed_info:
            c.setopt(pycurlcb.SHARE, closed)
        assert closed_info.value.args == ("CurlShare is closed",)  # pycurl's own message
        with pytest.raises(TypeError, match="expects a CurlShare, not str"):
            c.setopt(pycurlcb.SHARE, "share")
        c.setopt(pycurlcb.SHARE, s1)
        with pytest.raises(pycurlcb.error, match="already sharing"):
            c.setopt(pycurlcb.SHARE, s2)
        assert c.share() is s1
        c.setopt(pycurlcb.SHARE, None)
        assert c.share() is None
        c.setopt(pycurlcb.SHARE, s2)
        c.unsetopt(pycurlcb.SHARE)
        c.unsetopt(pycurlcb.SHARE)  # nothing to unset
        assert c.share() is None


def test_copy_and_pickle_are_refused() -> None:
    import copy
    import pickle

    with CurlShare() as s:
        with pytest.raises(TypeError):
            copy.copy(s)
        with pytest.raises(TypeError):
            pickle.dumps(s)
