"""The compiled module, imported once, checked, and libcurl's global initialisation.

curl_global_init() is not thread-safe on every libcurl, so it runs exactly
once, under a lock, when pycurlcb is first imported.
"""

from __future__ import annotations

import threading

from ._curl import ffi, lib

__all__ = ["c_range", "ffi", "global_cleanup", "global_init", "lib"]


def c_range(ctype: str, signed: bool = True) -> tuple[int, int]:
    """The smallest and largest value of the C integer type ``ctype``."""
    bits: int = ffi.sizeof(ctype) * 8
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _check_version() -> None:
    """Refuse a libcurl older than the headers the module was compiled with:
    calling a function it lacks would end the process, not raise."""
    compiled = lib.LIBCURL_VERSION_NUM
    loaded = lib.curl_version_info(lib.CURLVERSION_NOW).version_num
    if loaded < compiled:

        def text(n: int) -> str:
            return f"{n >> 16}.{(n >> 8) & 0xFF}.{n & 0xFF}"

        raise ImportError(
            f"pycurlcb was built against libcurl {text(compiled)} headers, but the libcurl "
            f"loaded is {text(loaded)}; rebuild pycurlcb against this libcurl "
            "(pip install --force-reinstall --no-binary pycurlcb pycurlcb) or load a "
            f"libcurl {text(compiled)} or newer"
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
