"""The compiled module, imported once, checked, and libcurl's global initialisation.

curl_global_init() is not thread-safe on every libcurl, so it runs exactly
once, under a lock, when pycurlcb is first imported.
"""

from __future__ import annotations

import threading

try:
    from ._curl import ffi, lib
except ImportError as _exc:  # the loader's "libcurl.so.4: cannot open shared object file"
    if "libcurl" not in str(_exc):
        raise
    raise ImportError(
        f"{_exc}.  pycurlcb needs libcurl 7.73.0 or newer as libcurl.so.4: install it "
        "(Debian/Ubuntu: apt-get install libcurl4; Fedora/RHEL: dnf install libcurl; "
        "Alpine: apk add libcurl), or point LD_LIBRARY_PATH at a directory holding it.  "
        "For a libcurl of another name (libcurl-gnutls.so.4), build pycurlcb from its sdist "
        "against that libcurl: see docs/installing.md"
    ) from _exc

__all__ = [
    "LOADED_VERSION", "MIN_VERSION", "c_range", "ffi", "global_cleanup", "global_init",
    "has_function", "lib", "version_text",
]


def c_range(ctype: str, signed: bool = True) -> tuple[int, int]:
    """The smallest and largest value of the C integer type ``ctype``."""
    bits: int = ffi.sizeof(ctype) * 8
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def version_text(num: int) -> str:
    """'7.88.1' for LIBCURL_VERSION_NUM 0x075801."""
    return f"{num >> 16}.{(num >> 8) & 0xFF}.{num & 0xFF}"


#: The oldest libcurl pycurlcb runs on: 7.73.0, curl_easy_option_next(3).
MIN_VERSION = 0x074900

#: LIBCURL_VERSION_NUM of the loaded libcurl (which may be older or newer than the headers).
LOADED_VERSION: int = lib.curl_version_info(lib.CURLVERSION_NOW).version_num


def has_function(name: str) -> bool:
    """True if the loaded libcurl has ``name`` (a ``function`` row of _features.FEATURES:
    referenced weakly, ffi/src/weak.c) and the headers pycurlcb was built against declare it."""
    return hasattr(lib, "pcb_has_function") and bool(lib.pcb_has_function(name.encode("ascii")))


def _check_version() -> None:
    """Refuse a libcurl older than 7.73.0.  Newer headers than the loaded
    libcurl are fine: the functions past 7.73.0 are weak and gated (_features)."""
    if LOADED_VERSION < MIN_VERSION or not has_function("curl_easy_option_next"):
        raise ImportError(
            f"pycurlcb needs libcurl {version_text(MIN_VERSION)} or newer "
            f"(curl_easy_option_next); the libcurl loaded is {version_text(LOADED_VERSION)}"
        )


_lock = threading.Lock()
_initialised = False


def _global_init() -> None:
    global _initialised
    with _lock:
        if _initialised:
            return
        rc = lib.curl_global_init(lib.CURL_GLOBAL_DEFAULT)
        if rc != lib.CURLE_OK:
            raise ImportError(f"curl_global_init() failed with CURLcode {rc}")
        _initialised = True


_check_version()
_global_init()

#: The flags curl_global_init(3) accepts.
_GLOBAL_FLAGS = lib.CURL_GLOBAL_ALL | getattr(lib, "CURL_GLOBAL_ACK_EINTR", 0)


def global_init(flags: int) -> None:
    """curl_global_init(3), as pycurl: ``flags`` from GLOBAL_* (ValueError for others).

    pycurlcb initialises libcurl at import; libcurl counts these calls, so
    each global_init wants a matching global_cleanup.
    """
    if not isinstance(flags, int) or type(flags) is bool:
        raise TypeError(f"global_init() expects int flags, not {type(flags).__name__}")
    if flags & ~_GLOBAL_FLAGS:
        raise ValueError(f"invalid option to global_init: {flags:#x} (GLOBAL_* flags expected)")
    with _lock:
        rc = lib.curl_global_init(flags)
    if rc != lib.CURLE_OK:
        raise ValueError(f"curl_global_init({flags:#x}) failed with CURLcode {rc}")


def global_cleanup() -> None:
    """curl_global_cleanup(3): undoes one global_init()."""
    with _lock:
        lib.curl_global_cleanup()
