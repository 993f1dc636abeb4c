"""Every libcurl feature gate, one row each, with the libcurl version that brings it.

pycurlcb is built against one ``<curl/curl.h>`` and runs on whatever
libcurl.so.4 is loaded, older or newer (docs/libcurl-versions.md).  A feature
can therefore be missing at two times, and each row says which:

* ``header``: the headers pycurlcb was built against lack it (a constant, or a
  cdef file build_ffi.py reads only from ``since``: its CDEF_FILES, which
  tests/test_layers.py checks against the ``decl`` rows here);
* ``function``: a function past 7.73.0, referenced weakly (ffi/src/weak.c):
  both the headers and the loaded libcurl must have it (``pcb_has_function``);
* ``loaded``: the loaded libcurl's version decides (curl_version_info(3));
  a row with ``until`` is a bug of the versions ``since`` <= v < ``until``;
* ``protocol``: the loaded libcurl was built with it (curl_version_info(3)'s
  protocols).

Callbacks are gated by their own table (_cbtable.Row.since); this table holds
everything else.  ``available(name)`` answers a row; ``missing(name, what)``
says why not in the words the errors use ("WHAT needs libcurl V or newer; the
libcurl loaded is ..."); ``require(name, what)`` raises it.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

from ._ffi import LOADED_VERSION, MIN_VERSION, has_function, lib, version_text
from .version import version_info

__all__ = ["FEATURES", "Feature", "available", "missing", "require"]


class Feature(NamedTuple):
    """One gate: what it is about, when it came, and which side decides."""

    #: "header", "decl", "function", "loaded" or "protocol" (the module docstring).
    kind: str
    #: The function, constant, cdef file or protocol the row is about.
    subject: str
    #: The first LIBCURL_VERSION_NUM that has it (for a bug: the first that has the bug).
    since: int
    #: What pycurlcb does with it, and what it does without.
    note: str
    #: For a bug: the first version without it.
    until: Optional[int] = None


FEATURES: dict[str, Feature] = {
    # --- cdef files build_ffi.py reads only from headers this new -------------------------
    "hsts.h": Feature("decl", "hsts.h", 0x074A00, "HSTSREAD/HSTSWRITEFUNCTION's struct curl_hstsentry"),
    "ws.h": Feature("decl", "ws.h", 0x075600, "curl_ws_recv/send/meta and struct curl_ws_frame"),
    "notify.h": Feature("decl", "notify.h", 0x081100, "curl_multi_notify_enable/disable"),
    # --- functions past 7.73.0, weak (ffi/src/weak.c) --------------------------------------
    "curl_easy_option_next": Feature(
        "function", "curl_easy_option_next", MIN_VERSION,
        "the run-time option table; the oldest libcurl pycurlcb runs on (_ffi refuses an older one)"),
    "curl_url_strerror": Feature(
        "function", "curl_url_strerror", 0x075000, "UrlError's text; without it, the CURLUE_* name"),
    "curl_ws_recv": Feature(
        "function", "curl_ws_recv", 0x075600, "websockets: curl_ws_recv, curl_ws_send, curl_ws_meta"),
    "curl_multi_notify_enable": Feature(
        "function", "curl_multi_notify_enable", 0x081100, "CurlMulti.notify_enable/notify_disable"),
    # --- constants of the headers built against --------------------------------------------
    "CURLUE_NO_ZONEID": Feature(
        "header", "CURLUE_NO_ZONEID", 0x075100, "CurlUrl: an absent zone id is None, not an error"),
    "CURLMNOTIFY_INFO_READ": Feature(
        "header", "CURLMNOTIFY_INFO_READ", 0x081100, "AsyncCurlMulti: libcurl says when to info_read()"),
    # --- the loaded libcurl's version ------------------------------------------------------
    "prereq": Feature(
        "loaded", "CURLOPT_PREREQFUNCTION", 0x075000,
        "the SSRF guard re-checks a reused connection's peer; without it guarded transfers FRESH_CONNECT"),
    "zoneid_code": Feature(
        "loaded", "CURLUE_NO_ZONEID", 0x075100,
        "before it, curl_url_get gives CURLUE_UNKNOWN_PART for an absent zone id"),
    "multi_bulk": Feature(
        "loaded", "bulk bodies in a multi", 0x075800,
        "more than one chunk per driving call, so a CurlMulti buffers bodies in C (docs/performance.md)"),
    "notify_loaded": Feature(
        "loaded", "CURLMOPT_NOTIFYFUNCTION", 0x081100, "AsyncCurlMulti's info_read() notifications"),
    "sockopt_already_connected_broken": Feature(
        "loaded", "CURL_SOCKOPT_ALREADY_CONNECTED", 0x075800,
        "ignored by 7.88.0 and 7.88.1 (curl/curl#10626): pycurlcb warns once", until=0x075802),
    # --- what the loaded libcurl was built with --------------------------------------------
    "ws": Feature("protocol", "ws", 0x075600, "websockets (7.86.0 to 8.10 build them only on request)"),
}


_PROBES: dict[str, Callable[[Feature], bool]] = {
    "decl": lambda f: lib.LIBCURL_VERSION_NUM >= f.since,
    "header": lambda f: hasattr(lib, f.subject),
    "function": lambda f: has_function(f.subject),
    "loaded": lambda f: f.since <= LOADED_VERSION < (f.until if f.until is not None else 1 << 32),
    "protocol": lambda f: f.subject in version_info()[8],
}


def available(name: str) -> bool:
    """True if the row ``name`` of FEATURES is there (for a bug: the loaded libcurl has it)."""
    row = FEATURES[name]
    return _PROBES[row.kind](row)


def missing(name: str, what: str) -> Optional[str]:
    """None if ``name`` is available; else why not, as the errors say it:
    "WHAT needs libcurl V or newer; pycurlcb was built against libcurl H headers"
    (or "; the libcurl loaded is L"), or, for a protocol, "libcurl L was built
    without WHAT ("ws" is not in version_info()[8])"."""
    if available(name):
        return None
    row = FEATURES[name]
    if row.kind == "protocol":
        return (f"libcurl {version_info()[1]} was built without {what} "
                f'("{row.subject}" is not in version_info()[8])')
    since = version_text(row.since)
    if row.kind in ("decl", "header") or (row.kind == "function" and lib.LIBCURL_VERSION_NUM < row.since):
        return (f"{what} needs libcurl {since} or newer; pycurlcb was built against libcurl "
                f"{version_text(lib.LIBCURL_VERSION_NUM)} headers")
    return f"{what} needs libcurl {since} or newer; the libcurl loaded is {version_text(LOADED_VERSION)}"


def require(name: str, what: str, exc: Callable[[str], BaseException] = NotImplementedError) -> None:
    """Raise ``exc(missing(name, what))`` if the row ``name`` is not available."""
    why = missing(name, what)
    if why is not None:
        raise exc(why)
