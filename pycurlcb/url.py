"""CurlUrl: one libcurl URL handle (curl_url(3)), pycurl 7.49's interface.

libcurl's own URL parser: ``u = CurlUrl("https://example.com/a?b=1")``,
then read or change a part (``u.host``, ``u.path = "/x"``, ``u.port = 8080``,
``del u.query``), or any part with flags (``u.getpart(UPART_QUERY,
U_URLDECODE)``, ``u.setpart(UPART_QUERY, "a=b c", U_URLENCODE |
U_APPENDQUERY)``); ``str(u)`` builds the URL.  ``curl.setopt(CURLU, u)``
makes a Curl transfer from it (CURLOPT_CURLU(3)): the Curl keeps ``u``
alive, and reads it when each transfer starts, so a change made between
two transfers is used by the second.

Parts are str (decoded as UTF-8, undecodable bytes replaced) or None for a
part the URL does not have; values set are str (ASCII only) or bytes.
Errors from libcurl raise ``UrlError`` (a ``pycurlcb.error``) whose code is
the CURLUcode.  ``copy.copy(u)`` and ``copy.deepcopy(u)`` make an
independent copy (curl_url_dup(3)); pickling raises TypeError.

Thread safety: one CurlUrl may be used from several threads (its calls into
libcurl are serialised by a lock); do not change it while a transfer using
it is starting in another thread.
"""

from __future__ import annotations

import threading
from typing import Any, Optional, Union, overload

from . import _features, errors
from ._convert import UINT_MAX, int_in, url_part
from ._ffi import ffi, lib
from .constants import FLAT, OPTION_IDS
from .easy import Curl, easy_struct, kept, register_setter
from .errors import UrlError

__all__ = ["CurlUrl"]

_UINT_MAX = UINT_MAX
_CURLU = OPTION_IDS["CURLU"]
#: CURLUPART_* value -> pycurl's name (UPART_HOST ...), for messages.
PART_NAMES = {v: k for k, v in FLAT.items() if k.startswith("UPART_")}
#: The codes curl_url_get(3) gives for a part the URL does not have: None, not an error.
_ABSENT = frozenset(
    getattr(lib, "CURLUE_NO_" + n)
    for n in ("SCHEME", "USER", "PASSWORD", "OPTIONS", "HOST", "PORT", "QUERY", "FRAGMENT",
              *(("ZONEID",) if _features.available("CURLUE_NO_ZONEID") else ()))
)
#: libcurl before 7.81.0 has no CURLUE_NO_ZONEID: it gives CURLUE_UNKNOWN_PART for an absent zone id.
_ZONEID_ABSENT = None if _features.available("zoneid_code") else lib.CURLUE_UNKNOWN_PART

Value = Union[str, bytes, None]


def _part_name(part: int) -> str:
    return PART_NAMES.get(part, f"part {part}")


def _raise(code: int, what: str) -> None:
    exc = errors.outcome(code, message=f"{what}: {errors.url_strerror(code)}", cls=UrlError)
    if exc is not None:
        raise exc


def _int(value: Any, what: str, high: int) -> int:
    return int_in(value, 0, high, "{what} must be an int, not {type}",
                  "{what} must be from 0 to {high}, not {value}", what=what)


class _Part:
    """A part of a CurlUrl as a property: str or None; set str/bytes, None or del removes it."""

    def __init__(self, part: int, doc: str, *, takes_int: bool = False) -> None:
        self.part = part
        self.takes_int = takes_int
        self.__doc__ = doc

    @overload
    def __get__(self, obj: None, owner: Any) -> _Part: ...
    @overload
    def __get__(self, obj: CurlUrl, owner: Any) -> Optional[str]: ...
    def __get__(self, obj: Optional[CurlUrl], owner: Any) -> Union[_Part, Optional[str]]:
        if obj is None:
            return self
        return obj.getpart(self.part)

    def __set__(self, obj: CurlUrl, value: Union[str, bytes, int, None]) -> None:
        if self.takes_int and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        obj.setpart(self.part, value)  # type: ignore[arg-type]  # setpart refuses an int

    def __delete__(self, obj: CurlUrl) -> None:
        obj.setpart(self.part, None)


class CurlUrl:
    """A libcurl URL handle: ``pycurl.CurlUrl(url=None, flags=0)``.

    ``url`` (str or bytes), if given, is parsed with curl_url_set(3)
    (CURLUPART_URL) and ``flags`` (U_* constants, such as
    ``U_DEFAULT_SCHEME | U_GUESS_SCHEME``); an invalid URL raises
    ``UrlError``.
    """

    __slots__ = ("_u", "_lock", "__weakref__")

    url = _Part(lib.CURLUPART_URL, "The whole URL, None if incomplete; setting it parses a new URL.")
    scheme = _Part(lib.CURLUPART_SCHEME, "The scheme ('https'), or None.")
    user = _Part(lib.CURLUPART_USER, "The user name, or None.")
    password = _Part(lib.CURLUPART_PASSWORD, "The password, or None.")
    options = _Part(lib.CURLUPART_OPTIONS, "The login options (IMAP, POP3, SMTP: ';AUTH=*'), or None.")
    host = _Part(lib.CURLUPART_HOST, "The host name or address ('[::1]' for IPv6), or None.")
    port = _Part(lib.CURLUPART_PORT, "The port as str ('8080') or None; set an int or a str.", takes_int=True)
    path = _Part(lib.CURLUPART_PATH, "The path ('/' at least).")
    query = _Part(lib.CURLUPART_QUERY, "The query, without '?', or None.")
    fragment = _Part(lib.CURLUPART_FRAGMENT, "The fragment, without '#', or None.")
    zoneid = _Part(lib.CURLUPART_ZONEID, "The IPv6 zone id ('eth0' in 'http://[fe80::1%25eth0]/'), or None.")

    _u: Any
    _lock: threading.Lock

    def __new__(cls, *args: Any, **kwargs: Any) -> CurlUrl:
        # Made here, not in __init__, as pycurl's tp_new does.
        return cls._wrap(lib.curl_url())

    @classmethod
    def _wrap(cls, u: Any) -> CurlUrl:
        if u == ffi.NULL:
            raise MemoryError("curl_url() failed")
        self = object.__new__(cls)
        self._u = ffi.gc(u, lib.curl_url_cleanup)  # nothing in libcurl outlives it: see setopt(CURLU)
        self._lock = threading.Lock()
        return self

    def __init__(self, url: Value = None, flags: int = 0) -> None:
        if url is not None:
            self.setpart(lib.CURLUPART_URL, url, flags)

    # --- parts ---------------------------------------------------------------------

    def getpart(self, part: int, flags: int = 0) -> Optional[str]:
        """curl_url_get(3): the part (a UPART_* constant) as str, None if absent.

        ``flags``: U_* constants (U_URLDECODE, U_DEFAULT_PORT, U_PUNYCODE ...).
        Raises ``UrlError`` (CURLUE_UNKNOWN_PART for an int that is no part).
        """
        part = _int(part, "getpart() part", _UINT_MAX)
        code, value = self._get(part, _int(flags, "getpart() flags", _UINT_MAX))
        if code in _ABSENT or (part == lib.CURLUPART_ZONEID and code == _ZONEID_ABSENT):
            return None
        if code:
            _raise(code, f"getpart({_part_name(part)})")
        return value

    def setpart(self, part: int, value: Value, flags: int = 0) -> None:
        """curl_url_set(3): set the part (a UPART_* constant) to ``value``; None removes it.

        ``value`` is str (ASCII only) or bytes.  ``flags``: U_* constants
        (U_URLENCODE, U_APPENDQUERY, U_DEFAULT_SCHEME, U_NON_SUPPORT_SCHEME
        ...).  Raises TypeError for another type, ``UrlError`` if libcurl
        refuses the value (the part is then left as it was).
        """
        _int(part, "setpart() part", _UINT_MAX)
        what = f"setpart({_part_name(part)})"
        data = url_part(value, what)
        flags = _int(flags, "setpart() flags", _UINT_MAX)
        with self._lock:
            code = lib.curl_url_set(self._u, part, data, flags)
        if code:
            _raise(code, what)

    def _get(self, part: int, flags: int) -> tuple[int, Optional[str]]:
        out = ffi.new("char **")
        with self._lock:
            code = lib.curl_url_get(self._u, part, out, flags)
        if code or out[0] == ffi.NULL:
            return code, None
        try:
            return code, ffi.string(out[0]).decode("utf-8", "replace")
        finally:
            lib.curl_free(out[0])

    # --- str, repr, copy ---------------------------------------------------------------

    def __str__(self) -> str:
        """The whole URL; raises ``UrlError`` if it is incomplete (no scheme or host)."""
        code, value = self._get(lib.CURLUPART_URL, 0)
        if code:
            _raise(code, "cannot serialise an incomplete URL")
        assert value is not None
        return value

    def __repr__(self) -> str:
        code, value = self._get(lib.CURLUPART_URL, 0)
        cls = type(self)
        name = "pycurlcb.CurlUrl" if cls is CurlUrl else f"{cls.__module__}.{cls.__qualname__}"
        shown = "(incomplete)" if code or value is None else f'"{value}"'
        return f"<{name} {shown} at {id(self):#x}>"

    def __copy__(self) -> CurlUrl:
        """curl_url_dup(3): an independent CurlUrl of the same class with the same URL."""
        with self._lock:
            u = lib.curl_url_dup(self._u)
        return type(self)._wrap(u)

    def __deepcopy__(self, memo: Any) -> CurlUrl:
        return self.__copy__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("CurlUrl objects do not support serialization")


# --- Curl.setopt(CURLU, ...) ---------------------------------------------------------------


def _set_curlu(curl: Curl, value: Any) -> None:
    """Curl.setopt(CURLU, u): libcurl reads ``u`` at the start of each transfer,
    so the Curl keeps it alive (``_keep``) until unset, reset() or close()."""
    if not isinstance(value, CurlUrl):
        raise TypeError(f"setopt(CURLU) expects a CurlUrl object, not {type(value).__name__}")
    e = easy_struct(curl)
    errors.check(lib.pcb_easy_setopt_ptr(e.h, _CURLU, value._u), e.errbuf)
    kept(curl)[_CURLU] = value


def _unset_curlu(curl: Curl) -> None:
    e = easy_struct(curl)
    errors.check(lib.pcb_easy_setopt_ptr(e.h, _CURLU, ffi.NULL), e.errbuf)
    kept(curl).pop(_CURLU, None)


register_setter(_CURLU, _set_curlu, _unset_curlu)
