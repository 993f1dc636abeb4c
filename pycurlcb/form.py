"""setopt(HTTPPOST, form): pycurl's list-of-tuples multipart form (curl_formadd(3)).

Deprecated by libcurl and by pycurl ("HTTPPOST is deprecated; use MIMEPOST",
a DeprecationWarning); kept for drop-in compatibility.  ``form`` is a list or
tuple of ``(name, value)`` pairs (each a list or tuple); name is bytes or an
ASCII str, value is either

* bytes or an ASCII str: the field's contents (NUL bytes allowed), or
* a list or tuple of ``option, value`` pairs, options FORM_CONTENTS,
  FORM_FILE (a path, read when sent), FORM_FILENAME, FORM_CONTENTTYPE,
  FORM_BUFFER (the remote file name of an upload from memory) and
  FORM_BUFFERPTR (that upload's bytes: not copied, kept alive by the Curl).

The ``curl_httppost`` list is owned through ffi.gc (curl_formfree) and kept,
with the FORM_BUFFERPTR objects, in ``easy.kept(curl)[HTTPPOST]`` until the option
is replaced, unset, reset or the Curl is closed (a duphandle() shares it, as
libcurl's copy points at the same list).  HTTPPOST and MIMEPOST exclude each
other, as in libcurl: setting one unsets the other first.
"""

from __future__ import annotations

import warnings
from typing import Any, NoReturn, Optional

from . import easy, errors
from ._convert import cut_repr, form_text
from ._ffi import ffi, lib
from .constants import OPTION_IDS
from .easy import Curl, easy_struct, kept

HTTPPOST = OPTION_IDS["HTTPPOST"]
MIMEPOST = OPTION_IDS["MIMEPOST"]
#: The CURLFORM_* options a field may use (pycurl's FORM_* names).
_OPTIONS = frozenset(
    getattr(lib, "CURLFORM_" + n)
    for n in ("COPYCONTENTS", "FILE", "FILENAME", "CONTENTTYPE", "BUFFER", "BUFFERPTR")
)
_BUFFERPTR: int = lib.CURLFORM_BUFFERPTR
_COPYCONTENTS: int = lib.CURLFORM_COPYCONTENTS
_FORMADD_NAMES = {
    getattr(lib, n): n for n in dir(lib) if n.startswith("CURL_FORMADD_") and n != "CURL_FORMADD_LAST"
}





def _set_httppost(curl: Curl, value: Any) -> None:
    """setopt(HTTPPOST, form), as pycurl's do_curl_setopt_httppost."""
    expects = ": setopt(HTTPPOST, {}) expects a list or tuple of form fields"
    if isinstance(value, (str, bytes)):
        raise TypeError("strings are not supported for this option" + expects.format(cut_repr(value)))
    if isinstance(value, int):
        raise TypeError("integers are not supported for this option" + expects.format(cut_repr(value)))
    if not isinstance(value, (list, tuple)):
        if callable(value):
            raise TypeError("functions are not supported for this option" + expects.format(cut_repr(value)))
        raise TypeError("invalid arguments to setopt" + expects.format(cut_repr(value)))
    warnings.warn("HTTPPOST is deprecated; use MIMEPOST", DeprecationWarning, stacklevel=3)
    if not value:
        return  # as pycurl: an empty form leaves the option as it is
    first = ffi.new("struct curl_httppost **")
    last = ffi.new("struct curl_httppost **")
    pinned: list[Any] = []  # FORM_BUFFERPTR data: libcurl keeps pointers into it
    try:
        for item in value:
            _add_field(first, last, item, pinned)
    except BaseException:
        lib.curl_formfree(first[0])
        raise
    form = ffi.gc(first[0], lib.curl_formfree)
    h = easy_struct(curl).h
    if MIMEPOST in kept(curl):
        errors.check(lib.pcb_easy_setopt_ptr(h, MIMEPOST, ffi.NULL))
    errors.check(lib.pcb_easy_setopt_ptr(h, HTTPPOST, form))
    kept(curl)[HTTPPOST] = (form, pinned)  # the previous form is freed when dropped
    kept(curl).pop(MIMEPOST, None)


def _add_field(first: Any, last: Any, item: Any, pinned: list[Any]) -> None:
    """curl_formadd(3) for one ``(name, value)`` pair."""
    if not isinstance(item, (list, tuple)):
        raise TypeError("list items must be list or tuple objects")
    if len(item) != 2:
        raise TypeError("list or tuple must contain two elements (name, value)")
    name_obj, spec = item
    if not isinstance(name_obj, (str, bytes)):
        raise TypeError(
            "list or tuple must contain a byte string or Unicode string with ASCII code points "
            "only as first element"
        )
    try:
        name = form_text(name_obj)
    except UnicodeEncodeError:
        raise TypeError(
            "list or tuple must contain a byte string or Unicode string with ASCII code points "
            "only as first element"
        ) from None
    if isinstance(spec, (str, bytes)):
        try:
            pairs = [(_COPYCONTENTS, form_text(spec))]
        except UnicodeEncodeError as exc:
            # pycurl raises E_BAD_FUNCTION_ARGUMENT here
            _raise(lib.CURLE_BAD_FUNCTION_ARGUMENT, f"HTTPPOST: the contents of field {name!r} "
                   "must be bytes or an ASCII str", exc)
    elif isinstance(spec, (list, tuple)):
        pairs = _options(spec)
    else:
        raise TypeError("unsupported second type in tuple")
    values = []
    for option, data in pairs:
        if option == _BUFFERPTR:
            buf = ffi.from_buffer(data)  # not copied: the Curl keeps it
            pinned.append(buf)
            values.append(buf)
        else:
            values.append(ffi.new("char[]", data))  # copied by curl_formadd
    rc = lib.pcb_formadd(
        first,
        last,
        ffi.new("char[]", name),
        len(name),
        ffi.new("int[]", [option for option, _ in pairs]),
        ffi.new("const char *[]", values),
        ffi.new("long[]", [len(data) for _, data in pairs]),
        len(pairs),
    )
    if rc != lib.CURL_FORMADD_OK:
        what = _FORMADD_NAMES.get(rc, f"CURLFORMcode {rc}")
        code = lib.CURLE_OUT_OF_MEMORY if rc == lib.CURL_FORMADD_MEMORY else lib.CURLE_BAD_FUNCTION_ARGUMENT
        _raise(code, f"curl_formadd() failed for field {name!r}: {what}")


def _raise(code: int, message: str, cause: Optional[BaseException] = None) -> NoReturn:
    """Raise through the error funnel: ``error`` (its family's class) for CURLcode ``code``."""
    exc = errors.outcome(code, None, cause, message=message)
    assert exc is not None
    raise exc


def _options(spec: Any) -> list[tuple[int, bytes]]:
    """The (CURLFORM_*, value) pairs of a field's option list, checked as pycurl does."""
    if len(spec) < 2:
        raise TypeError("list or tuple must contain at least one option and one value")
    if len(spec) % 2:
        raise TypeError("list or tuple must contain an even number of items")
    pairs = []
    for i in range(0, len(spec), 2):
        option, value = spec[i], spec[i + 1]
        if not isinstance(option, int):
            raise TypeError("option must be an integer")
        if not isinstance(value, (str, bytes)):
            raise TypeError("value must be a byte string or a Unicode string with ASCII code points only")
        if option not in _OPTIONS:
            raise TypeError("unsupported option")
        pairs.append((int(option), form_text(value)))
    return pairs


def _unset_httppost(curl: Curl) -> None:
    errors.check(lib.pcb_easy_setopt_ptr(easy_struct(curl).h, HTTPPOST, ffi.NULL))
    kept(curl).pop(HTTPPOST, None)


easy.register_setter(HTTPPOST, _set_httppost, _unset_httppost)
