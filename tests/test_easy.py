"""Curl, the easy interface, against real local servers (never a mock of libcurl).

Covers setopt for every option type libcurl reports (long, off_t, string,
slist, blob, object, function), pycurl 7.49's contract for bad values
(TypeError, OverflowError, UnicodeEncodeError for non-ASCII str,
pycurlcb.error(E_UNKNOWN_OPTION) for an unknown option), getinfo for every
``pycurlcb.Info`` member, perform, reset, duphandle, pause, close and the
context manager, pycurl's misuse errors (``args == (message,)``), errstr, and
the error hierarchy with a real refused port and a real silent server.
"""

from __future__ import annotations

import gc
import io
import os
import pathlib
import re
import signal
import socket
import threading
import time
import warnings
from typing import Any, Callable, Optional

import pytest
from since import has_feature, needs, unknown_to_loaded

import pycurlcb
import pycurlcb._callbacks
from pycurlcb import Info
from pycurlcb.constants import OPTIONS, InfoKind, OptType, info_kind


def _curl(url: str, **opts: Any) -> tuple[pycurlcb.Curl, io.BytesIO]:
    c = pycurlcb.Curl()
    c.setopt(pycurlcb.URL, url)
    body = io.BytesIO()
    c.setopt(pycurlcb.WRITEDATA, body)
    for name, value in opts.items():
        c.setopt(getattr(pycurlcb, name), value)
    return c, body


def _fetch(url: str, **opts: Any) -> bytes:
    c, body = _curl(url, **opts)
    with c:
        c.perform()
    return body.getvalue()


def _last_request(httpserver: Any) -> Any:
    assert httpserver.log, "the server received no request"
    return httpserver.log[-1][0]


# --------------------------------------------------------------------------
# perform, and the basic shapes


def test_perform_writes_the_body_to_writefunction(http_url: str) -> None:
    chunks: list[bytes] = []
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, http_url)
        c.setopt(pycurlcb.WRITEFUNCTION, chunks.append)
        assert c.perform() is None
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
        assert c.getinfo(pycurlcb.HTTP_CODE) == 200
    assert all(type(chunk) is bytes for chunk in chunks)
    assert b"".join(chunks) == b"hello"


def test_writedata_takes_any_object_with_write(http_url: str) -> None:
    class Sink:
        def __init__(self) -> None:
            self.data = b""

        def write(self, chunk: bytes) -> None:
            self.data += chunk

    sink = Sink()
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, http_url)
        c.setopt(pycurlcb.WRITEDATA, sink)
        c.perform()
    assert sink.data == b"hello"


def test_perform_rb_and_rs(http_url: str) -> None:
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, http_url)
        assert c.perform_rb() == b"hello"
        assert c.perform_rs() == "hello"


def test_same_handle_performs_many_times(http_paths: Any) -> None:
    paths = http_paths(5)
    with pycurlcb.Curl() as c:
        for url, expected in paths * 2:
            body = io.BytesIO()
            c.setopt(pycurlcb.URL, url)
            c.setopt(pycurlcb.WRITEDATA, body)
            c.perform()
            assert body.getvalue() == expected


def test_perform_releases_the_gil(silent_server: Any) -> None:
    """Another Python thread keeps running while perform() waits in libcurl."""
    host, port = silent_server
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    c, _ = _curl(f"http://{host}:{port}/", TIMEOUT_MS=400)
    with c:
        t.start()
        try:
            with pytest.raises(pycurlcb.CurlTimeoutError):
                c.perform()
        finally:
            stop.set()
            t.join()
    # 400 ms of 1 ms sleeps: with the GIL held the whole time this would be ~0.
    assert ticks > 50


def test_sigint_stops_a_stalled_perform_with_no_callback(
    silent_server: Any, http_url: str, sigint_raises: None
) -> None:
    """perform() is documented to answer Ctrl-C promptly even with no callback set."""
    host, port = silent_server
    main = threading.get_ident()
    c, _ = _curl(f"http://{host}:{port}/", TIMEOUT_MS=5000)
    c.unsetopt(pycurlcb.WRITEDATA)
    timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
    start = time.monotonic()
    with c:
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                c.perform()
        finally:
            timer.join()
        assert time.monotonic() - start < 2.0
        body = io.BytesIO()
        c.setopt(pycurlcb.URL, http_url)
        c.setopt(pycurlcb.WRITEDATA, body)
        c.setopt(pycurlcb.TIMEOUT_MS, 5000)
        c.perform()  # the handle is usable afterwards
        assert body.getvalue() == b"hello"


# --------------------------------------------------------------------------
# setopt by option type


def test_option_table_has_every_type() -> None:
    """The run-time table covers the types these tests exercise."""
    kinds = {spec.type for spec in OPTIONS.values()}
    for kind in (OptType.LONG, OptType.OFF_T, OptType.STRING, OptType.SLIST,
                 OptType.BLOB, OptType.OBJECT, OptType.FUNCTION):
        assert kind in kinds
    assert OPTIONS[pycurlcb.URL].type is OptType.STRING
    assert OPTIONS[pycurlcb.HTTPHEADER].type is OptType.SLIST
    assert OPTIONS[pycurlcb.MAXFILESIZE_LARGE].type is OptType.OFF_T
    assert OPTIONS[pycurlcb.SSLCERT_BLOB].type is OptType.BLOB  # libcurl 7.71.0
    assert OPTIONS[pycurlcb.PRIVATE].type is OptType.OBJECT
    assert OPTIONS[pycurlcb.WRITEFUNCTION].type is OptType.FUNCTION
    assert pycurlcb.Opt.URL == pycurlcb.URL
    assert pycurlcb.Opt.HTTPHEADER == pycurlcb.HTTPHEADER


_GOOD = {
    OptType.LONG: 0,
    OptType.VALUES: 0,
    OptType.OFF_T: 0,
    OptType.STRING: "",
    OptType.SLIST: [],
    OptType.BLOB: b"",
}
#: A value of the wrong type, and what the TypeError says.  The blob message is
#: pycurl's and does not name the option; the others name it.
_BAD = {
    OptType.LONG: ("0", "expects an int"),
    OptType.VALUES: (0.0, "expects an int"),
    OptType.OFF_T: ("0", "expects an int"),
    OptType.STRING: (1.5, "expects str or bytes"),
    OptType.SLIST: (5, "expects a list or tuple"),
    OptType.BLOB: (5, "blob option value must be a byte string, ASCII-only Unicode string, "
                      "or a buffer object"),
}
#: Long options pycurl 7.49 also takes a str for (it passes the text's
#: address; libcurl reads a non-zero long: enabled).
_TEXT_ENABLES = {"WILDCARDMATCH"}


def test_every_plain_option_accepts_its_type_and_refuses_others() -> None:
    """Each long, off_t, string, slist and blob option of the loaded libcurl."""
    specs = [s for s in OPTIONS.values() if s.type in _GOOD and s.id != pycurlcb.POSTFIELDS]
    assert len(specs) > 200
    refused_by_libcurl = []
    for spec in specs:
        with pycurlcb.Curl() as c, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # pycurl's, for a few strings
            try:
                c.setopt(spec.id, _GOOD[spec.type])
            except pycurlcb.error:  # libcurl may refuse the value, never the type
                refused_by_libcurl.append(spec.name)
            bad, expected = _BAD[spec.type]
            if spec.name in _TEXT_ENABLES:
                c.setopt(spec.id, bad)  # accepted, as pycurl
                bad = 1.5
            with pytest.raises(TypeError) as info:
                c.setopt(spec.id, bad)
            assert expected in str(info.value)
            if spec.type is not OptType.BLOB:
                assert f"setopt({spec.name})" in str(info.value)
    # Only a few options refuse 0 / "" (unbuilt features, "" not a valid list ...).
    assert len(refused_by_libcurl) < len(specs) // 6, refused_by_libcurl


#: Callbacks pycurlcb supports that a libcurl built without their feature refuses
#: (E_UNKNOWN_OPTION): True where the loaded libcurl lacks it.
_NO_SSH = not {"scp", "sftp"} & set(pycurlcb.version_info()[8])  # libcurl built without an SSH library
_BUILT_WITHOUT = {
    "SSH_KEYFUNCTION": _NO_SSH,
    "SSH_HOSTKEYFUNCTION": _NO_SSH,
    "HSTSREADFUNCTION": not has_feature("HSTS"),
    "HSTSWRITEFUNCTION": not has_feature("HSTS"),
}


def test_function_options_beyond_the_supported_ones_are_unknown_options() -> None:
    """Every callback of the table is settable; the other FUNCTION options
    (CONV_*, INTERLEAVE, SSL_CTX ...) are refused as pycurlcb.error
    (E_UNKNOWN_OPTION), naming the option."""
    supported = {row.option for row in pycurlcb._callbacks.ROWS.values() if row.owner == "easy"}
    assert {"OPENSOCKETFUNCTION", "SOCKOPTFUNCTION", "CLOSESOCKETFUNCTION",
            "WRITEFUNCTION", "HEADERFUNCTION", "READFUNCTION", "SEEKFUNCTION",
            "XFERINFOFUNCTION", "PROGRESSFUNCTION", "DEBUGFUNCTION"} <= supported
    refused = []
    for spec in OPTIONS.values():
        if spec.type is not OptType.FUNCTION:
            continue
        with pycurlcb.Curl() as c, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # PROGRESS/IOCTLFUNCTION
            if spec.name in supported and _BUILT_WITHOUT.get(spec.name):
                try:  # libcurl knows the option only when built with the feature
                    c.setopt(spec.id, lambda *args: None)
                except pycurlcb.error as exc:
                    assert exc.args[0] == pycurlcb.E_UNKNOWN_OPTION
            elif spec.name in supported:
                c.setopt(spec.id, lambda *args: None)
            else:
                refused.append(spec.name)
                with pytest.raises(pycurlcb.error, match=spec.name) as info:
                    c.setopt(spec.id, lambda *args: None)
                assert type(info.value) is pycurlcb.error
                assert info.value.args[0] == pycurlcb.E_UNKNOWN_OPTION
    assert refused


def test_long_option_nobody(httpserver: Any) -> None:
    httpserver.expect_request("/h").respond_with_data(b"not sent")
    c, body = _curl(httpserver.url_for("/h"), NOBODY=1)
    with c:
        c.perform()
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
    assert body.getvalue() == b""
    assert _last_request(httpserver).method == "HEAD"


def test_long_option_followlocation(httpserver: Any) -> None:
    httpserver.expect_request("/a").respond_with_data(
        b"", status=302, headers={"Location": "/b"}
    )
    httpserver.expect_request("/b").respond_with_data(b"landed")
    assert _fetch(httpserver.url_for("/a"), FOLLOWLOCATION=1) == b"landed"
    c, body = _curl(httpserver.url_for("/a"), FOLLOWLOCATION=0)
    with c:
        c.perform()
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 302
        assert c.getinfo(pycurlcb.REDIRECT_URL) == httpserver.url_for("/b")
    assert body.getvalue() == b""


def test_values_option_http_version(http_url: str) -> None:
    c, body = _curl(http_url, HTTP_VERSION=pycurlcb.CURL_HTTP_VERSION_1_0)
    with c:
        c.perform()
        assert c.getinfo(pycurlcb.INFO_HTTP_VERSION) == pycurlcb.CURL_HTTP_VERSION_1_0
    assert body.getvalue() == b"hello"


def test_off_t_option_maxfilesize(httpserver: Any) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 1000)
    c, _ = _curl(httpserver.url_for("/big"), MAXFILESIZE_LARGE=10)
    with c, pytest.raises(pycurlcb.error) as info:
        c.perform()
    assert info.value.args[0] == pycurlcb.E_FILESIZE_EXCEEDED
    assert _fetch(httpserver.url_for("/big"), MAXFILESIZE_LARGE=1000) == b"x" * 1000


def test_off_t_option_takes_values_beyond_32_bits(http_url: str) -> None:
    assert _fetch(http_url, MAXFILESIZE_LARGE=(1 << 40)) == b"hello"


def test_string_option_str_bytes_and_unset(httpserver: Any) -> None:
    httpserver.expect_request("/ua").respond_with_data(b"ok")
    url = httpserver.url_for("/ua")
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, url.encode())  # bytes
        c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
        c.setopt(pycurlcb.USERAGENT, "agent-str/1")
        c.perform()
        assert _last_request(httpserver).headers.get("User-Agent") == "agent-str/1"
        c.setopt(pycurlcb.USERAGENT, b"agent-bytes/2")
        c.perform()
        assert _last_request(httpserver).headers.get("User-Agent") == "agent-bytes/2"
        c.unsetopt(pycurlcb.USERAGENT)
        c.perform()
        assert _last_request(httpserver).headers.get("User-Agent") is None
        c.setopt(pycurlcb.USERAGENT, "again")
        c.setopt(pycurlcb.USERAGENT, None)  # None unsets, as in pycurl
        c.perform()
        assert _last_request(httpserver).headers.get("User-Agent") is None


def test_string_option_is_copied(httpserver: Any) -> None:
    """libcurl copies strings: the Python value may go away before perform()."""
    httpserver.expect_request("/ua").respond_with_data(b"ok")
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, httpserver.url_for("/ua"))
        c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
        c.setopt(pycurlcb.USERAGENT, "".join(["dyn", "amic-", str(os.getpid())]))
        gc.collect()
        c.perform()
    assert _last_request(httpserver).headers["User-Agent"] == f"dynamic-{os.getpid()}"


def test_string_option_pathlike(tls_server: Any) -> None:
    body = _fetch(tls_server.url, CAINFO=pathlib.Path(tls_server.ca_file))
    assert body == tls_server.body


def test_string_option_with_nul_byte_is_valueerror() -> None:
    with pycurlcb.Curl() as c, pytest.raises(ValueError, match="USERAGENT"):
        c.setopt(pycurlcb.USERAGENT, "a\0b")


def test_slist_option_httpheader(httpserver: Any) -> None:
    httpserver.expect_request("/hdr").respond_with_data(b"ok")
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, httpserver.url_for("/hdr"))
        c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
        headers = ["X-One: 1", b"X-Two: 2"]
        c.setopt(pycurlcb.HTTPHEADER, headers)
        del headers
        gc.collect()
        c.perform()
        req = _last_request(httpserver)
        assert req.headers["X-One"] == "1"
        assert req.headers["X-Two"] == "2"
        # Replacing the list drops the old one.
        c.setopt(pycurlcb.HTTPHEADER, ("X-Three: 3",))
        c.perform()
        req = _last_request(httpserver)
        assert req.headers.get("X-One") is None
        assert req.headers["X-Three"] == "3"
        # An empty list leaves the option as it is (pycurl 7.49) ...
        c.setopt(pycurlcb.HTTPHEADER, [])
        c.perform()
        assert _last_request(httpserver).headers["X-Three"] == "3"
        # ... unsetopt removes it.
        c.unsetopt(pycurlcb.HTTPHEADER)
        c.perform()
        assert _last_request(httpserver).headers.get("X-Three") is None
        c.setopt(pycurlcb.HTTPHEADER, ["X-Four: 4"])
        c.setopt(pycurlcb.HTTPHEADER, None)  # None unsets too
        c.perform()
        assert _last_request(httpserver).headers.get("X-Four") is None


def test_slist_option_resolve(httpserver: Any) -> None:
    """RESOLVE: another slist, which also proves the list reaches libcurl intact."""
    httpserver.expect_request("/r").respond_with_data(b"resolved")
    port = httpserver.port
    url = f"http://pycurlcb-test.invalid:{port}/r"
    assert _fetch(url, RESOLVE=[f"pycurlcb-test.invalid:{port}:127.0.0.1"]) == b"resolved"


needs_cainfo_blob = needs("CAINFO_BLOB", "7.77.0")


@needs_cainfo_blob
def test_blob_option_cainfo_blob(tls_server: Any) -> None:
    pem = pathlib.Path(tls_server.ca_file).read_bytes()
    c, body = _curl(tls_server.url)
    with c:
        c.setopt(pycurlcb.CAINFO_BLOB, bytearray(pem))
        del pem
        gc.collect()
        c.perform()
    assert body.getvalue() == tls_server.body


@needs_cainfo_blob
def test_blob_option_with_a_wrong_ca_fails_verification(tls_server: Any) -> None:
    import trustme

    other = trustme.CA().cert_pem.bytes()
    c, _ = _curl(tls_server.url, CAINFO_BLOB=other)
    with c, pytest.raises(pycurlcb.CurlTLSError) as info:
        c.perform()
    assert isinstance(info.value, pycurlcb.error)
    assert info.value.name.startswith(("CURLE_SSL_", "CURLE_PEER_FAILED"))


def test_object_option_private_roundtrip(http_url: str) -> None:
    marker = object()
    with pycurlcb.Curl() as c:
        assert c.getinfo(pycurlcb.INFO_PRIVATE) is None
        c.setopt(pycurlcb.PRIVATE, marker)
        assert c.getinfo(pycurlcb.INFO_PRIVATE) is marker
        assert c.getinfo(Info.PRIVATE) is marker
        c.setopt(pycurlcb.URL, http_url)
        c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
        c.perform()
        assert c.getinfo(pycurlcb.INFO_PRIVATE) is marker
        c.unsetopt(pycurlcb.PRIVATE)
        assert c.getinfo(pycurlcb.INFO_PRIVATE) is None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("a=1&b=2", b"a=1&b=2"),
        (b"bin\0ary\xff", b"bin\0ary\xff"),
        ("", b""),
    ],
)
def test_object_option_postfields(httpserver: Any, value: Any, expected: bytes) -> None:
    httpserver.expect_request("/post", method="POST").respond_with_data(b"posted")
    assert _fetch(httpserver.url_for("/post"), POSTFIELDS=value) == b"posted"
    req = _last_request(httpserver)
    assert req.method == "POST"
    assert req.get_data() == expected


@pytest.mark.parametrize("value", ["a=1&b=2", b"a=1&b=2"])
def test_copypostfields_is_a_string_option_as_in_pycurl(httpserver: Any, value: Any) -> None:
    """libcurl lists COPYPOSTFIELDS as an OBJECT option; pycurl sets it from a str or bytes."""
    httpserver.expect_request("/post", method="POST").respond_with_data(b"posted")
    assert _fetch(httpserver.url_for("/post"), COPYPOSTFIELDS=value) == b"posted"
    assert _last_request(httpserver).get_data() == b"a=1&b=2"


def test_postfields_are_copied(httpserver: Any) -> None:
    httpserver.expect_request("/post", method="POST").respond_with_data(b"posted")
    data = bytearray(b"original")
    c, _ = _curl(httpserver.url_for("/post"))
    with c:
        c.setopt(pycurlcb.POSTFIELDS, data)
        data[:] = b"mutated!"
        del data
        gc.collect()
        c.perform()
    assert _last_request(httpserver).get_data() == b"original"


def test_function_option_headerfunction(http_url: str) -> None:
    headers: list[bytes] = []
    assert _fetch(http_url, HEADERFUNCTION=headers.append) == b"hello"
    assert headers[0].startswith(b"HTTP/1.")
    assert b" 200 " in headers[0]
    assert any(h.lower().startswith(b"content-length: 5") for h in headers)
    assert headers[-1] == b"\r\n"


def test_headerdata_takes_an_object_with_write(http_url: str) -> None:
    headers = io.BytesIO()
    assert _fetch(http_url, HEADERDATA=headers) == b"hello"
    assert headers.getvalue().startswith(b"HTTP/1.")


def test_function_option_readfunction_upload(httpserver: Any) -> None:
    httpserver.expect_request("/up", method="PUT").respond_with_data(b"stored")
    payload = b"0123456789" * 1000
    src = io.BytesIO(payload)
    asked: list[int] = []

    def read(n: int) -> bytes:
        asked.append(n)
        return src.read(n)

    c, body = _curl(httpserver.url_for("/up"), UPLOAD=1, INFILESIZE_LARGE=len(payload))
    with c:
        c.setopt(pycurlcb.READFUNCTION, read)
        c.perform()
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200
    assert body.getvalue() == b"stored"
    assert _last_request(httpserver).get_data() == payload
    assert asked and all(type(n) is int and n > 0 for n in asked)


def test_readdata_takes_an_object_with_read(httpserver: Any) -> None:
    httpserver.expect_request("/up", method="POST").respond_with_data(b"stored")
    payload = b"from a file object"
    c, body = _curl(httpserver.url_for("/up"), POST=1, POSTFIELDSIZE=len(payload))
    with c:
        c.setopt(pycurlcb.READDATA, io.BytesIO(payload))
        c.perform()
    assert _last_request(httpserver).get_data() == payload


def test_function_option_xferinfofunction(httpserver: Any) -> None:
    httpserver.expect_request("/big").respond_with_data(b"y" * 100_000)
    calls: list[tuple[int, int, int, int]] = []

    def xferinfo(dltotal: int, dlnow: int, ultotal: int, ulnow: int) -> None:
        calls.append((dltotal, dlnow, ultotal, ulnow))

    # As pycurl: setting the callback leaves NOPROGRESS on (a new Curl has it
    # set), so the callback is not called ...
    body = _fetch(httpserver.url_for("/big"), XFERINFOFUNCTION=xferinfo)
    assert body == b"y" * 100_000
    assert calls == []
    # ... until NOPROGRESS is turned off.
    body = _fetch(httpserver.url_for("/big"), XFERINFOFUNCTION=xferinfo, NOPROGRESS=0)
    assert body == b"y" * 100_000
    assert calls
    assert all(type(v) is int for call in calls for v in call)
    assert calls[-1][:2] == (100_000, 100_000)


def test_function_option_debugfunction(http_url: str) -> None:
    events: list[tuple[Any, bytes]] = []

    def debug(kind: Any, data: bytes) -> None:
        events.append((kind, data))

    assert _fetch(http_url, VERBOSE=1, DEBUGFUNCTION=debug) == b"hello"
    kinds = {kind for kind, _ in events}
    assert pycurlcb.InfoType.HEADER_OUT in kinds
    assert pycurlcb.InfoType.HEADER_IN in kinds
    assert pycurlcb.InfoType.DATA_IN in kinds
    assert all(isinstance(kind, pycurlcb.InfoType) for kind in kinds)
    out = b"".join(d for k, d in events if k == pycurlcb.InfoType.HEADER_OUT)
    assert out.startswith(b"GET /hello HTTP/1.1\r\n")
    assert pycurlcb.INFOTYPE_HEADER_OUT == pycurlcb.InfoType.HEADER_OUT


def test_write_callback_returning_a_short_count_is_a_write_error(http_url: str) -> None:
    c, _ = _curl(http_url, WRITEFUNCTION=lambda b: 0)
    with c, pytest.raises(pycurlcb.CallbackError) as info:
        c.perform()
    assert info.value.args[0] == pycurlcb.E_WRITE_ERROR
    assert isinstance(info.value, pycurlcb.error)


def test_xferinfo_returning_nonzero_aborts(http_url: str) -> None:
    c, _ = _curl(http_url, NOPROGRESS=0, XFERINFOFUNCTION=lambda *a: 1)
    with c, pytest.raises(pycurlcb.CallbackError) as info:
        c.perform()
    assert info.value.code == pycurlcb.E_ABORTED_BY_CALLBACK
    assert info.value.name == "CURLE_ABORTED_BY_CALLBACK"
    assert info.value.__cause__ is None  # asked by its return value, nothing raised


# --------------------------------------------------------------------------
# bad values


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("URL", 5, "integers are not supported for this option"),  # pycurl's
        ("URL", ["http://x/"], "setopt(URL) expects str or bytes"),
        ("USERAGENT", 1.5, "setopt(USERAGENT) expects str or bytes"),
        ("TIMEOUT", "5", "setopt(TIMEOUT) expects an int"),
        ("TIMEOUT", 1.5, "setopt(TIMEOUT) expects an int"),
        ("TIMEOUT", [5], "setopt(TIMEOUT) expects an int"),
        ("HTTP_VERSION", "1.1", "setopt(HTTP_VERSION) expects an int"),
        ("MAXFILESIZE_LARGE", "10", "setopt(MAXFILESIZE_LARGE) expects an int"),
        ("MAXFILESIZE_LARGE", 10.0, "setopt(MAXFILESIZE_LARGE) expects an int"),
        ("HTTPHEADER", "X-A: b", "setopt(HTTPHEADER) expects a list or tuple"),
        ("HTTPHEADER", b"X-A: b", "setopt(HTTPHEADER) expects a list or tuple"),
        ("HTTPHEADER", 5, "setopt(HTTPHEADER) expects a list or tuple"),
        ("HTTPHEADER", [5], "list items must be byte strings or Unicode strings with ASCII "
                            "code points only"),
        pytest.param("CAINFO_BLOB", 5, "blob option value must be a byte string", marks=needs_cainfo_blob),
        ("POSTFIELDS", 5, "integers are not supported for this option"),
        ("POSTFIELDS", ["a"], "setopt(POSTFIELDS) expects str or bytes"),
        ("WRITEFUNCTION", 5, "setopt(WRITEFUNCTION) expects a callable"),
        ("WRITEFUNCTION", "print", "setopt(WRITEFUNCTION) expects a callable"),
        ("OPENSOCKETFUNCTION", object(), "setopt(OPENSOCKETFUNCTION) expects a callable"),
        ("SOCKOPTFUNCTION", 1, "setopt(SOCKOPTFUNCTION) expects a callable"),
        ("CLOSESOCKETFUNCTION", b"x", "setopt(CLOSESOCKETFUNCTION) expects a callable"),
        ("WRITEDATA", 5, "object given without a write method"),  # pycurl's
        ("HEADERDATA", object(), "object given without a write method"),
        ("WRITEHEADER", object(), "object given without a write method"),
        ("READDATA", b"bytes have no read", "object given without a read method"),
    ],
)
def test_wrong_type_is_typeerror(name: str, value: Any, expected: str) -> None:
    with pycurlcb.Curl() as c:
        with pytest.raises(TypeError) as info:
            c.setopt(getattr(pycurlcb, name), value)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    "name, value",
    [("URL", "http://exämple/"), ("USERAGENT", "agent \u2603"), ("HTTPHEADER", ["X-A: \xe9"]),
     pytest.param("CAINFO_BLOB", "\xe9", marks=needs_cainfo_blob), ("POSTFIELDS", "\xe9=1")],
)
def test_str_values_are_ascii_only(name: str, value: Any) -> None:
    """As pycurl 7.49: a str is encoded as ASCII; bytes pass through."""
    with pycurlcb.Curl() as c:
        with pytest.raises(UnicodeEncodeError):
            c.setopt(getattr(pycurlcb, name), value)
        encoded = [v.encode() for v in value] if isinstance(value, list) else value.encode()
        c.setopt(getattr(pycurlcb, name), encoded)


@needs_cainfo_blob
def test_blob_option_takes_an_ascii_str(tls_server: Any) -> None:
    pem = pathlib.Path(tls_server.ca_file).read_text("ascii")
    assert _fetch(tls_server.url, CAINFO_BLOB=pem) == tls_server.body


@pytest.mark.parametrize(
    "name, value",
    [
        ("TIMEOUT", 1 << 63),
        ("TIMEOUT", -(1 << 63) - 1),
        ("TIMEOUT", 1 << 100),
        ("HTTP_VERSION", 1 << 64),
        ("MAXFILESIZE_LARGE", 1 << 63),
        ("MAXFILESIZE_LARGE", -(1 << 63) - 1),
    ],
)
def test_out_of_range_int_is_overflowerror(name: str, value: int) -> None:
    with pycurlcb.Curl() as c:
        with pytest.raises(OverflowError) as info:
            c.setopt(getattr(pycurlcb, name), value)
    assert f"setopt({name})" in str(info.value)
    assert str(value) in str(info.value)


def test_long_at_the_limit_is_accepted(http_url: str) -> None:
    assert _fetch(http_url, TIMEOUT_MS=(1 << 63) - 1) == b"hello"


def test_value_libcurl_refuses_is_an_error() -> None:
    with pycurlcb.Curl() as c, pytest.raises(pycurlcb.error) as info:
        c.setopt(pycurlcb.SSLVERSION, 10_000)
    assert type(info.value) is pycurlcb.error
    assert info.value.args[0] == pycurlcb.E_BAD_FUNCTION_ARGUMENT
    assert info.value.code == pycurlcb.E_BAD_FUNCTION_ARGUMENT


@pytest.mark.parametrize("option", [99_999, 10_000 + 9_999, 20_000 + 9_999])
def test_unknown_option_is_error_unknown_option(option: int) -> None:
    """pycurl's suite checks the exact type: pycurlcb.error, no subclass."""
    assert not hasattr(pycurlcb, "OptionError")
    with pycurlcb.Curl() as c:
        with pytest.raises(pycurlcb.error) as info:
            c.setopt(option, 1)
    err = info.value
    assert type(err) is pycurlcb.error
    assert err.args[0] == pycurlcb.E_UNKNOWN_OPTION
    assert err.code == pycurlcb.E_UNKNOWN_OPTION
    assert err.name == "CURLE_UNKNOWN_OPTION"
    assert str(option) in err.args[1]
    with pycurlcb.Curl() as c, pytest.raises(pycurlcb.error) as info:
        c.unsetopt(option)
    assert info.value.args[0] == pycurlcb.E_UNKNOWN_OPTION


@pytest.mark.parametrize("option", [0, -1])
def test_option_below_one_is_typeerror(option: int) -> None:
    """pycurl: "invalid arguments to setopt" for an option <= 0."""
    with pycurlcb.Curl() as c:
        with pytest.raises(TypeError) as info:
            c.setopt(option, 1)
        assert str(info.value) == (  # pycurl's text, then the option
            f"invalid arguments to setopt: option {option} is not a CURLoption "
            "(an option constant such as pycurl.URL)"
        )
        with pytest.raises(TypeError):
            c.unsetopt(option)


@pytest.mark.parametrize("option", ["URL", 1.0, None, True])
def test_option_that_is_not_an_int_is_typeerror(option: Any) -> None:
    with pycurlcb.Curl() as c, pytest.raises(TypeError):
        c.setopt(option, "http://127.0.0.1/")


@pytest.mark.parametrize(
    "name",
    ["OPENSOCKETDATA", "SOCKOPTDATA", "CLOSESOCKETDATA", "XFERINFODATA", "DEBUGDATA",
     "ERRORBUFFER", "STDERR"],
)
def test_options_owned_by_the_binding_are_refused(http_url: str, name: str) -> None:
    """A clientp or buffer option set by the user would break the trampolines."""
    calls: list[Any] = []
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, http_url)
        c.setopt(pycurlcb.OPENSOCKETFUNCTION, lambda purpose, addr: calls.append(addr) or None)
        with pytest.raises(pycurlcb.error) as info:
            c.setopt(getattr(pycurlcb, name), object())
        assert type(info.value) is pycurlcb.error
        assert info.value.args[0] == pycurlcb.E_UNKNOWN_OPTION
        assert name in info.value.args[1]
        # The handle still works, with its callbacks intact.
        with pytest.raises(pycurlcb.CurlConnectionError):
            c.perform()
    assert len(calls) == 1


def test_unsetopt_of_a_long_option_is_typeerror() -> None:
    with pycurlcb.Curl() as c, pytest.raises(TypeError) as info:
        c.unsetopt(pycurlcb.TIMEOUT)
    assert str(info.value) == "unsetopt() is not supported for this option"  # pycurl's


# --------------------------------------------------------------------------
# getinfo


#: Infos libcurl deprecated, for which getinfo() warns as pycurl 7.49 does.
_DEPRECATED_INFOS = {
    Info.CONTENT_LENGTH_DOWNLOAD, Info.CONTENT_LENGTH_UPLOAD, Info.SIZE_DOWNLOAD,
    Info.SIZE_UPLOAD, Info.SPEED_DOWNLOAD, Info.SPEED_UPLOAD,
}


def _check_info_type(c: pycurlcb.Curl, name: str, info: int) -> Any:
    if info in (Info.TLS_SESSION, Info.TLS_SSL_PTR):
        # Documented: TLS backend pointers are not exposed.
        with pytest.raises(ValueError, match="^invalid argument to getinfo"):
            c.getinfo(info)
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = c.getinfo(info)
        except pycurlcb.error as exc:
            if unknown_to_loaded(exc, pycurlcb.E_UNKNOWN_OPTION):
                return None  # an info of newer headers than the loaded libcurl: an error, no crash
            raise
        raw = c.getinfo_raw(info)
    messages = [str(w.message) for w in caught]
    if info in _DEPRECATED_INFOS:
        assert messages == ["getinfo option is deprecated"] * 2, name
        assert all(w.category is DeprecationWarning for w in caught)
    else:
        assert messages == [], name
    kind = info_kind(info)
    if info == Info.PRIVATE:
        assert value is None
    elif kind is InfoKind.STRING:
        assert value is None or type(value) is str, name
        assert raw is None or type(raw) is bytes, name
        assert raw is None or raw.decode() == value
    elif kind in (InfoKind.LONG, InfoKind.OFF_T, InfoKind.SOCKET):
        assert type(value) is int, name
    elif kind is InfoKind.DOUBLE:
        assert type(value) is float, name
    elif info == Info.CERTINFO:
        assert type(value) is list, name
    else:
        assert kind is InfoKind.SLIST
        assert type(value) is list, name
        assert all(type(item) is str for item in value), name
        assert all(type(item) is bytes for item in raw), name
    return value


def test_getinfo_every_info_member_on_a_completed_transfer(http_url: str) -> None:
    members = dict(Info.__members__)  # aliases (RESPONSE_CODE, HTTP_CODE) included
    assert "RESPONSE_CODE" in members and "HTTP_CODE" in members
    assert len(members) > 50
    c, body = _curl(http_url)
    with c:
        c.perform()
        values = {name: _check_info_type(c, name, info) for name, info in members.items()}
        # Values libcurl knows for certain after this transfer.
        port = int(http_url.split(":")[2].split("/")[0])
        assert values["RESPONSE_CODE"] == values["HTTP_CODE"] == 200
        assert values["EFFECTIVE_URL"] == http_url
        assert values["PRIMARY_IP"] == "127.0.0.1"
        assert values["PRIMARY_PORT"] == port
        assert values["LOCAL_IP"] == "127.0.0.1"
        assert values["SIZE_DOWNLOAD_T"] == 5
        assert values["SIZE_DOWNLOAD"] == 5.0
        assert values["CONTENT_LENGTH_DOWNLOAD_T"] == 5
        assert values["NUM_CONNECTS"] == 1
        assert values["EFFECTIVE_METHOD"] == "GET"
        assert values["SCHEME"].lower() == "http"
        assert values["TOTAL_TIME"] > 0.0
        assert values["TOTAL_TIME_T"] > 0
        assert values["CONTENT_TYPE"].startswith("text/plain")
        assert values["COOKIELIST"] == []
        assert values["CERTINFO"] == []
        # The enum and flat names agree.
        assert c.getinfo(pycurlcb.Info.RESPONSE_CODE) == 200
        assert pycurlcb.INFO_RESPONSE_CODE == pycurlcb.RESPONSE_CODE == Info.RESPONSE_CODE
    assert body.getvalue() == b"hello"


def test_getinfo_on_a_fresh_handle_does_not_crash() -> None:
    with pycurlcb.Curl() as c:
        for name, info in Info.__members__.items():
            _check_info_type(c, name, info)
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 0


def test_getinfo_slist_cookielist(httpserver: Any) -> None:
    httpserver.expect_request("/c").respond_with_data(
        b"ok", headers={"Set-Cookie": "flavour=oat; Path=/"}
    )
    c, _ = _curl(httpserver.url_for("/c"), COOKIEFILE="")
    with c:
        c.perform()
        cookies = c.getinfo(pycurlcb.INFO_COOKIELIST)
        raw = c.getinfo_raw(pycurlcb.INFO_COOKIELIST)
    assert len(cookies) == 1
    assert cookies[0].split("\t")[-2:] == ["flavour", "oat"]
    assert raw[0].split(b"\t")[-2:] == [b"flavour", b"oat"]


def test_getinfo_certinfo(tls_server: Any) -> None:
    c, body = _curl(tls_server.url, CAINFO=tls_server.ca_file, CERTINFO=1)
    with c:
        c.perform()
        certs = c.getinfo(pycurlcb.INFO_CERTINFO)
    assert body.getvalue() == tls_server.body
    assert len(certs) >= 1
    fields = dict(certs[0])
    assert all(type(k) is str and type(v) is str for k, v in certs[0])
    assert "Subject" in fields and "Issuer" in fields


def test_getinfo_bad_ids() -> None:
    with pycurlcb.Curl() as c:
        with pytest.raises(ValueError):
            c.getinfo(12345)  # no CURLINFO type bits
        # CURLINFO_LONG + 999: test_getinfo_of_a_non_info_int_is_valueerror
        with pytest.raises(TypeError):
            c.getinfo("RESPONSE_CODE")


# --------------------------------------------------------------------------
# reset, duphandle


def test_reset_restores_defaults_and_drops_callbacks(httpserver: Any) -> None:
    httpserver.expect_request("/r").respond_with_data(b"after reset")
    headers: list[bytes] = []
    first: list[bytes] = []
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, httpserver.url_for("/r"))
        c.setopt(pycurlcb.HEADERFUNCTION, headers.append)
        c.setopt(pycurlcb.WRITEFUNCTION, first.append)
        c.setopt(pycurlcb.HTTPHEADER, ["X-Before: reset"])
        c.setopt(pycurlcb.PRIVATE, "p")
        c.setopt(pycurlcb.NOBODY, 1)
        c.reset()
        assert c.getinfo(pycurlcb.INFO_PRIVATE) is None
        with pytest.raises(pycurlcb.error) as info:
            c.perform()  # no URL any more
        assert info.value.args[0] == pycurlcb.E_URL_MALFORMAT
        body = io.BytesIO()
        c.setopt(pycurlcb.URL, httpserver.url_for("/r"))
        c.setopt(pycurlcb.WRITEDATA, body)
        c.perform()
        assert body.getvalue() == b"after reset"  # NOBODY is gone
    assert headers == [] and first == []
    req = _last_request(httpserver)
    assert req.method == "GET"
    assert req.headers.get("X-Before") is None


def test_reset_keeps_the_error_buffer(refusing_port: int) -> None:
    with pycurlcb.Curl() as c:
        c.reset()
        c.setopt(pycurlcb.URL, f"http://127.0.0.1:{refusing_port}/")
        with pytest.raises(pycurlcb.CurlConnectionError) as info:
            c.perform()
        assert str(refusing_port) in info.value.args[1]
        assert c.errstr() == info.value.args[1]


def test_duphandle_copies_options_and_callbacks(httpserver: Any) -> None:
    httpserver.expect_request("/d").respond_with_data(b"dup")
    chunks: list[bytes] = []
    headers: list[bytes] = []
    marker = object()
    c = pycurlcb.Curl()
    c.setopt(pycurlcb.URL, httpserver.url_for("/d"))
    c.setopt(pycurlcb.WRITEFUNCTION, chunks.append)
    c.setopt(pycurlcb.HEADERFUNCTION, headers.append)
    c.setopt(pycurlcb.HTTPHEADER, ["X-Dup: yes"])
    c.setopt(pycurlcb.PRIVATE, marker)
    d = c.duphandle()
    assert isinstance(d, pycurlcb.Curl) and d is not c
    c.close()
    gc.collect()
    with d:
        assert d.getinfo(pycurlcb.INFO_PRIVATE) is marker
        d.perform()
        assert d.getinfo(pycurlcb.RESPONSE_CODE) == 200
    assert b"".join(chunks) == b"dup"
    assert headers and headers[0].startswith(b"HTTP/1.")
    assert _last_request(httpserver).headers["X-Dup"] == "yes"


def test_duphandle_is_independent(httpserver: Any) -> None:
    httpserver.expect_request("/one").respond_with_data(b"one")
    httpserver.expect_request("/two").respond_with_data(b"two")
    c, body_c = _curl(httpserver.url_for("/one"), HTTPHEADER=["X-Who: original"])
    with c:
        d = c.duphandle()
        with d:
            body_d = io.BytesIO()
            d.setopt(pycurlcb.URL, httpserver.url_for("/two"))
            d.setopt(pycurlcb.WRITEDATA, body_d)
            d.setopt(pycurlcb.HTTPHEADER, ["X-Who: copy"])
            d.perform()
            assert _last_request(httpserver).headers["X-Who"] == "copy"
            c.perform()
            assert _last_request(httpserver).headers["X-Who"] == "original"
    assert body_c.getvalue() == b"one"
    assert body_d.getvalue() == b"two"


# --------------------------------------------------------------------------
# pause


def test_pause_from_write_and_unpause_from_xferinfo(httpserver: Any) -> None:
    payload = b"z" * 50_000
    httpserver.expect_request("/p").respond_with_data(payload)
    received: list[bytes] = []
    state = {"paused": 0, "unpaused": 0}
    c = pycurlcb.Curl()

    def write(chunk: bytes) -> Any:
        if state["paused"] == 0:
            state["paused"] = 1
            return pycurlcb.WRITEFUNC_PAUSE  # libcurl keeps this chunk for later
        received.append(chunk)
        return None

    def xferinfo(*_: int) -> None:
        if state["paused"] and not state["unpaused"]:
            state["unpaused"] = 1
            c.pause(pycurlcb.PAUSE_CONT)

    with c:
        c.setopt(pycurlcb.URL, httpserver.url_for("/p"))
        c.setopt(pycurlcb.WRITEFUNCTION, write)
        c.setopt(pycurlcb.NOPROGRESS, 0)
        c.setopt(pycurlcb.XFERINFOFUNCTION, xferinfo)
        c.perform()
    assert state == {"paused": 1, "unpaused": 1}
    assert b"".join(received) == payload


def test_pause_after_close_raises_error() -> None:
    c = pycurlcb.Curl()
    c.close()
    with pytest.raises(pycurlcb.error, match="no curl handle"):
        c.pause(pycurlcb.PAUSE_ALL)


# --------------------------------------------------------------------------
# close, context manager


def test_close_is_idempotent_and_closed_reports_it() -> None:
    c = pycurlcb.Curl()
    assert c.closed is False
    c.close()
    assert c.closed is True
    c.close()
    assert c.closed is True


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.perform(),
        lambda c: c.setopt(pycurlcb.URL, "http://127.0.0.1/"),
        lambda c: c.unsetopt(pycurlcb.URL),
        lambda c: c.getinfo(pycurlcb.RESPONSE_CODE),
        lambda c: c.reset(),
        lambda c: c.duphandle(),
        lambda c: c.errstr(),
    ],
)
def test_methods_after_close_raise_error(call: Any) -> None:
    c = pycurlcb.Curl()
    c.close()
    with pytest.raises(pycurlcb.error) as info:
        call(c)
    # pycurl's misuse error: one arg, no code.
    assert type(info.value) is pycurlcb.error
    assert len(info.value.args) == 1
    assert re.fullmatch(r"cannot invoke \w+\(\) - no curl handle", info.value.args[0])
    assert info.value.code is None and info.value.name is None
    assert str(info.value) == info.value.args[0]


def test_context_manager_closes(http_url: str) -> None:
    with pycurlcb.Curl() as c:
        assert c.closed is False
        c.setopt(pycurlcb.URL, http_url)
        c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
        c.perform()
    assert c.closed is True


def test_context_manager_closes_on_exception() -> None:
    with pytest.raises(KeyError):
        with pycurlcb.Curl() as c:
            raise KeyError("x")
    assert c.closed is True


def test_close_from_inside_a_callback_is_refused(http_url: str) -> None:
    """close() raises pycurl's misuse error inside the callback; that fails the
    transfer (E_WRITE_ERROR from the write callback), the error as __cause__."""
    c, _ = _curl(http_url)
    c.setopt(pycurlcb.WRITEFUNCTION, lambda b: c.close())
    with pytest.raises(pycurlcb.error) as info:
        c.perform()
    assert info.value.args[0] == pycurlcb.E_WRITE_ERROR
    cause = info.value.__cause__
    assert type(cause) is pycurlcb.error
    assert cause.args == ("cannot invoke close() - perform() is currently running",)
    assert c.closed is False
    c.close()
    assert c.closed is True


@pytest.mark.parametrize(
    "what, call",
    [
        ("perform", lambda c: c.perform()),
        ("setopt", lambda c: c.setopt(pycurlcb.URL, "http://127.0.0.1/")),
        ("reset", lambda c: c.reset()),
        ("getinfo", lambda c: c.getinfo(pycurlcb.RESPONSE_CODE)),
    ],
)
def test_calls_from_inside_a_callback_are_refused(http_url: str, what: str, call: Any) -> None:
    c, _ = _curl(http_url)
    c.setopt(pycurlcb.WRITEFUNCTION, lambda b: call(c))
    with c, pytest.raises(pycurlcb.error) as info:
        c.perform()
    assert info.value.args[0] == pycurlcb.E_WRITE_ERROR
    cause = info.value.__cause__
    assert type(cause) is pycurlcb.error
    assert cause.args == (f"cannot invoke {what}() - perform() is currently running",)


def test_del_without_close_frees_the_handle(http_url: str) -> None:
    chunks: list[bytes] = []
    c, _ = _curl(http_url, WRITEFUNCTION=chunks.append)
    c.perform()
    del c
    gc.collect()
    assert chunks == [b"hello"]


# --------------------------------------------------------------------------
# errstr and the error hierarchy


def test_errstr(http_url: str, refusing_port: int) -> None:
    with pycurlcb.Curl() as c:
        assert c.errstr() == ""
        assert c.errstr_raw() == b""
        c.setopt(pycurlcb.URL, f"http://127.0.0.1:{refusing_port}/")
        with pytest.raises(pycurlcb.error) as info:
            c.perform()
        assert c.errstr() == info.value.args[1]
        assert c.errstr_raw() == info.value.args[1].encode()
        assert c.errstr() != ""
        c.setopt(pycurlcb.URL, http_url)
        c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
        c.perform()
        assert c.errstr() == ""  # cleared by the next transfer


def test_refused_port_is_a_connection_error(refusing_port: int) -> None:
    c, _ = _curl(f"http://127.0.0.1:{refusing_port}/")
    with c, pytest.raises(ConnectionError) as info:
        c.perform()
    err = info.value
    assert type(err) is pycurlcb.CurlConnectionError
    assert isinstance(err, pycurlcb.error)
    assert err.args == (pycurlcb.E_COULDNT_CONNECT, err.args[1])
    assert type(err.args[1]) is str and str(refusing_port) in err.args[1]
    assert err.code == pycurlcb.E_COULDNT_CONNECT == 7
    assert err.name == "CURLE_COULDNT_CONNECT"
    assert err.detail == err.args[1]
    code, message = err.args  # pycurl's idiom
    assert code == 7


def test_timeout_against_a_silent_server(silent_server: Any) -> None:
    host, port = silent_server
    c, _ = _curl(f"http://{host}:{port}/", TIMEOUT_MS=200)
    start = time.monotonic()
    with c, pytest.raises(TimeoutError) as info:
        c.perform()
    elapsed = time.monotonic() - start
    err = info.value
    assert type(err) is pycurlcb.CurlTimeoutError
    assert isinstance(err, pycurlcb.error)
    assert err.args[0] == pycurlcb.E_OPERATION_TIMEDOUT == 28
    assert err.code == 28 and err.name == "CURLE_OPERATION_TIMEDOUT"
    assert "timed out" in err.args[1].lower()
    assert 0.15 < elapsed < 5


def test_unresolvable_host_is_a_connection_error() -> None:
    c, _ = _curl("http://pycurlcb-nowhere.invalid/")
    with c, pytest.raises(pycurlcb.CurlConnectionError) as info:
        c.perform()
    assert info.value.args[0] in (pycurlcb.E_COULDNT_RESOLVE_HOST, pycurlcb.E_COULDNT_CONNECT)


def test_error_shape_is_pycurls() -> None:
    err = pycurlcb.error(7, "message")
    assert err.args == (7, "message")
    assert str(err) == "(7, 'message')"  # Exception's, as pycurl
    assert err.code == 7 and err.name == "CURLE_COULDNT_CONNECT"
    misuse = pycurlcb.error("cannot invoke close() - no curl handle")
    assert misuse.args == ("cannot invoke close() - no curl handle",)
    assert misuse.code is None and misuse.name is None
    assert str(misuse) == "cannot invoke close() - no curl handle"
    conn = pycurlcb.CurlConnectionError(7, "refused")
    assert str(conn) == "(7, 'refused')"  # not OSError's "[Errno 7] refused"
    assert issubclass(pycurlcb.CurlConnectionError, pycurlcb.error)
    assert issubclass(pycurlcb.CurlConnectionError, ConnectionError)
    assert issubclass(pycurlcb.CurlTimeoutError, pycurlcb.error)
    assert issubclass(pycurlcb.CurlTimeoutError, TimeoutError)
    assert not hasattr(pycurlcb, "OptionError")
    assert issubclass(pycurlcb.CallbackError, pycurlcb.error)
    assert issubclass(pycurlcb.CurlTLSError, pycurlcb.error)
    assert issubclass(pycurlcb.errors.ReturnOverflow, OverflowError)
    assert not issubclass(pycurlcb.errors.ReturnOverflow, pycurlcb.error)


def test_version() -> None:
    assert "libcurl/" in pycurlcb.version
    info = pycurlcb.version_info()
    assert info[2] == pycurlcb.LIBCURL_VERSION_NUM
    assert pycurlcb.version.split("libcurl/")[1].startswith(info[1])
    assert "http" in info[8]


# --------------------------------------------------------------------------
# pycurl 7.49's object shapes


def test_user_agent_defaults_to_pycurls_version_string(httpserver: Any) -> None:
    """As pycurl: a new Curl, and one reset(), send pycurl.version as User-Agent."""
    httpserver.expect_request("/ua").respond_with_data(b"ok")
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, httpserver.url_for("/ua"))
        c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
        c.perform()
        assert _last_request(httpserver).headers["User-Agent"] == pycurlcb.version
        c.setopt(pycurlcb.USERAGENT, "mine")
        c.reset()
        c.setopt(pycurlcb.URL, httpserver.url_for("/ua"))
        c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
        c.perform()
        assert _last_request(httpserver).headers["User-Agent"] == pycurlcb.version
    assert pycurlcb.version.startswith("PycURL/")


def test_curl_takes_no_arguments() -> None:
    with pytest.raises(TypeError):
        pycurlcb.Curl(1)  # type: ignore[call-arg]


def test_copy_deepcopy_and_pickle_are_refused() -> None:
    import copy
    import pickle

    with pycurlcb.Curl() as c:
        for refuse in (copy.copy, copy.deepcopy, pickle.dumps):
            with pytest.raises(TypeError):
                refuse(c)


def test_missing_attribute_is_attributeerror_naming_it() -> None:
    """pycurl's wording ("trying to obtain a non-existing attribute: ...") is not
    kept: a __getattr__ hook would slow every attribute look-up of a handle
    (listed in compat/allowed-failures.txt)."""
    with pycurlcb.Curl() as c:
        with pytest.raises(AttributeError, match="no_such_thing"):
            c.no_such_thing  # noqa: B018
        c.mine = 5  # user attributes are allowed, as pycurl
        assert c.mine == 5
        assert c.URL == pycurlcb.URL  # pycurl's constants on handles


@pytest.mark.parametrize("option", ["WRITEFUNCTION", "HEADERFUNCTION"])
def test_use_memoryview(http_url: str, option: str) -> None:
    """A read-only memoryview valid during the call only."""
    got: list[bytes] = []
    views: list[memoryview] = []

    def fn(data: Any) -> None:
        assert type(data) is memoryview and data.readonly
        views.append(data)
        got.append(bytes(data))

    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, http_url)
        c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
        c.setopt(getattr(pycurlcb, option), fn, use_memoryview=True)
        c.perform()
    if option == "WRITEFUNCTION":
        assert b"".join(got) == b"hello"
    else:
        assert got[0].startswith(b"HTTP/1.")
    for view in views:
        with pytest.raises(ValueError):
            bytes(view)  # released after the call


def test_use_memoryview_on_another_option_is_typeerror() -> None:
    with pycurlcb.Curl() as c, pytest.raises(TypeError, match="use_memoryview"):
        c.setopt(pycurlcb.READFUNCTION, lambda n: b"", use_memoryview=True)


@pytest.mark.parametrize(
    "info",
    [0, 12345, 99_999, -1]
    + [kind + 999 for kind in (0x100000, 0x300000)],  # CURLINFO_STRING/_DOUBLE + 999
)
def test_getinfo_of_a_non_info_int_is_valueerror(info: int) -> None:
    with pycurlcb.Curl() as c, pytest.raises(ValueError) as exc_info:
        c.getinfo(info)
    # pycurl's text, then the value and what was expected
    assert str(exc_info.value) == (
        f"invalid argument to getinfo: {info} is not a CURLINFO this libcurl knows "
        "(an info constant such as pycurl.RESPONSE_CODE)"
    )


# --------------------------------------------------------------------------
# CONNECT_ONLY: the handle stays in perform()'s multi until the next transfer


def _wait_fd(fd: int, write: bool) -> None:
    import select

    r, w, _ = select.select([] if write else [fd], [fd] if write else [], [], 5)
    assert r or w, "the socket did not become ready"


@pytest.mark.allow_fd_leak  # the close() leak: test_close_after_connect_only_send_closes_the_socket
def test_connect_only_send_recv_and_recv_into(http_url: str) -> None:
    host_port = http_url.split("/")[2]
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, http_url)
        c.setopt(pycurlcb.CONNECT_ONLY, 1)
        c.perform()
        fd = c.getinfo(pycurlcb.ACTIVESOCKET)
        assert fd >= 0
        with pytest.raises(BlockingIOError):
            c.recv(100)  # nothing sent yet, nothing to read
        request = f"GET /hello HTTP/1.0\r\nHost: {host_port}\r\n\r\n".encode()
        sent = 0
        while sent < len(request):
            _wait_fd(fd, write=True)
            sent += c.send(memoryview(request)[sent:])
        _wait_fd(fd, write=False)
        head = c.recv(12)
        assert head.startswith(b"HTTP/1.")
        response = bytearray(head)
        buf = bytearray(64)
        while True:
            try:
                n = c.recv_into(buf)
            except BlockingIOError:
                _wait_fd(fd, write=False)
                continue
            if n == 0:
                break
            response += buf[:n]
        assert response.endswith(b"\r\n\r\nhello")
        assert c.recv(0) == b""
        with pytest.raises(ValueError):
            c.recv(-1)
        with pytest.raises(TypeError):
            c.recv_into(b"read-only")


def test_send_without_a_connection_is_an_error() -> None:
    with pycurlcb.Curl() as c, pytest.raises(pycurlcb.error) as info:
        c.send(b"x")
    assert type(info.value.args[0]) is int  # libcurl's code: no connection


@pytest.mark.parametrize("io", ["send", "recv"])
def test_close_after_connect_only_send_closes_the_socket(io: str) -> None:
    """As curl_easy_cleanup(3) after CONNECT_ONLY + curl_easy_send/recv (and real
    pycurl): the connection is closed; the fd-leak check sees it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        c = pycurlcb.Curl()
        c.setopt(pycurlcb.URL, f"http://127.0.0.1:{listener.getsockname()[1]}/")
        c.setopt(pycurlcb.CONNECT_ONLY, 1)
        c.perform()
        fd = c.getinfo(pycurlcb.ACTIVESOCKET)
        conn, _ = listener.accept()
        with conn:
            if io == "send":
                assert c.send(b"x") == 1
            else:
                conn.sendall(b"y")
                _wait_fd(fd, write=False)
                assert c.recv(10) == b"y"
            c.close()
            conn.settimeout(1)
            assert conn.recv(10) in (b"x", b"")  # then EOF: libcurl closed its side
            assert conn.recv(10) == b""


def test_a_user_attribute_named_multi_does_not_break_the_handle(http_url: str) -> None:
    c, body = _curl(http_url)
    c.multi = "the user's"  # pycurl code stores its own things on handles
    try:
        c.perform()
        assert body.getvalue() == b"hello"
        c.close()
        assert c.closed
    finally:
        c.__dict__.pop("multi", None)
        c.close()


def _run_child(code: str) -> Any:
    import subprocess
    import sys
    import textwrap

    root = pathlib.Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=60, env=env,
    )


def test_close_reports_a_callback_error_through_the_default_unraisablehook() -> None:
    """Outside pytest (whose hook is Python), with CPython's own hook: close()
    returns, and the exception is printed as "Exception ignored in ..."."""
    proc = _run_child(
        """
        import os, socket, sys
        import pycurlcb
        assert sys.unraisablehook is sys.__unraisablehook__
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        c = pycurlcb.Curl()
        c.setopt(pycurlcb.URL, "http://127.0.0.1:%d/" % listener.getsockname()[1])
        c.setopt(pycurlcb.CONNECT_ONLY, 1)
        def closesocket(fd):
            os.close(fd)
            raise RuntimeError("boom in closesocket")
        c.setopt(pycurlcb.CLOSESOCKETFUNCTION, closesocket)
        c.perform()
        c.close()  # the connection closes here: teardown, must not raise
        print("closed", c.closed)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "closed True"
    assert "Exception ignored in" in proc.stderr
    assert "RuntimeError: boom in closesocket" in proc.stderr


def test_the_first_teardown_report_keeps_no_frames_alive() -> None:
    """The first report of a process learns sys.UnraisableHookArgs from a probe;
    that must not leave a cycle holding the reporting frames (and so the
    handles in them) forever."""
    proc = _run_child(
        """
        import gc, sys, weakref
        import pycurlcb
        sys.unraisablehook = lambda args: None
        def run():
            c = pycurlcb.Curl()
            mime = pycurlcb.CurlMime(c)
            def free(userdata):
                raise RuntimeError("from free")
            mime.addpart().data_cb(0, lambda userdata, size: b"", free=free)
            mime.close()  # the first report of this process
            c.close()
            return weakref.ref(c)
        ref = run()
        sys.last_type = sys.last_value = sys.last_traceback = None
        if sys.version_info >= (3, 12):
            sys.last_exc = None
        gc.collect()
        print("freed", ref() is None)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "freed True"


def test_the_probe_of_the_first_report_is_never_reported() -> None:
    """The probe that learns sys.UnraisableHookArgs reports nothing itself:
    on PyPy a probe object would raise from a later collection, to the real
    hook ("Exception ignored in ... RuntimeError: probe" on stderr)."""
    proc = _run_child(
        """
        import gc, sys
        import pycurlcb
        from pycurlcb import _lifetime
        _lifetime.report_unraisable(ValueError("the real one"), "a test")
        for _ in range(4):
            gc.collect()
        print("done")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert "ValueError: the real one" in proc.stderr
    assert "probe" not in proc.stderr


# --------------------------------------------------------------------------
# return values beyond a C int: ReturnOverflow itself, or OverflowError as the cause


def _upload_redirected(c: pycurlcb.Curl, fast_server: Any) -> None:
    """A POST answered with 307: libcurl rewinds the upload through SEEKFUNCTION."""
    data = b"u" * 3000
    pos = [0]

    def read(n: int) -> bytes:
        piece = data[pos[0] : pos[0] + min(n, 1000)]
        pos[0] += len(piece)
        return piece

    c.setopt(pycurlcb.URL, fast_server.url("/r307/echo"))
    c.setopt(pycurlcb.FOLLOWLOCATION, 1)
    c.setopt(pycurlcb.POST, 1)
    c.setopt(pycurlcb.POSTFIELDSIZE, len(data))
    c.setopt(pycurlcb.HTTPHEADER, ["Expect:"])
    c.setopt(pycurlcb.READFUNCTION, read)
    c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)


@pytest.mark.parametrize(
    "name",
    [pytest.param("PREREQFUNCTION", marks=needs("PREREQFUNCTION", "7.80.0")), "RESOLVER_START_FUNCTION"],
)
def test_silent_callbacks_returning_beyond_an_int_raise_returnoverflow(
    name: str, fast_server: Any
) -> None:
    """As pycurl 7.49 for the callbacks whose failure it leaves pending
    (sockopt, prereq, resolver_start ...): perform() raises the OverflowError
    itself, not pycurlcb.error."""
    with pycurlcb.Curl() as c:
        c.setopt(pycurlcb.URL, fast_server.url("/body/10").replace("127.0.0.1", "localhost"))
        c.setopt(pycurlcb.WRITEFUNCTION, lambda b: None)
        c.setopt(getattr(pycurlcb, name), lambda *a: 2**40)
        with pytest.raises(pycurlcb.errors.ReturnOverflow) as info:
            c.perform()
        assert isinstance(info.value, OverflowError)
        assert str(2**40) in str(info.value)
        c.setopt(getattr(pycurlcb, name), lambda *a: 0)
        c.perform()
        assert c.getinfo(pycurlcb.RESPONSE_CODE) == 200


def test_seek_returning_beyond_an_int_is_the_cause(fast_server: Any) -> None:
    with pycurlcb.Curl() as c:
        _upload_redirected(c, fast_server)
        c.setopt(pycurlcb.SEEKFUNCTION, lambda offset, origin: 2**40)
        with pytest.raises(pycurlcb.error) as info:
            c.perform()
        cause = info.value.__cause__
        assert type(cause) is OverflowError  # not ReturnOverflow
        assert str(2**40) in str(cause)


def test_closesocket_raising_inside_perform_leaves_the_fd_to_it(http_url: str) -> None:
    """The callable owns the fd once it ran, even if it raised: pycurlcb does not
    close it (it could be a reused descriptor by then)."""
    handed: list[int] = []
    boom = RuntimeError("closesocket")

    def closesocket(fd: int) -> None:
        handed.append(fd)
        raise boom

    c, _ = _curl(http_url, CLOSESOCKETFUNCTION=closesocket, FORBID_REUSE=1)
    try:
        with c, pytest.raises(pycurlcb.CallbackError) as info:
            c.perform()
        assert info.value.args[0] == pycurlcb.E_ABORTED_BY_CALLBACK  # libcurl reported success
        assert info.value.__cause__ is boom
        assert len(handed) == 1
        assert os.fstat(handed[0])  # still open
    finally:
        for fd in handed:
            os.close(fd)


def test_curlmulti_refuses_copy_and_pickle() -> None:
    import copy
    import pickle

    with pycurlcb.CurlMulti() as m:
        for refuse in (copy.copy, copy.deepcopy, pickle.dumps):
            with pytest.raises(TypeError):
                refuse(m)
        with pytest.raises(AttributeError, match="nope"):
            m.nope  # noqa: B018


# --------------------------------------------------------------------------
# every error names the option or argument, the value and what was expected


@pytest.mark.parametrize(
    ("call", "exc_type", "code", "expected"),
    [
        # libcurl refuses: its code and error class, then the option and the value
        (lambda c: c.setopt(pycurlcb.TIMEOUT, -1), pycurlcb.error, 43,
         "A libcurl function was given a bad argument: libcurl refused setopt(TIMEOUT, -1) "
         "(CURLOPT_TIMEOUT(3) lists the values it takes)"),
        (lambda c: c.setopt(pycurlcb.PORT, 70000), pycurlcb.error, 43,
         "libcurl refused setopt(PORT, 70000)"),
        (lambda c: c.setopt(pycurlcb.MAX_RECV_SPEED_LARGE, -1), pycurlcb.error, 43,
         "libcurl refused setopt(MAX_RECV_SPEED_LARGE, -1)"),
        (lambda c: c.setopt(pycurlcb.PROXYTYPE, 99), pycurlcb.error, 43,
         "libcurl refused setopt(PROXYTYPE, 99)"),
        # pycurl's text first
        (lambda c: c.setopt(pycurlcb.URL, 42), TypeError, None,
         "integers are not supported for this option: setopt(URL, 42) expects str or bytes"),
        (lambda c: c.setopt(pycurlcb.POSTFIELDS, 7), TypeError, None,
         "integers are not supported for this option: setopt(POSTFIELDS, 7) expects str or bytes"),
        (lambda c: c.setopt(pycurlcb.HTTPHEADER, ["X-A: 1", 5]), TypeError, None,
         "list items must be byte strings or Unicode strings with ASCII code points only: "
         "setopt(HTTPHEADER) item 1 is 5"),
        (lambda c: c.setopt(pycurlcb.URL, "http://\xe9/"), UnicodeEncodeError, None,
         "setopt(URL) takes an ASCII-only str"),
        (lambda c: c.getinfo(99_999), ValueError, None,
         "invalid argument to getinfo: 99999 is not a CURLINFO this libcurl knows"),
        (lambda c: c.getinfo(pycurlcb.URL), ValueError, None,
         f"invalid argument to getinfo: {pycurlcb.URL} is not a CURLINFO"),
        # pause
        (lambda c: c.pause(), pycurlcb.error, 43,
         f"A libcurl function was given a bad argument: pause({pycurlcb.PAUSE_ALL}) needs a "
         "transfer in progress on this handle"),
        (lambda c: c.pause(2**40), OverflowError, None,
         "pause() bitmask 1099511627776 does not fit in a C int (expected PAUSE_RECV"),
        (lambda c: c.pause("x"), TypeError, None, "pause() expects an int bitmask, not str"),
    ],
)
def test_error_names_the_option_and_the_value(
    call: Callable[[pycurlcb.Curl], Any], exc_type: type, code: Optional[int], expected: str
) -> None:
    with pycurlcb.Curl() as c:
        with pytest.raises(exc_type) as info:
            call(c)
        assert expected in str(info.value)
        if code is not None:
            assert type(info.value) is pycurlcb.error  # the class for the code, as before
            assert info.value.args[0] == code and info.value.code == code
            assert len(info.value.args) == 2


def test_error_does_not_show_a_secret() -> None:
    """A refused password is shown by type and length only."""
    from pycurlcb.easy import shown

    assert shown("PROXYPASSWORD", "hunter2") == "<str of length 7>"
    assert shown("USERPWD", b"u:p") == "<bytes of length 3>"
    assert shown("URL", "http://x/") == "'http://x/'"
    assert shown("URL", "x" * 200).endswith("...") and len(shown("URL", "x" * 200)) == 80
