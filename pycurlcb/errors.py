"""The exception hierarchy, and the one funnel every handle type raises through.

``error`` has pycurl's shape: ``error.args == (code, message)``, where code is
the libcurl result code (an int) and message the CURLOPT_ERRORBUFFER text, or
curl_easy_strerror(code) when libcurl left the buffer empty.  Beyond pycurl,
each instance carries ``.code``, ``.name`` (``'CURLE_COULDNT_CONNECT'``) and
``.detail`` (the error-buffer text, possibly empty), and the families below
also subclass the matching built-in, so ``except TimeoutError`` and
``except ConnectionError`` work as well as ``except pycurlcb.error``.

The exception contract (``outcome``): when a callback raised an ``Exception``
during a call into libcurl, that call raises ``error`` for the code libcurl
reported, with the callback's exception as ``__cause__`` (traceback intact);
a ``KeyboardInterrupt`` or ``SystemExit`` is raised as itself.  Multi, share
and URL failures raise ``MultiError``, ``ShareError`` and ``UrlError``, whose
code is a CURLMcode, CURLSHcode or CURLUcode.
"""

from __future__ import annotations

from typing import Any, Optional

from ._ffi import ffi, lib

#: Deprecated aliases in the header (CURLE_HTTP_NOT_FOUND ...): never a code's name.
_OLD = frozenset(ffi.string(lib.pcb_old_names()).decode("ascii").split())


#: The header's names, the deprecated aliases last (sorted once: import time).
_BY_NAME = sorted((n for n in dir(lib) if n.startswith("CURL")), key=lambda n: (n in _OLD, n))


def _names(prefix: str, exclude: str = "") -> dict[int, str]:
    out: dict[int, str] = {}
    for name in _BY_NAME:
        if name.startswith(prefix) and not name.endswith(("_LAST", "_LASTENTRY")):
            if not (exclude and name.startswith(exclude)):
                out.setdefault(getattr(lib, name), name)
    return out


#: CURLcode value -> 'CURLE_...' name, from the installed header.
CODE_NAMES: dict[int, str] = _names("CURLE_")
#: CURLMcode value -> 'CURLM_...' name.
MULTI_CODE_NAMES: dict[int, str] = _names("CURLM_", exclude="CURLMSG")
#: CURLSHcode value -> 'CURLSHE_...' name.
SHARE_CODE_NAMES: dict[int, str] = _names("CURLSHE_")
#: CURLUcode value -> 'CURLUE_...' name.
URL_CODE_NAMES: dict[int, str] = _names("CURLUE_")

#: CURLM_ABORTED_BY_CALLBACK, which libcurl has from 7.81.0; older ones have no
#: code for it, and pycurlcb reports its own multi callbacks' failures with it.
MULTI_ABORTED_BY_CALLBACK: int = getattr(lib, "CURLM_ABORTED_BY_CALLBACK", 11)
MULTI_CODE_NAMES.setdefault(MULTI_ABORTED_BY_CALLBACK, "CURLM_ABORTED_BY_CALLBACK")


class error(Exception):  # noqa: N801 - pycurl's name
    """pycurl's exception.

    A libcurl failure has ``args == (code, message)``: the result code and
    the error-buffer text (or the code's strerror text).  A misuse that
    pycurl reports itself (a closed handle, a call from inside a running
    transfer ...) has ``args == (message,)``, as in pycurl.  ``code`` and
    ``name`` are None for those.
    """

    code: Optional[int]
    name: Optional[str]
    detail: str

    def __init__(self, *args: Any, detail: str = "") -> None:
        super().__init__(*args)
        code = args[0] if args and isinstance(args[0], int) else None
        self.code = code
        self.name = None if code is None else self._name_of(code)
        self.detail = detail

    @staticmethod
    def _name_of(code: int) -> str:
        return CODE_NAMES.get(code, f"CURLE_{code}")

    def __str__(self) -> str:
        # pycurl's text, "(7, 'Failed to connect ...')", also for the subclasses
        # that are OSErrors (whose own text would read "[Errno 7] ...").
        return Exception.__str__(self)


class CurlConnectionError(error, ConnectionError):
    """Resolving, connecting, sending or receiving failed."""


class CurlTimeoutError(error, TimeoutError):
    """CURLE_OPERATION_TIMEDOUT."""


class CurlTLSError(error):
    """A TLS handshake, certificate or verification failure."""


class CallbackError(error):
    """A callback aborted the transfer (CURLE_ABORTED_BY_CALLBACK, CURLE_WRITE_ERROR ...).

    ``__cause__`` is the exception the callback raised, if it raised; None
    when it asked libcurl to abort by its return value.
    """


class MultiError(error):
    """A CURLMcode other than CURLM_OK from the multi interface."""

    @staticmethod
    def _name_of(code: int) -> str:
        return MULTI_CODE_NAMES.get(code, f"CURLM_{code}")


class ShareError(error):
    """A CURLSHcode other than CURLSHE_OK from the share interface."""

    @staticmethod
    def _name_of(code: int) -> str:
        return SHARE_CODE_NAMES.get(code, f"CURLSHE_{code}")


class UrlError(error):
    """A CURLUcode other than CURLUE_OK from the URL API (curl_url_get(3) ...)."""

    @staticmethod
    def _name_of(code: int) -> str:
        return URL_CODE_NAMES.get(code, f"CURLUE_{code}")


class ReturnOverflow(OverflowError):
    """A callback returned an int that does not fit the C int libcurl takes.

    As pycurl 7.49, the driving call raises this itself, not pycurl.error,
    for the callbacks whose failure pycurl leaves pending (sockopt, ssh_key,
    prereq ...); for the others (progress, seek ...) a plain OverflowError is
    the __cause__ of the pycurl.error.
    """


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
):
    for _code in _codes:
        _FAMILY[_code] = _cls


def error_class(code: int) -> type[error]:
    """The ``error`` subclass for a CURLcode."""
    return _FAMILY.get(code, error)


def version_text(num: int) -> str:
    """'7.88.1' for LIBCURL_VERSION_NUM 0x075801."""
    return f"{num >> 16}.{(num >> 8) & 0xFF}.{num & 0xFF}"


def _text(p: Any) -> str:
    return "" if p == ffi.NULL else str(ffi.string(p).decode("utf-8", "replace"))


def _check_code(code: Any, what: str) -> int:
    if not isinstance(code, int) or type(code) is bool:
        raise TypeError(f"{what}() expects an int error code, not {type(code).__name__}")
    return code


def easy_strerror(code: int) -> str:
    """curl_easy_strerror(3): the text of a CURLcode."""
    return _text(lib.curl_easy_strerror(_check_code(code, "easy_strerror")))


def multi_strerror(code: int) -> str:
    """curl_multi_strerror(3): the text of a CURLMcode."""
    return _text(lib.curl_multi_strerror(_check_code(code, "multi_strerror")))


def share_strerror(code: int) -> str:
    """curl_share_strerror(3): the text of a CURLSHcode."""
    return _text(lib.curl_share_strerror(_check_code(code, "share_strerror")))


def url_strerror(code: int) -> str:
    """curl_url_strerror(3) (libcurl 7.80.0): the text of a CURLUcode.

    A libcurl older than 7.80.0 has no curl_url_strerror: the text is then
    the code's name ('CURLUE_MALFORMED_INPUT', 'CURLUE_<n>' for a number
    that is no CURLUcode), as in ``UrlError.name``.
    """
    return _text(lib.pcb_url_strerror(_check_code(code, "url_strerror"))) or UrlError._name_of(code)


strerror = easy_strerror


def make_error(code: int, errbuf: Optional[Any] = None) -> error:
    """The exception for CURLcode ``code``; ``errbuf`` is the CURLOPT_ERRORBUFFER cdata."""
    detail = "" if errbuf is None else ffi.string(errbuf).decode("utf-8", "replace")
    return error_class(code)(code, detail or easy_strerror(code), detail=detail)


def outcome(
    code: int,
    errbuf: Optional[Any] = None,
    cause: Optional[BaseException] = None,
    *,
    message: Optional[str] = None,
    cls: Optional[type[error]] = None,
) -> Optional[BaseException]:
    """What a call into libcurl that returned ``code`` raises, or None: the funnel.

    ``cause`` is what a callback raised during the call.  A KeyboardInterrupt
    or SystemExit is returned as itself.  Otherwise an ``error`` (``cls``, or
    the class for the CURLcode's family) whose ``__cause__`` is ``cause``; a
    callback's return value that does not fit a C int (ReturnOverflow) is
    returned as itself, as pycurl raises it.  A
    callback that raised while libcurl still reported success is reported as
    CURLE_ABORTED_BY_CALLBACK (MultiError: CURLM_ABORTED_BY_CALLBACK).
    ``message`` overrides the error buffer / strerror text.
    """
    if cause is not None and (not isinstance(cause, Exception) or isinstance(cause, ReturnOverflow)):
        return cause
    if code == 0:
        if cause is None:
            return None
        code = MULTI_ABORTED_BY_CALLBACK if cls is MultiError else lib.CURLE_ABORTED_BY_CALLBACK
    if cls is None:
        err = make_error(code, errbuf)
        if message is not None:
            err.args = (code, message)
    else:
        err = cls(code, message or _default_message(cls, code))
    if cause is not None:
        err.__cause__ = cause
    return err


def _default_message(cls: type[error], code: int) -> str:
    if issubclass(cls, MultiError):
        return multi_strerror(code)
    if issubclass(cls, ShareError):
        return share_strerror(code)
    if issubclass(cls, UrlError):
        return url_strerror(code)
    return easy_strerror(code)


def check(code: int, errbuf: Optional[Any] = None, cause: Optional[BaseException] = None) -> None:
    """Raise what ``outcome`` gives for a CURLcode (nothing for CURLE_OK and no cause)."""
    if code or cause is not None:
        exc = outcome(code, errbuf, cause)
        if exc is not None:
            raise exc


def check_multi(code: int, cause: Optional[BaseException] = None, message: Optional[str] = None) -> None:
    """Raise ``MultiError`` for a CURLMcode other than CURLM_OK, or for ``cause``."""
    if code or cause is not None:
        exc = outcome(code, None, cause, message=message, cls=MultiError)
        if exc is not None:
            raise exc
