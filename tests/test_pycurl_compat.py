"""``import pycurlcb as pycurl``: checked against the real pycurl, built from source.

pycurl is installed with ``pip install --no-binary pycurl pycurl`` (it needs
libcurl4-openssl-dev and libssl-dev); without it these tests are skipped.
Compared: the names real code uses (every constant: tests/test_names.py),
version_info(), and what the same transfer looks like through each library
(opensocket/sockopt/closesocket arguments, getinfo values and types, error
args, errstr).
"""

from __future__ import annotations

import io
import os
import re
import socket
from typing import Any

import pytest

import pycurlcb
import pycurlcb._callbacks

pycurl = pytest.importorskip(
    "pycurl",
    reason="the real pycurl is not importable (`make test` builds it from source; pycurl 7.49.0 needs "
    "Python 3.10+, so there is none on Python 3.9: CPython 3.9, Debian 12's PyPy 3.9)",
)

SAME_LIBCURL = pycurl.version_info()[2] == pycurlcb.LIBCURL_VERSION_NUM



# --------------------------------------------------------------------------
# constants: every pycurl name and value, and the constants on its handles, are
# compared in tests/test_names.py; here, the names real code uses.


#: Names seen in real pycurl code (pycurl's docs and examples, tornado's
#: curl_httpclient, urlgrabber, pycurl's own tests).
REAL_CODE_NAMES = [
    # options
    "URL", "WRITEFUNCTION", "WRITEDATA", "HEADERFUNCTION", "WRITEHEADER", "READFUNCTION",
    "READDATA", "UPLOAD", "INFILESIZE", "INFILESIZE_LARGE", "POST", "POSTFIELDS",
    "POSTFIELDSIZE", "HTTPHEADER", "HTTPGET", "NOBODY", "CUSTOMREQUEST", "FOLLOWLOCATION",
    "MAXREDIRS", "CONNECTTIMEOUT", "CONNECTTIMEOUT_MS", "TIMEOUT", "TIMEOUT_MS", "NOSIGNAL",
    "NOPROGRESS", "XFERINFOFUNCTION", "PROGRESSFUNCTION", "VERBOSE", "DEBUGFUNCTION",
    "SSL_VERIFYPEER", "SSL_VERIFYHOST", "CAINFO", "CAPATH", "SSLCERT", "SSLKEY",
    "SSLVERSION", "USERAGENT", "REFERER", "COOKIE", "COOKIEFILE", "COOKIEJAR", "ENCODING",
    "ACCEPT_ENCODING", "RANGE", "RESUME_FROM", "PROXY", "PROXYPORT", "PROXYTYPE",
    "PROXYUSERPWD", "NOPROXY", "HTTPAUTH", "USERPWD", "USERNAME", "PASSWORD", "INTERFACE",
    "IPRESOLVE", "HTTP_VERSION", "LOW_SPEED_LIMIT", "LOW_SPEED_TIME", "MAX_RECV_SPEED_LARGE",
    "FORBID_REUSE", "FRESH_CONNECT", "UNIX_SOCKET_PATH", "FTPPORT", "FTP_USE_EPSV",
    "RESOLVE", "TCP_NODELAY", "TCP_KEEPALIVE", "BUFFERSIZE", "OPT_FILETIME",
    "OPENSOCKETFUNCTION", "SOCKOPTFUNCTION", "CLOSESOCKETFUNCTION", "SEEKFUNCTION",
    # getinfo
    "RESPONSE_CODE", "HTTP_CODE", "EFFECTIVE_URL", "TOTAL_TIME", "NAMELOOKUP_TIME",
    "CONNECT_TIME", "APPCONNECT_TIME", "PRETRANSFER_TIME", "STARTTRANSFER_TIME",
    "REDIRECT_TIME", "REDIRECT_COUNT", "REDIRECT_URL", "SIZE_DOWNLOAD", "SIZE_UPLOAD",
    "SPEED_DOWNLOAD", "CONTENT_TYPE", "CONTENT_LENGTH_DOWNLOAD", "HEADER_SIZE",
    "PRIMARY_IP", "PRIMARY_PORT", "LOCAL_IP", "LOCAL_PORT", "NUM_CONNECTS", "OS_ERRNO",
    "INFO_FILETIME", "INFO_COOKIELIST", "INFO_CERTINFO", "INFO_HTTP_VERSION",
    # errors
    "E_OK", "E_COULDNT_CONNECT", "E_COULDNT_RESOLVE_HOST", "E_OPERATION_TIMEDOUT",
    "E_WRITE_ERROR", "E_ABORTED_BY_CALLBACK", "E_PARTIAL_FILE", "E_GOT_NOTHING",
    "E_SSL_CONNECT_ERROR", "E_PEER_FAILED_VERIFICATION", "E_RECV_ERROR", "E_SEND_ERROR",
    "E_CALL_MULTI_PERFORM", "E_MULTI_OK",
    # socket callbacks
    "SOCKTYPE_IPCXN", "SOCKTYPE_ACCEPT", "SOCKOPT_OK", "SOCKOPT_ERROR",
    "SOCKOPT_ALREADY_CONNECTED", "SOCKET_BAD", "SOCKET_TIMEOUT",
    # multi
    "POLL_NONE", "POLL_IN", "POLL_OUT", "POLL_INOUT", "POLL_REMOVE", "CSELECT_IN",
    "CSELECT_OUT", "CSELECT_ERR", "M_SOCKETFUNCTION", "M_TIMERFUNCTION", "M_PIPELINING",
    "M_MAXCONNECTS", "M_MAX_HOST_CONNECTIONS", "M_MAX_TOTAL_CONNECTIONS",
    # values
    "PAUSE_ALL", "PAUSE_CONT", "PAUSE_RECV", "PAUSE_SEND", "READFUNC_ABORT",
    "READFUNC_PAUSE", "WRITEFUNC_PAUSE", "SEEKFUNC_OK", "SEEKFUNC_CANTSEEK",
    "INFOTYPE_TEXT", "INFOTYPE_HEADER_IN", "INFOTYPE_HEADER_OUT", "INFOTYPE_DATA_IN",
    "INFOTYPE_DATA_OUT", "HTTPAUTH_BASIC", "HTTPAUTH_DIGEST", "HTTPAUTH_ANY",
    "HTTPAUTH_NTLM", "PROXYTYPE_HTTP", "PROXYTYPE_SOCKS5", "PROXYTYPE_SOCKS5_HOSTNAME",
    "IPRESOLVE_V4", "IPRESOLVE_V6", "IPRESOLVE_WHATEVER", "CURL_HTTP_VERSION_1_0",
    "CURL_HTTP_VERSION_1_1", "CURL_HTTP_VERSION_2_0", "SSLVERSION_TLSv1_2",
    "SSLVERSION_TLSv1_3", "VERSION_SSL", "VERSION_IPV6", "VERSION_HTTP2", "GLOBAL_ALL",
    "GLOBAL_DEFAULT", "USESSL_ALL", "FTPSSL_ALL", "PROTO_HTTP", "PROTO_HTTPS",
]


def test_names_used_by_real_code_exist() -> None:
    assert len(REAL_CODE_NAMES) == len(set(REAL_CODE_NAMES))
    missing_in_pycurl = [n for n in REAL_CODE_NAMES if not hasattr(pycurl, n)]
    assert missing_in_pycurl == []  # the list itself is pycurl's
    missing = [n for n in REAL_CODE_NAMES if not hasattr(pycurlcb, n)]
    assert missing == [], f"pycurlcb lacks {missing}"


def test_the_issues_names_exist_with_pycurls_values() -> None:
    for name in (
        "URL", "WRITEFUNCTION", "WRITEDATA", "FORBID_REUSE", "UNIX_SOCKET_PATH", "FTPPORT",
        "RESPONSE_CODE", "HTTP_CODE", "E_COULDNT_CONNECT", "E_ABORTED_BY_CALLBACK",
        "SOCKTYPE_IPCXN", "SOCKTYPE_ACCEPT", "SOCKOPT_OK", "SOCKOPT_ERROR",
        "SOCKOPT_ALREADY_CONNECTED", "SOCKET_BAD", "HTTPHEADER", "POSTFIELDS", "NOPROGRESS",
        "XFERINFOFUNCTION", "OPENSOCKETFUNCTION", "SOCKOPTFUNCTION", "CLOSESOCKETFUNCTION",
    ):
        assert getattr(pycurlcb, name) == getattr(pycurl, name), name
    assert pycurlcb.HTTP_CODE == pycurlcb.RESPONSE_CODE


# --------------------------------------------------------------------------
# module-level API


def test_version_info_matches_pycurls() -> None:
    if not SAME_LIBCURL:
        pytest.skip("pycurl is linked against another libcurl")
    theirs = pycurl.version_info()
    ours = pycurlcb.version_info()
    assert ours[: len(theirs)] == theirs
    # pycurl's "PycURL/7.49.0 libcurl/7.88.1 OpenSSL/..." with " pycurlcb/x" appended
    assert pycurlcb.version == f"{pycurl.version} pycurlcb/{pycurlcb.__version__}"


def test_module_api_names() -> None:
    for name in ("Curl", "CurlMulti", "error", "version", "version_info", "CurlSockAddr"):
        assert hasattr(pycurl, name)
        assert hasattr(pycurlcb, name), name
    assert issubclass(pycurlcb.error, Exception)


# --------------------------------------------------------------------------
# the same transfer through both libraries


def _trace_transfer(mod: Any, url: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"open": [], "sockopt": [], "close": 0, "headers": []}

    def opensocket(purpose: Any, address: Any) -> socket.socket:
        rec["open"].append((purpose, address))
        return socket.socket(address.family, address.socktype, address.protocol)

    def sockopt(fd: int, purpose: Any) -> int:
        rec["sockopt"].append(purpose)
        return 0

    def closesocket(fd: int) -> int:
        rec["close"] += 1
        os.close(fd)
        return 0

    made: list[Any] = []
    body = io.BytesIO()
    c = mod.Curl()
    try:
        c.setopt(mod.URL, url)
        c.setopt(mod.OPENSOCKETFUNCTION, lambda p, a: made.append(opensocket(p, a)) or made[-1])
        c.setopt(mod.SOCKOPTFUNCTION, sockopt)
        c.setopt(mod.CLOSESOCKETFUNCTION, closesocket)
        c.setopt(mod.WRITEDATA, body)
        c.setopt(mod.HEADERFUNCTION, rec["headers"].append)
        c.setopt(mod.HTTPHEADER, ["X-Compat: 1"])
        c.setopt(mod.USERAGENT, "compat/1")  # pycurl's Curl() sets its own by default
        c.perform()
        rec["body"] = body.getvalue()
        rec["info"] = {
            name: c.getinfo(getattr(mod, name))
            for name in (
                "RESPONSE_CODE", "HTTP_CODE", "EFFECTIVE_URL", "CONTENT_TYPE", "PRIMARY_IP",
                "PRIMARY_PORT", "LOCAL_IP", "NUM_CONNECTS", "SIZE_DOWNLOAD",
                "CONTENT_LENGTH_DOWNLOAD", "SIZE_DOWNLOAD_T", "REDIRECT_URL",
                "INFO_HTTP_VERSION", "SCHEME", "EFFECTIVE_METHOD", "ACTIVESOCKET",
                "INFO_COOKIELIST", "INFO_CERTINFO", "SSL_ENGINES", "OS_ERRNO",
                "FTP_ENTRY_PATH", "HEADER_SIZE", "REQUEST_SIZE", "REDIRECT_COUNT",
            )
        }
        rec["info_types"] = {
            name: type(c.getinfo(getattr(mod, name)))
            for name in ("TOTAL_TIME", "CONNECT_TIME", "TOTAL_TIME_T", "LOCAL_PORT", "INFO_FILETIME")
        }
        rec["errstr"] = c.errstr()
    finally:
        c.close()
        for sock in made:
            sock.close()
    return rec


@pytest.mark.filterwarnings("ignore:getinfo option is deprecated:DeprecationWarning")
def test_same_transfer_same_observations(http_url: str) -> None:
    theirs = _trace_transfer(pycurl, http_url)
    ours = _trace_transfer(pycurlcb, http_url)
    assert ours["body"] == theirs["body"] == b"hello"
    # opensocket: same purpose (an IntEnum equals pycurl's int), same address tuple
    assert len(ours["open"]) == len(theirs["open"]) == 1
    (p_ours, a_ours), (p_theirs, a_theirs) = ours["open"][0], theirs["open"][0]
    assert p_ours == p_theirs == pycurl.SOCKTYPE_IPCXN
    assert tuple(a_ours) == tuple(a_theirs)
    assert a_ours._fields == a_theirs._fields == ("family", "socktype", "protocol", "addr")
    assert ours["sockopt"] == theirs["sockopt"]
    assert ours["close"] == theirs["close"] == 1
    assert ours["info"] == theirs["info"]
    assert {k: type(v) for k, v in ours["info"].items()} == {
        k: type(v) for k, v in theirs["info"].items()
    }
    assert ours["info_types"] == theirs["info_types"]
    assert [h for h in ours["headers"] if not h.lower().startswith(b"date:")] == [
        h for h in theirs["headers"] if not h.lower().startswith(b"date:")
    ]
    assert ours["errstr"] == theirs["errstr"] == ""


def _error_of(mod: Any, url: str, **opts: Any) -> tuple[Any, str]:
    c = mod.Curl()
    try:
        c.setopt(mod.URL, url)
        c.setopt(mod.WRITEFUNCTION, lambda b: None)
        for name, value in opts.items():
            c.setopt(getattr(mod, name), value)
        with pytest.raises(mod.error) as info:
            c.perform()
        return info.value, c.errstr()
    finally:
        c.close()


def _untimed(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """An error's args with libcurl's elapsed time ("after 3 ms") as "after N ms":
    the two transfers take their own time (0 and 3 ms seen on a loaded machine)."""
    return tuple(re.sub(r"after \d+ ms", "after N ms", a) if isinstance(a, str) else a for a in args)


def test_refused_port_error_is_pycurls(refusing_port: int) -> None:
    url = f"http://127.0.0.1:{refusing_port}/"
    theirs, their_errstr = _error_of(pycurl, url)
    ours, our_errstr = _error_of(pycurlcb, url)
    assert _untimed(ours.args) == _untimed(theirs.args)
    assert _untimed((our_errstr,)) == _untimed((their_errstr,))
    assert isinstance(ours, pycurlcb.error)
    code, message = ours.args
    assert code == pycurl.E_COULDNT_CONNECT


def test_opensocket_refusal_error_is_pycurls(http_url: str) -> None:
    theirs, _ = _error_of(pycurl, http_url, OPENSOCKETFUNCTION=lambda p, a: pycurl.SOCKET_BAD)
    ours, _ = _error_of(pycurlcb, http_url, OPENSOCKETFUNCTION=lambda p, a: pycurlcb.SOCKET_BAD)
    assert ours.args[0] == theirs.args[0] == pycurl.E_COULDNT_CONNECT


def test_sockopt_error_is_pycurls(http_url: str) -> None:
    theirs, _ = _error_of(pycurl, http_url, SOCKOPTFUNCTION=lambda fd, p: pycurl.SOCKOPT_ERROR)
    ours, _ = _error_of(pycurlcb, http_url, SOCKOPTFUNCTION=lambda fd, p: pycurlcb.SOCKOPT_ERROR)
    assert _untimed(ours.args) == _untimed(theirs.args)
    assert ours.args[0] == pycurl.E_ABORTED_BY_CALLBACK


def test_timeout_error_is_pycurls(silent_server: Any) -> None:
    url = f"http://{silent_server.host}:{silent_server.port}/"
    theirs, _ = _error_of(pycurl, url, TIMEOUT_MS=150)
    ours, _ = _error_of(pycurlcb, url, TIMEOUT_MS=150)
    assert ours.args[0] == theirs.args[0] == pycurl.E_OPERATION_TIMEDOUT
    assert isinstance(ours, TimeoutError)


@pytest.mark.parametrize(
    "name, value",
    [("URL", 5), ("TIMEOUT", "5"), ("HTTPHEADER", "X-A: b"), ("WRITEFUNCTION", 5)],
)
def test_wrong_type_is_typeerror_in_both(name: str, value: Any) -> None:
    for mod in (pycurl, pycurlcb):
        c = mod.Curl()
        try:
            with pytest.raises(TypeError):
                c.setopt(getattr(mod, name), value)
        finally:
            c.close()


# --------------------------------------------------------------------------
# pycurl's own misuse errors: one arg, the same text


def _misuse(mod: Any, what: str) -> BaseException:
    c = mod.Curl()
    m = mod.CurlMulti()
    try:
        if what == "add twice":
            m.add_handle(c)
            try:
                m.add_handle(c)
            finally:
                m.remove_handle(c)
        elif what == "info_read(0)":
            m.info_read(0)
        elif what == "add to a closed multi":
            m.close()
            m.add_handle(c)
        else:
            c.close()
            {"perform": c.perform, "setopt": lambda: c.setopt(mod.URL, "http://x/"),
             "getinfo": lambda: c.getinfo(mod.RESPONSE_CODE), "reset": c.reset,
             "errstr": c.errstr}[what]()
    except BaseException as exc:  # noqa: B036 - compared below
        return exc
    finally:
        m.close()
        c.close()
    raise AssertionError(f"{mod.__name__}: {what} did not raise")


@pytest.mark.parametrize(
    "what",
    ["perform", "setopt", "getinfo", "reset", "errstr", "add twice", "info_read(0)",
     "add to a closed multi"],
)
def test_misuse_errors_are_pycurls(what: str) -> None:
    theirs = _misuse(pycurl, what)
    ours = _misuse(pycurlcb, what)
    assert type(theirs) is pycurl.error
    assert type(ours) is pycurlcb.error
    assert ours.args == theirs.args
    assert len(ours.args) == 1 and ours.code is None


@pytest.mark.parametrize("returned", [-1, 0, 3])
def test_write_callback_wrong_count_error_is_pycurls(http_url: str, returned: int) -> None:
    """Any int but the length fails the transfer with E_WRITE_ERROR, no cause."""
    theirs, _ = _error_of(pycurl, http_url, WRITEFUNCTION=lambda b: returned)
    ours, _ = _error_of(pycurlcb, http_url, WRITEFUNCTION=lambda b: returned)
    assert ours.args == theirs.args
    assert ours.args[0] == pycurl.E_WRITE_ERROR
    assert ours.__cause__ is None


class _Count(int):
    pass


@pytest.mark.parametrize("kind", [float, _Count, bool])
@pytest.mark.parametrize("callback", ["WRITEFUNCTION", "HEADERFUNCTION"])
def test_a_callback_count_that_is_not_exactly_an_int_is_judged_as_pycurl_does(
    http_url: str, callback: str, kind: type
) -> None:
    """The trampolines' fast path takes only an exact int equal to the length:
    a float equal to it still fails (pycurl: "must return int or None"), an int
    subclass equal to it passes, True (== 1) fails as a short count.  The codes
    are compared: for the float, pycurl returns 0 to libcurl and pycurlcb
    CURL_WRITEFUNC_ERROR, which libcurl 8 words differently."""

    def run(mod: Any) -> Any:
        c = mod.Curl()
        try:
            c.setopt(mod.URL, http_url)
            c.setopt(mod.WRITEFUNCTION, lambda b: None)
            c.setopt(getattr(mod, callback), lambda b: kind(len(b)))
            c.perform()
            return c.getinfo(mod.RESPONSE_CODE)
        except mod.error as exc:
            return exc.args[0], exc.__cause__
        finally:
            c.close()

    ours, theirs = run(pycurlcb), run(pycurl)
    if kind is _Count:
        assert ours == theirs == 200
    else:
        assert ours[0] == theirs[0] == pycurl.E_WRITE_ERROR
        if kind is float:  # pycurlcb's error carries what the callback's check raised
            assert isinstance(ours[1], pycurlcb.error)
            assert str(ours[1]) == f"{callback[:-8].lower()} callback must return int or None"
        else:
            assert ours[1] is None  # a short count: no exception, as in pycurl


@pytest.mark.parametrize("info", [0, 12345, 99_999])
def test_getinfo_of_an_unknown_info_is_valueerror_in_both(info: int) -> None:
    for mod in (pycurl, pycurlcb):
        c = mod.Curl()
        try:
            # pycurlcb appends the value and what was expected to pycurl's text
            with pytest.raises(ValueError, match="^invalid argument to getinfo"):
                c.getinfo(info)
        finally:
            c.close()
