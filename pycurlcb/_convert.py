"""Conversions between Python values and what libcurl takes, in one place.

* C integer ranges and ``int_in`` (an int argument that must fit one), ``c_int``
  (a callback's int return value);
* text: the converters differ in what they accept and in the message pycurl
  gives, and each is named for that difference:

  ===================  ======  =====  ========  ====  ==========================
  converter            str     bytes  PathLike  NUL   used for
  ===================  ======  =====  ========  ====  ==========================
  ``option_text``      ASCII   yes    yes       no    setopt string options
  ``list_item``        ASCII   yes    no        no    an item of a list option
  ``callback_text``    ASCII   yes    no        kept  text a callback returns
  ``c_string``         ASCII   yes    no        no    mime part fields (pycurl's
                                                      PyText_AsString_NoNUL)
  ``c_path``           ASCII   yes    yes       no    a mime part's file name
  ``form_text``        str()   yes    no        kept  HTTPPOST fields
  ``url_part``         ASCII   yes    no        no    CurlUrl parts (None: NULL)
  ===================  ======  =====  ========  ====  ==========================

* slists: ``make_slist`` and ``slist_items``;
* read-fill: ``fill`` (READFUNCTION) and ``fill_mime`` (a mime part's read
  callable) copy what a callable returned into libcurl's buffer; they share
  the copy and differ in which ints they take; ``seek_code`` and
  ``mime_seek_code`` the same for a seek callable's return value.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from ._ffi import c_range, ffi, lib
from .errors import ReturnOverflow

# --- C integer ranges --------------------------------------------------------------------

INT_MIN, INT_MAX = c_range("int")
LONG_MIN, LONG_MAX = c_range("long")
OFF_T_MIN, OFF_T_MAX = c_range("curl_off_t")
UINT_MAX = c_range("unsigned int", signed=False)[1]
SIZE_MAX = c_range("size_t", signed=False)[1]


def int_in(value: Any, low: int, high: int, not_int: str, out_of_range: str, **names: Any) -> int:
    """``value`` as an int from ``low`` to ``high``; else TypeError(``not_int``) or
    OverflowError(``out_of_range``), each formatted (only then) with ``type`` (the
    value's type name), ``value``, ``low``, ``high`` and ``names``."""
    if not isinstance(value, int):
        raise TypeError(not_int.format(type=type(value).__name__, value=value, low=low, high=high, **names))
    if not low <= value <= high:
        raise OverflowError(out_of_range.format(type="int", value=value, low=low, high=high, **names))
    return int(value)


def safe_repr(value: Any) -> str:
    """repr(value) in ASCII, or "a value" if its repr fails."""
    try:
        return repr(value).encode("ascii", "backslashreplace").decode("ascii")
    except Exception:
        return "a value"


def c_int(rv: Any, what: str, direct: bool = True) -> int:
    """An int return value that must fit a C int, as pycurl checks it.

    Too large: errors.ReturnOverflow (raised by the driving call as itself),
    or with ``direct=False`` an OverflowError (the cause of a pycurl.error).
    """
    if not isinstance(rv, int):
        raise TypeError(f"{what} callback returned {safe_repr(rv)} which is not an integer")
    if not INT_MIN <= rv <= INT_MAX:
        cls = ReturnOverflow if direct else OverflowError
        raise cls(f"{what} callback returned {rv} which does not fit in an int")
    return int(rv)


# --- text --------------------------------------------------------------------------------

#: Options whose value is a secret: an error message shows its type and length only.
_SECRET_WORDS = ("PASSW", "USERPWD", "BEARER", "SSLKEY_BLOB", "KEYPASSWD")


def cut_repr(value: Any) -> str:
    """repr(value) cut at 80 characters, as an error message shows a value."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def shown(name: str, value: Any) -> str:
    """``value`` as an error message about option ``name`` shows it: its repr,
    cut at 80 characters; a secret's type and length only."""
    if isinstance(value, (str, bytes)) and any(w in name for w in _SECRET_WORDS):
        return f"<{type(value).__name__} of length {len(value)}>"
    return cut_repr(value)


def option_text(value: Any, what: str) -> bytes:
    """A str (ASCII only, as pycurl) or bytes/PathLike option value, without NUL bytes."""
    if isinstance(value, str):
        try:
            data = value.encode("ascii")
        except UnicodeEncodeError as exc:  # pycurl's type, with what and where
            raise UnicodeEncodeError(
                "ascii", value, exc.start, exc.end,
                f"{what} takes an ASCII-only str (pass bytes for other text)",
            ) from None
    elif isinstance(value, bytes):
        data = value
    elif isinstance(value, os.PathLike):
        data = os.fsencode(value)
    else:
        raise TypeError(f"{what} expects str or bytes, not {type(value).__name__}")
    if b"\0" in data:
        raise ValueError(f"{what}: the value contains a NUL byte")
    return data


def list_item(item: Any, name: str = "", index: int = 0) -> bytes:
    """An item of list option ``name`` (HTTPHEADER ...): str (ASCII) or bytes, no PathLike."""
    where = f"setopt({name}) item {index}" if name else "a list item"
    if not isinstance(item, (str, bytes)):
        raise TypeError(
            "list items must be byte strings or Unicode strings with ASCII code points only"
            + (f": {where} is {shown(name, item)}" if name else "")
        )
    return option_text(item, where)


def callback_text(value: Any, what: str) -> bytes:
    """str (ASCII only) or bytes, as pycurl's callbacks accept text; NUL bytes kept."""
    if isinstance(value, str):
        return value.encode("ascii")
    if isinstance(value, bytes):
        return value
    raise TypeError(f"{what} must be a byte string or an ASCII-only str, not {type(value).__name__}")


def c_string(value: Any) -> bytes:
    """bytes or an ASCII str, without NUL bytes (pycurl's PyText_AsString_NoNUL)."""
    if isinstance(value, str):
        data = value.encode("ascii")
    elif isinstance(value, bytes):
        data = value
    else:
        raise TypeError(f"expected bytes or an ASCII string, got {type(value).__name__}")
    if b"\0" in data:
        raise ValueError("embedded null byte")
    return data


def c_path(value: Any) -> bytes:
    """A file name: as c_string, or an os.PathLike."""
    if isinstance(value, os.PathLike):
        value = os.fsencode(value)
    return c_string(value)


def form_text(value: Any) -> bytes:
    """bytes, or str(value) encoded as ASCII (UnicodeEncodeError otherwise); NUL bytes kept."""
    return value if isinstance(value, bytes) else str(value).encode("ascii")


def url_part(value: Any, what: str) -> Any:
    """A CurlUrl part's C value: NULL for None (removes the part), else bytes without NUL."""
    if value is None:
        return ffi.NULL
    if isinstance(value, str):
        try:
            value = value.encode("ascii")
        except UnicodeEncodeError as exc:  # as pycurl, with what to do instead
            exc.reason = f"{what}: a str value must be ASCII (give bytes, or a punycode host)"
            raise
    elif not isinstance(value, bytes):
        raise TypeError(f"{what}: a URL part must be a string, bytes, or None, not {type(value).__name__}")
    if b"\0" in value:
        raise ValueError(f"{what}: the value contains a NUL byte")
    return value


# --- slists ------------------------------------------------------------------------------


def make_slist(items: list[bytes]) -> Any:
    """A struct curl_slist of ``items`` (the caller, or libcurl, frees it)."""
    slist = ffi.NULL
    for item in items:
        if b"\0" in item:
            lib.curl_slist_free_all(slist)
            raise ValueError("list items must not contain NUL bytes")
        new = lib.curl_slist_append(slist, item)
        if new == ffi.NULL:
            lib.curl_slist_free_all(slist)
            raise MemoryError("curl_slist_append failed")
        slist = new
    return slist


def slist_items(slist: Any) -> list[bytes]:
    """The strings of a struct curl_slist, in order."""
    items = []
    while slist != ffi.NULL:
        items.append(ffi.string(slist.data))
        slist = slist.next
    return items


# --- read-fill ---------------------------------------------------------------------------

_READFUNC_ABORT: int = lib.CURL_READFUNC_ABORT
_READFUNC_PAUSE: int = lib.CURL_READFUNC_PAUSE


class _FillMessages(NamedTuple):
    """What ``_copy_into`` says, formatted with what, rv (its safe repr), type, size and n."""

    not_buffer: str
    not_contiguous: str
    too_big: str


_READ = _FillMessages(
    "{what} callback returned {rv}, which is not an object supporting the "
    "buffer protocol (e.g. a byte string) or an ASCII-only Unicode string",
    "{what} callback returned a buffer that is not C-contiguous",
    "invalid return value for {what} callback ({size} bytes returned when at most {n} bytes were wanted)",
)
_MIME_READ = _FillMessages(
    "mime read callback must return an object supporting the buffer protocol, an "
    "ASCII-only Unicode string, READFUNC_ABORT, or READFUNC_PAUSE, not {type}",
    "mime read callback returned a buffer that is not C-contiguous",
    "invalid return value for mime read callback ({size} bytes returned when at most {n} bytes were wanted)",
)


def _copy_into(buffer: Any, n: int, rv: Any, messages: _FillMessages, what: str) -> int:
    """Copy text or a C-contiguous buffer of at most ``n`` bytes into ``buffer``."""
    if isinstance(rv, str):
        rv = rv.encode("ascii")
    try:
        view = memoryview(rv)
    except TypeError:
        message = messages.not_buffer.format(what=what, rv=safe_repr(rv), type=type(rv).__name__)
        raise TypeError(message) from None
    with view:
        if not view.c_contiguous:
            raise BufferError(messages.not_contiguous.format(what=what))
        size = view.nbytes
        if size > n:
            raise ValueError(messages.too_big.format(what=what, size=size, n=n))
        if size:
            ffi.memmove(buffer, view, size)
    return size


def fill(buffer: Any, n: int, rv: Any, what: str) -> int:
    """Copy what a read callable returned into libcurl's ``buffer`` of ``n`` bytes.

    An int (not a bool) must be READFUNC_ABORT or READFUNC_PAUSE."""
    if isinstance(rv, int) and type(rv) is not bool:
        if rv in (_READFUNC_ABORT, _READFUNC_PAUSE):
            return int(rv)
        raise ValueError(
            f"{what} callback returned {rv}, which is not a byte string, READFUNC_ABORT "
            f"({_READFUNC_ABORT}) or READFUNC_PAUSE ({_READFUNC_PAUSE})"
        )
    return _copy_into(buffer, n, rv, _READ, what)


def fill_mime(buffer: Any, n: int, rv: Any) -> int:
    """``fill`` for a mime part's read callable: any int (a bool too) must fit a C
    long and be READFUNC_ABORT or READFUNC_PAUSE; pycurl's mime messages."""
    if isinstance(rv, int):
        if not LONG_MIN <= rv <= LONG_MAX:
            raise OverflowError(f"mime read callback returned {rv}, which does not fit in a C long")
        if rv not in (_READFUNC_ABORT, _READFUNC_PAUSE):
            raise ValueError(
                "mime read callback must return a buffer object, an ASCII-only Unicode string, "
                f"READFUNC_ABORT, or READFUNC_PAUSE, not the int {rv}"
            )
        return int(rv)
    return _copy_into(buffer, n, rv, _MIME_READ, "mime read")


def _seek_code(rv: Any, what: str, direct: bool, out_of_range: str) -> int:
    if rv is None:
        return int(lib.CURL_SEEKFUNC_OK)
    code = c_int(rv, what, direct)
    if not 0 <= code <= 2:
        raise ValueError(out_of_range.format(code=code))
    return code


def seek_code(rv: Any) -> int:
    """A SEEKFUNCTION callable's return: None is SEEKFUNC_OK, else 0, 1 or 2
    (a TypeError, OverflowError or ValueError is the cause of the pycurl.error)."""
    return _seek_code(
        rv, "seek", False,
        "seek callback returned {code}, which is not SEEKFUNC_OK (0), SEEKFUNC_FAIL (1), "
        "SEEKFUNC_CANTSEEK (2) or None",
    )


def mime_seek_code(rv: Any) -> int:
    """A mime part's seek callable's return, as seek_code; a non-int is a TypeError
    of its own and a too large int a ReturnOverflow, as pycurl."""
    if rv is not None and not isinstance(rv, int):
        raise TypeError(
            "mime seek callback must return 0 (SEEKFUNC_OK), 1 (SEEKFUNC_FAIL), "
            f"2 (SEEKFUNC_CANTSEEK) or None, not {type(rv).__name__}"
        )
    return _seek_code(
        rv, "mime seek", True, "invalid return value for mime seek callback {code} not in (0, 1, 2)"
    )
