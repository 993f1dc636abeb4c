"""The compiled module, imported once, and libcurl's global initialisation.

curl_global_init() is not thread-safe on every libcurl, so it runs exactly
once, under a lock, when pycurlcb is first imported.
"""

from __future__ import annotations

import threading

from ._curl import ffi, lib

__all__ = ["c_range", "ffi", "lib"]

def c_range(ctype: str, signed: bool = True) -> tuple[int, int]:
    """The smallest and largest value of the C integer type ``ctype``."""
    bits: int = ffi.sizeof(ctype) * 8
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


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


_global_init()
