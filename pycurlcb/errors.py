"""The exception hierarchy and the one function that checks libcurl's codes.

``error`` has pycurl's shape: ``error.args == (code, message)``, where code is
the CURLcode (an int) and message is the CURLOPT_ERRORBUFFER text, or
curl_easy_strerror(code) when libcurl left the buffer empty.  Beyond pycurl,
each instance carries ``.code``, ``.name`` (``'CURLE_COULDNT_CONNECT'``) and
``.detail`` (the error-buffer text, possibly empty), and the families below
also subclass the matching built-in, so ``except TimeoutError`` and
``except ConnectionError`` work as well as ``except pycurlcb.error``.

Multi-interface failures (CURLMcode) raise ``MultiError``, a subclass of
``error`` whose code is the CURLMcode and name ``'CURLM_...'``.
"""

from __future__ import annotations

from typing import Optional

from ._ffi import ffi, lib


def _names(prefix: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for name in sorted(dir(lib)):
        if name.startswith(prefix) and not name.endswith("_LAST"):
            out.setdefault(getattr(lib, name), name)
    return out


#: CURLcode value -> 'CURLE_...' name, from the installed header.
CODE_NAMES: dict[int, str] = _names("CURLE_")
#: CURLMcode value -> 'CURLM_...' name.
MULTI_CODE_NAMES: dict[int, str] = {
    v: n for v, n in _names("CURLM_").items() if not n.startswith("CURLMSG")
}


class error(Exception):  # noqa: N801 - pycurl's name
    """A libcurl failure: ``args == (code, message)`` as in pycurl."""

    code: int
    name: str
    detail: str

    def __init__(self, code: int, message: str, detail: str = "") -> None:
        super().__init__(code, message)
        self.code = code
        self.name = self._name_of(code)
        self.detail = detail

    @staticmethod
    def _name_of(code: int) -> str:
        return CODE_NAMES.get(code, f"CURLE_{code}")

    def __str__(self) -> str:
        return str(self.args)


class CurlConnectionError(error, ConnectionError):
    """Resolving, connecting, sending or receiving failed."""


class CurlTimeoutError(error, TimeoutError):
    """CURLE_OPERATION_TIMEDOUT."""


class CurlTLSError(error):
    """A TLS handshake, certificate or verification failure."""


class CallbackError(error):
    """A callback aborted the transfer (CURLE_ABORTED_BY_CALLBACK, CURLE_WRITE_ERROR ...).

    When the callback raised, perform() raises that exception instead; this
    is raised when a callback *returned* an abort value.
    """


class OptionError(error, ValueError):
    """An unknown option, or a value libcurl refused (CURLE_UNKNOWN_OPTION ...)."""


class MultiError(error):
    """A CURLMcode other than CURLM_OK from the multi interface."""

    @staticmethod
    def _name_of(code: int) -> str:
        return MULTI_CODE_NAMES.get(code, f"CURLM_{code}")


def _family(*names: str) -> list[int]:
    return [getattr(lib, n) for n in names if hasattr(lib, n)]


_FAMILY: dict[int, type[error]] = {}
for _cls, _codes in (
    (
        CurlConnectionError,
        _family(
            "CURLE_COULDNT_CONNECT", "CURLE_COULDNT_RESOLVE_HOST", "CURLE_COULDNT_RESOLVE_PROXY",
            "CURLE_SEND_ERROR", "CURLE_RECV_ERROR", "CURLE_GOT_NOTHING", "CURLE_PARTIAL_FILE",
            "CURLE_HTTP2", "CURLE_HTTP2_STREAM", "CURLE_HTTP3", "CURLE_QUIC_CONNECT_ERROR",
            "CURLE_PROXY", "CURLE_INTERFACE_FAILED", "CURLE_WEIRD_SERVER_REPLY",
        ),
    ),
    (CurlTimeoutError, _family("CURLE_OPERATION_TIMEDOUT")),
    (
        CurlTLSError,
        [v for v, n in CODE_NAMES.items() if n.startswith("CURLE_SSL_")]
        + _family("CURLE_PEER_FAILED_VERIFICATION", "CURLE_USE_SSL_FAILED"),
    ),
    (
        CallbackError,
        _family("CURLE_ABORTED_BY_CALLBACK", "CURLE_WRITE_ERROR", "CURLE_READ_ERROR"),
    ),
    (
        OptionError,
        _family("CURLE_UNKNOWN_OPTION", "CURLE_BAD_FUNCTION_ARGUMENT", "CURLE_NOT_BUILT_IN"),
    ),
):
    for _code in _codes:
        _FAMILY[_code] = _cls


def error_class(code: int) -> type[error]:
    """The ``error`` subclass for a CURLcode."""
    return _FAMILY.get(code, error)


def strerror(code: int) -> str:
    """curl_easy_strerror(3) as a str."""
    return str(ffi.string(lib.curl_easy_strerror(code)).decode("utf-8", "replace"))


def make_error(code: int, errbuf: Optional[object] = None) -> error:
    """The exception for CURLcode ``code``; ``errbuf`` is the CURLOPT_ERRORBUFFER cdata."""
    detail = ""
    if errbuf is not None:
        detail = ffi.string(errbuf).decode("utf-8", "replace")
    return error_class(code)(code, detail or strerror(code), detail)


def check(code: int, errbuf: Optional[object] = None) -> None:
    """Raise the matching ``error`` for a CURLcode other than CURLE_OK."""
    if code != 0:
        raise make_error(code, errbuf)


def check_multi(code: int) -> None:
    """Raise ``MultiError`` for a CURLMcode other than CURLM_OK."""
    if code != 0:
        message = ffi.string(lib.curl_multi_strerror(code)).decode("utf-8", "replace")
        raise MultiError(code, message)
