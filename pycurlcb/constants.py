"""libcurl's constants: the option and info tables, enums, pycurl's flat names.

Nothing here is typed in by hand:

* the easy options come from libcurl at run time (curl_easy_option_next(3)),
  so every option of the *loaded* libcurl.so is settable, with its type;
* every other integer constant comes from the installed <curl/curl.h>
  (build_ffi.py lists their names, the compiler gives their values);
* pycurl's flat names come from pycurl's own table (``_pycurl_names.NAMES``,
  generated from pycurl's src/module.c: pycurl name, C name, and whether pycurl
  also makes it readable on Curl, CurlMulti or CurlShare objects), resolved
  against the loaded libcurl and the installed header; names newer than pycurl
  are derived by the prefix rules in ``_FLAT_PREFIXES`` (CURLE_X -> E_X,
  CURLAUTH_X -> HTTPAUTH_X, ...). Where both give a name, pycurl's table wins.
"""

from __future__ import annotations

import bisect
import enum
from typing import TYPE_CHECKING, Any, NamedTuple

from ._ffi import c_range, ffi, lib
from ._pycurl_names import NAMES

_LONG_MAX = c_range("long")[1]
_ULONG_MAX = c_range("unsigned long", signed=False)[1]


def _int_enum(name: str, members: dict[str, int], doc: str) -> Any:
    """An IntEnum built from a table read at import (typed Any: its members are dynamic)."""
    cls = enum.IntEnum(name, sorted(members.items(), key=lambda kv: kv[1]))  # type: ignore[misc]
    cls.__doc__ = doc
    cls.__module__ = __name__
    return cls


def _as_c_long(value: int) -> int:
    """Header values such as CURLAUTH_ANY are unsigned long; setopt takes a long."""
    if _LONG_MAX < value <= _ULONG_MAX:
        return value - (_ULONG_MAX + 1)
    return value


# --- easy options, from libcurl at run time ---------------------------------


class OptType(enum.IntEnum):
    """curl_easytype: how setopt converts a value (curl_easy_option_next(3))."""

    LONG = lib.CURLOT_LONG
    VALUES = lib.CURLOT_VALUES
    OFF_T = lib.CURLOT_OFF_T
    OBJECT = lib.CURLOT_OBJECT
    STRING = lib.CURLOT_STRING
    SLIST = lib.CURLOT_SLIST
    CBPTR = lib.CURLOT_CBPTR
    BLOB = lib.CURLOT_BLOB
    FUNCTION = lib.CURLOT_FUNCTION


class OptionSpec(NamedTuple):
    """One easy option: its name without CURLOPT_, its id and its type."""

    name: str
    id: int
    type: OptType


#: Options libcurl lists as OBJECT that pycurl sets as strings: COPYPOSTFIELDS
#: takes a NUL-terminated text libcurl copies (CURLOPT_COPYPOSTFIELDS(3)).
_STRING_OBJECTS = frozenset({"COPYPOSTFIELDS"})


def _read_options() -> tuple[dict[int, OptionSpec], dict[str, int]]:
    by_id: dict[int, OptionSpec] = {}
    by_name: dict[str, int] = {}
    opt = lib.curl_easy_option_next(ffi.NULL)
    while opt != ffi.NULL:
        name = ffi.string(opt.name).decode("ascii")
        by_name[name] = opt.id
        if not (opt.flags & lib.CURLOT_FLAG_ALIAS) or opt.id not in by_id:
            kind = OptType.STRING if name in _STRING_OBJECTS else OptType(opt.type)
            by_id[opt.id] = OptionSpec(name, opt.id, kind)
        opt = lib.curl_easy_option_next(opt)
    return by_id, by_name


#: CURLoption id -> OptionSpec, for every option the loaded libcurl knows;
#: OPTION_IDS: the option's name (without CURLOPT_) -> its id.
OPTIONS, OPTION_IDS = _read_options()



# --- getinfo, from the header ------------------------------------------------


class InfoKind(enum.IntEnum):
    """The C type curl_easy_getinfo(3) fills for an info, from its id's high bits."""

    STRING = lib.CURLINFO_STRING
    LONG = lib.CURLINFO_LONG
    DOUBLE = lib.CURLINFO_DOUBLE
    SLIST = lib.CURLINFO_SLIST  # also CURLINFO_PTR
    SOCKET = lib.CURLINFO_SOCKET
    OFF_T = lib.CURLINFO_OFF_T


_INFO_KINDS = {m.value: m for m in InfoKind}
_TYPEMASK: int = lib.CURLINFO_TYPEMASK


def info_kind(info: int) -> InfoKind:
    """The InfoKind of a CURLINFO id; ValueError if it has none."""
    kind = _INFO_KINDS.get(info & _TYPEMASK)
    if kind is None:
        raise ValueError(f"{info!r} is not a CURLINFO value (no type bits)")
    return kind


_INFO_MARKERS = {"TYPEMASK", "MASK", "NONE", "LASTONE", "PTR"} | set(InfoKind.__members__)


def _lib_constants(prefix: str) -> dict[str, int]:
    return {n[len(prefix):]: getattr(lib, n) for n in dir(lib) if n.startswith(prefix)}


#: CURLINFO name (without CURLINFO_) -> its id, for every CURLINFO of the headers built against.
INFO_IDS = {
    n: v
    for n, v in _lib_constants("CURLINFO_").items()
    if n not in _INFO_MARKERS and v & lib.CURLINFO_TYPEMASK and v & lib.CURLINFO_MASK
}


# --- small enums the callbacks use -----------------------------------------


class SockType(enum.IntEnum):
    """curlsocktype: the ``purpose`` argument of opensocket and sockopt."""

    IPCXN = lib.CURLSOCKTYPE_IPCXN
    ACCEPT = lib.CURLSOCKTYPE_ACCEPT


class SockOpt(enum.IntEnum):
    """What a sockopt callback returns (CURLOPT_SOCKOPTFUNCTION(3))."""

    OK = lib.CURL_SOCKOPT_OK
    ERROR = lib.CURL_SOCKOPT_ERROR
    ALREADY_CONNECTED = lib.CURL_SOCKOPT_ALREADY_CONNECTED


class InfoType(enum.IntEnum):
    """curl_infotype: the first argument of the debug callback."""

    TEXT = lib.CURLINFO_TEXT
    HEADER_IN = lib.CURLINFO_HEADER_IN
    HEADER_OUT = lib.CURLINFO_HEADER_OUT
    DATA_IN = lib.CURLINFO_DATA_IN
    DATA_OUT = lib.CURLINFO_DATA_OUT
    SSL_DATA_IN = lib.CURLINFO_SSL_DATA_IN
    SSL_DATA_OUT = lib.CURLINFO_SSL_DATA_OUT


class Poll(enum.IntEnum):
    """The ``what`` argument of the multi socket callback (CURLMOPT_SOCKETFUNCTION(3))."""

    NONE = lib.CURL_POLL_NONE
    IN = lib.CURL_POLL_IN
    OUT = lib.CURL_POLL_OUT
    INOUT = lib.CURL_POLL_INOUT
    REMOVE = lib.CURL_POLL_REMOVE


class CSelect(enum.IntFlag):
    """The event bitmask of curl_multi_socket_action(3)."""

    IN = lib.CURL_CSELECT_IN
    OUT = lib.CURL_CSELECT_OUT
    ERR = lib.CURL_CSELECT_ERR


_MOPT_IDS = {n: v for n, v in _lib_constants("CURLMOPT_").items() if n != "LASTENTRY"}
MOpt = _int_enum("MOpt", _MOPT_IDS, "CURLMoption, named without the CURLMOPT_ prefix (curl_multi_setopt(3)).")

#: The base of a CURLMoption's number tells its C type (CURLOPTTYPE_* in curl/curl.h):
#: below 10000 a long, from 30000 a curl_off_t, between them pointers and functions.
MOPT_LONG, MOPT_OBJECTPOINT, MOPT_OFF_T = (
    lib.CURLOPTTYPE_LONG, lib.CURLOPTTYPE_OBJECTPOINT, lib.CURLOPTTYPE_OFF_T
)


# --- pycurl's flat names ------------------------------------------------------

# (C prefix, pycurl prefix): a C name gets a flat name for every prefix it
# matches (pycurl has both VERSION_SSL and CURL_VERSION_SSL, USESSL_ALL and
# FTPSSL_ALL); names beyond these prefixes (CURLFORM_* ...) are not exported.
_FLAT_PREFIXES = (
    ("CURLE_", "E_"),
    ("CURLM_", "E_MULTI_"),
    ("CURLM_CALL_MULTI_PERFORM", "E_CALL_MULTI_PERFORM"),
    ("CURLUSESSL_", "FTPSSL_"),
    ("CURLHSTS_", "CURLHSTS_"),
    ("CURL_VERSION_", "CURL_VERSION_"),
    ("CURLMOPT_", "M_"),
    ("CURLSOCKTYPE_", "SOCKTYPE_"),
    ("CURL_SOCKOPT_", "SOCKOPT_"),
    ("CURL_SOCKET_", "SOCKET_"),
    ("CURL_POLL_", "POLL_"),
    ("CURL_CSELECT_", "CSELECT_"),
    ("CURLPAUSE_", "PAUSE_"),
    ("CURL_READFUNC_", "READFUNC_"),
    ("CURL_WRITEFUNC_", "WRITEFUNC_"),
    ("CURL_SEEKFUNC_", "SEEKFUNC_"),
    ("CURL_PREREQFUNC_", "PREREQFUNC_"),
    ("CURLAUTH_", "HTTPAUTH_"),
    ("CURLPROXY_", "PROXYTYPE_"),
    ("CURL_IPRESOLVE_", "IPRESOLVE_"),
    ("CURL_SSLVERSION_", "SSLVERSION_"),
    ("CURLPROTO_", "PROTO_"),
    ("CURLUSESSL_", "USESSL_"),
    ("CURL_NETRC_", "NETRC_"),
    ("CURL_TIMECOND_", "TIMECONDITION_"),
    ("CURLFTPMETHOD_", "FTPMETHOD_"),
    ("CURLFTPAUTH_", "FTPAUTH_"),
    ("CURLFTPSSL_CCC_", "FTPSSL_CCC_"),
    ("CURLFTP_CREATE_DIR", "FTP_CREATE_DIR"),
    ("CURLSSH_AUTH_", "SSH_AUTH_"),
    ("CURLSSLOPT_", "SSLOPT_"),
    ("CURL_REDIR_", "REDIR_"),
    ("CURLHEADER_", "HEADER_"),
    ("CURL_VERSION_", "VERSION_"),
    ("CURL_GLOBAL_", "GLOBAL_"),
    ("CURL_HTTP_VERSION_", "CURL_HTTP_VERSION_"),
    ("CURLGSSAPI_DELEGATION_", "GSSAPI_DELEGATION_"),
    ("CURLPIPE_", "PIPE_"),
    ("CURL_RTSPREQ_", "RTSPREQ_"),
    ("CURL_LOCK_DATA_", "LOCK_DATA_"),
    ("CURLALTSVC_", "ALTSVC_"),
    ("CURLMSG_", "MSG_"),
    ("CURLMNOTIFY_", "M_NOTIFY_"),
)


#: pycurl names these long options after their _LARGE (curl_off_t) twins.
_PYCURL_LARGE = ("INFILESIZE", "MAXFILESIZE", "POSTFIELDSIZE", "RESUME_FROM")


def _flat_names() -> dict[str, int]:
    flat: dict[str, int] = dict(OPTION_IDS)
    for name in _PYCURL_LARGE:
        if name + "_LARGE" in OPTION_IDS:
            flat[name] = OPTION_IDS[name + "_LARGE"]
    for name, value in OPTION_IDS.items():
        if name.startswith("RTSP_"):  # pycurl's OPT_RTSP_* names
            flat["OPT_" + name] = value
    for name, value in INFO_IDS.items():
        if name in OPTION_IDS:  # FILETIME is the option; OPT_/INFO_ say which
            flat["OPT_" + name] = OPTION_IDS[name]
        flat.setdefault(name, value)
        flat["INFO_" + name] = value
    for member in InfoType:
        flat["INFOTYPE_" + member.name] = member.value
    # Each C name with the _FLAT_PREFIXES it starts with, in their order: the
    # names of one prefix are a slice of the sorted list (found by bisection,
    # not by 44 startswith calls per name: this runs at import).
    cnames = sorted(dir(lib))
    prefixes_of: dict[str, list[tuple[str, str]]] = {}
    for cprefix, pyprefix in _FLAT_PREFIXES:
        start = bisect.bisect_left(cnames, cprefix)
        for cname in cnames[start:bisect.bisect_left(cnames, cprefix + "\x7f", start)]:
            prefixes_of.setdefault(cname, []).append((cprefix, pyprefix))
    for cname in sorted(prefixes_of):
        if cname.endswith(("_LASTENTRY", "_LASTONE")):
            continue  # an enum end pycurl does not export
        value = _as_c_long(getattr(lib, cname))
        for cprefix, pyprefix in prefixes_of[cname]:
            flat.setdefault(pyprefix + cname[len(cprefix):], value)
    return flat


def _c_value(c_name: str) -> int | None:
    """The value of a C constant for the loaded libcurl; None if it does not have it.

    CURLOPT_X comes from the run-time option table (an option of a newer
    libcurl.so than the header counts), anything else from the header, as the
    C long pycurl's insint() makes of it.
    """
    if c_name.startswith("CURLOPT_"):
        return OPTION_IDS.get(c_name[len("CURLOPT_"):])
    value = getattr(lib, c_name, None)
    return None if value is None else _as_c_long(value)


def _pycurl_names() -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int]]:
    """(flat, curl, multi, share): pycurl's table over the derived names; one int object each."""
    flat = _flat_names()
    scoped: dict[str, dict[str, int]] = {"module": {}, "curl": {}, "multi": {}, "share": {}}
    for name, c_name, scope in NAMES:
        value = _c_value(c_name)
        if value is not None:  # pycurl's #if gates, decided by the loaded libcurl
            flat[name] = scoped[scope][name] = value
    return flat, scoped["curl"], scoped["multi"], scoped["share"]


#: Every flat name, pycurl-style: URL, RESPONSE_CODE, E_COULDNT_CONNECT, ...
#: CURL_CONSTANTS, MULTI_CONSTANTS, SHARE_CONSTANTS: the names pycurl also makes
#: readable on Curl, CurlMulti and CurlShare objects (``c.URL``), each value the
#: very int object FLAT holds (``c.URL is pycurl.URL``).
FLAT, CURL_CONSTANTS, MULTI_CONSTANTS, SHARE_CONSTANTS = _pycurl_names()


#: Enums built on first use (a few hundred members: about 2 ms of import time):
#: name -> (members, docstring).  The binding itself uses the plain dicts.
_LAZY_ENUMS = {
    "Opt": (OPTION_IDS, "CURLoption, named without the CURLOPT_ prefix (curl_easy_setopt(3))."),
    "Info": (INFO_IDS, "CURLINFO, named without the CURLINFO_ prefix (curl_easy_getinfo(3))."),
}


if TYPE_CHECKING:  # built by __getattr__ below; typed member by member in __init__.pyi
    Opt: Any
    Info: Any


def __getattr__(name: str) -> Any:
    spec = _LAZY_ENUMS.get(name)
    if spec is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = _int_enum(name, *spec)
    return value
