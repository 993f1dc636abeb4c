"""CurlUrl against libcurl's own URL parser, and transfers through setopt(CURLU)
against a real local server."""

from __future__ import annotations

import copy
import gc
import pickle
import threading
import weakref

import pytest
from servers import FastServer
from since import VERSION_NUM, needs_version, version_num

import pycurlcb
from pycurlcb import Curl, CurlUrl, UrlError

FULL = "https://user:pw@example.com:8080/a/b?x=1#frag"


# --------------------------------------------------------------------------
# parsing and parts


def test_parts_of_a_full_url() -> None:
    u = CurlUrl(FULL)
    assert (u.scheme, u.user, u.password, u.host, u.port) == ("https", "user", "pw", "example.com", "8080")
    assert (u.path, u.query, u.fragment, u.options, u.zoneid) == ("/a/b", "x=1", "frag", None, None)
    assert u.url == str(u) == FULL


def test_absent_parts_are_none_and_an_empty_handle_is_incomplete() -> None:
    u = CurlUrl()
    assert (u.scheme, u.host, u.url, u.query, u.port) == (None, None, None, None, None)
    with pytest.raises(UrlError) as info:
        str(u)
    assert info.value.name == "CURLUE_NO_HOST"
    assert info.value.args[1].startswith("cannot serialise an incomplete URL: ")
    assert "(incomplete)" in repr(u)


def test_invalid_url_raises_with_the_curlucode() -> None:
    with pytest.raises(UrlError) as info:
        CurlUrl("this is not a url")
    assert isinstance(info.value, pycurlcb.error)
    code = info.value.code
    assert info.value.args == (code, f"setpart(UPART_URL): {pycurlcb.url_strerror(code)}")
    assert info.value.name.startswith("CURLUE_")


def test_login_options_and_ipv6_zone_id() -> None:
    u = CurlUrl("imap://user;AUTH=*@mail.example.com/")
    assert (u.user, u.options) == ("user", "AUTH=*")
    v = CurlUrl("http://[fe80::1%25eth0]:8080/")
    assert (v.host, v.zoneid) == ("[fe80::1]", "eth0")
    v.zoneid = "eth1"
    assert v.url == "http://[fe80::1%25eth1]:8080/"


def test_setting_removing_and_deleting_parts() -> None:
    u = CurlUrl("https://example.com/")
    u.scheme, u.host, u.path, u.query, u.fragment = "http", "example.org", "/x", "a=1", "top"
    assert u.url == "http://example.org/x?a=1#top"
    u.fragment = None
    del u.query
    assert u.url == "http://example.org/x"
    u.port = 9090
    assert u.port == "9090"
    u.port = b"1234"
    assert u.url == "http://example.org:1234/x"


def test_setting_the_url_resolves_a_relative_reference() -> None:
    u = CurlUrl("https://example.com/a/b/c?q=1")
    u.url = "../d?x=2"
    assert u.url == "https://example.com/a/d?x=2"


def test_refused_value_leaves_the_part_as_it_was() -> None:
    u = CurlUrl("https://example.com:443/")
    with pytest.raises(UrlError) as info:
        u.port = "http"
    assert info.value.name == "CURLUE_BAD_PORT_NUMBER"
    assert info.value.args[1].startswith("setpart(UPART_PORT): ")
    assert u.port == "443"


@pytest.mark.parametrize(
    "url, flags, expected",
    [
        ("example.com/x", pycurlcb.U_GUESS_SCHEME, "http://example.com/x"),
        ("ftp.example.com/x", pycurlcb.U_GUESS_SCHEME, "ftp://ftp.example.com/x"),
        ("example.com/x", pycurlcb.U_DEFAULT_SCHEME, "https://example.com/x"),
        ("foo://example.com/", pycurlcb.U_NON_SUPPORT_SCHEME, "foo://example.com/"),
        ("http://example.com/a/../b", pycurlcb.U_PATH_AS_IS, "http://example.com/a/../b"),
    ],
)
def test_constructor_flags(url: str, flags: int, expected: str) -> None:
    assert CurlUrl(url, flags).url == expected
    assert CurlUrl(url=url.encode(), flags=flags).url == expected


def test_unsupported_scheme_without_the_flag() -> None:
    with pytest.raises(UrlError) as info:
        CurlUrl("foo://example.com/")
    assert info.value.name == "CURLUE_UNSUPPORTED_SCHEME"


def test_getpart_and_setpart_flags() -> None:
    u = CurlUrl("https://example.com/?a=1")
    assert u.getpart(pycurlcb.UPART_PORT) is None
    assert u.getpart(pycurlcb.UPART_PORT, pycurlcb.U_DEFAULT_PORT) == "443"
    u.setpart(pycurlcb.UPART_QUERY, "b=c d", pycurlcb.U_APPENDQUERY | pycurlcb.U_URLENCODE)
    assert u.query == "a=1&b=c+d"
    u.setpart(pycurlcb.UPART_PATH, "/a b", pycurlcb.U_URLENCODE)
    assert u.path == "/a%20b"
    assert u.getpart(pycurlcb.UPART_PATH, pycurlcb.U_URLDECODE) == "/a b"
    v = CurlUrl("https://example.com:443/")
    assert v.getpart(pycurlcb.UPART_URL, pycurlcb.U_NO_DEFAULT_PORT) == "https://example.com/"


def test_unknown_part_is_a_url_error() -> None:
    u = CurlUrl(FULL)
    with pytest.raises(UrlError) as info:
        u.getpart(9999)
    assert info.value.name == "CURLUE_UNKNOWN_PART"
    with pytest.raises(UrlError):
        u.setpart(9999, "x")


@pytest.mark.parametrize(
    "value, exc, match",
    [
        (123, TypeError, "must be a string, bytes, or None, not int"),
        (bytearray(b"x"), TypeError, "not bytearray"),
        ("a\0b", ValueError, "NUL byte"),
        ("bücher.de", UnicodeEncodeError, "must be ASCII"),
    ],
)
def test_bad_values(value: object, exc: type[Exception], match: str) -> None:
    u = CurlUrl(FULL)
    with pytest.raises(exc, match=match):
        u.setpart(pycurlcb.UPART_HOST, value)  # type: ignore[arg-type]
    with pytest.raises(exc):
        u.host = value  # type: ignore[assignment]
    assert u.host == "example.com"


@pytest.mark.parametrize("args", [("1", 0), (1, "0"), (-1, 0), (1, 1 << 40)])
def test_bad_part_or_flags(args: tuple[object, object]) -> None:
    with pytest.raises((TypeError, OverflowError)):
        CurlUrl(FULL).getpart(*args)  # type: ignore[arg-type]


def test_non_utf8_bytes_are_replaced() -> None:
    u = CurlUrl("https://example.com/")
    u.setpart(pycurlcb.UPART_PATH, b"/\xff")
    assert u.path == "/\ufffd"


# --------------------------------------------------------------------------
# the object


def test_copy_and_deepcopy_are_independent_and_keep_the_class() -> None:
    class MyUrl(CurlUrl):
        pass

    u = MyUrl(FULL)
    for v in (copy.copy(u), copy.deepcopy(u)):
        assert type(v) is MyUrl and v.url == FULL
        v.host = "changed.example"
        assert u.host == "example.com"


def test_pickle_is_refused() -> None:
    with pytest.raises(TypeError, match="do not support serialization"):
        pickle.dumps(CurlUrl(FULL))


def test_no_instance_dict_but_subclasses_have_one() -> None:
    with pytest.raises(AttributeError):
        CurlUrl(FULL).note = 1  # type: ignore[attr-defined]

    class Noted(CurlUrl):
        def __init__(self, url: str, note: str) -> None:
            super().__init__(url)
            self.note = note

    n = Noted(FULL, "hello")
    assert (n.note, n.host) == ("hello", "example.com")


def test_weakref_and_collection() -> None:
    u = CurlUrl(FULL)
    ref = weakref.ref(u)
    del u
    gc.collect()
    assert ref() is None


def test_one_url_from_several_threads() -> None:
    u = CurlUrl("https://example.com/")
    hosts = {f"h{i}.example" for i in range(4)}
    seen: set[str | None] = set()

    def worker(host: str) -> None:
        for _ in range(300):
            u.host = host
            seen.add(u.host)
            copy.copy(u)

    threads = [threading.Thread(target=worker, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen <= hosts and u.host in hosts


@needs_version("7.80.0", "curl_url_strerror")
def test_url_strerror() -> None:
    assert pycurlcb.url_strerror(0) == "No error"
    assert pycurlcb.url_strerror(99999)
    with pytest.raises(TypeError):
        pycurlcb.url_strerror("0")  # type: ignore[arg-type]


@pytest.mark.skipif(VERSION_NUM >= version_num("7.80.0"), reason="libcurl 7.80.0+ has curl_url_strerror")
def test_url_strerror_without_curl_url_strerror_is_the_code_name() -> None:
    assert pycurlcb.url_strerror(0) == "CURLUE_OK"
    assert pycurlcb.url_strerror(3) == "CURLUE_MALFORMED_INPUT"
    assert pycurlcb.url_strerror(99999) == "CURLUE_99999"
    with pytest.raises(UrlError, match=r"setpart\(UPART_URL\): CURLUE_"):
        CurlUrl("this is not a url")
    with pytest.raises(TypeError):
        pycurlcb.url_strerror("0")  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# transfers through setopt(CURLU)


def test_transfer_through_curlu(fast_server: FastServer) -> None:
    u = CurlUrl(fast_server.url("/first"))
    with Curl() as c:
        c.setopt(pycurlcb.CURLU, u)
        assert c.perform_rb() == b"fast:/first"
        assert c.getinfo(pycurlcb.EFFECTIVE_URL) == fast_server.url("/first")
        u.path = "/second"  # read again when the next transfer starts
        u.query = "q=1"
        assert c.perform_rb() == b"fast:/second?q=1"
        assert fast_server.requests == 2


def test_curlu_wins_over_url_and_unset_goes_back_to_url(fast_server: FastServer) -> None:
    with Curl() as c:
        c.setopt(pycurlcb.URL, fast_server.url("/plain"))
        c.setopt(pycurlcb.CURLU, CurlUrl(fast_server.url("/curlu")))
        assert c.perform_rb() == b"fast:/curlu"
        c.unsetopt(pycurlcb.CURLU)
        c.setopt(pycurlcb.URL, fast_server.url("/plain"))
        assert c.perform_rb() == b"fast:/plain"


def test_redirects_leave_the_curlurl_unchanged(fast_server: FastServer) -> None:
    u = CurlUrl(fast_server.url("/redirect/2"))
    with Curl() as c:
        c.setopt(pycurlcb.CURLU, u)
        c.setopt(pycurlcb.FOLLOWLOCATION, 1)
        assert c.perform_rb() == b"done"
        assert c.getinfo(pycurlcb.EFFECTIVE_URL) == fast_server.url("/redirect/0")
    assert u.url == fast_server.url("/redirect/2")


def test_curl_keeps_its_curlurl_alive_and_so_does_a_duplicate(fast_server: FastServer) -> None:
    u = CurlUrl(fast_server.url("/kept"))
    ref = weakref.ref(u)
    c = Curl()
    c.setopt(pycurlcb.CURLU, u)
    d = c.duphandle()
    del u
    gc.collect()
    assert ref() is not None
    c.close()
    gc.collect()
    assert ref() is not None
    assert d.perform_rb() == b"fast:/kept"  # libcurl's copy points at the same CURLU
    d.close()
    gc.collect()
    assert ref() is None


def test_setopt_curlu_wants_a_curlurl() -> None:
    with Curl() as c:
        with pytest.raises(TypeError, match="expects a CurlUrl object, not str"):
            c.setopt(pycurlcb.CURLU, "https://example.com/")
        c.setopt(pycurlcb.CURLU, None)  # unsetting what is not set
