"""pycurlcb: the system libcurl from Python, with its socket callbacks.

``import pycurlcb as pycurl`` is a drop-in for pycurl 7.49: Curl, CurlMulti,
CurlShare, CurlMime, CurlUrl, AsyncCurlMulti, every pycurl constant (URL,
RESPONSE_CODE, E_COULDNT_CONNECT, SOCKTYPE_IPCXN, POLL_IN ...) and pycurl's
module functions.  AsyncCurlMulti (and asyncio with it) is imported on first
use.
"""

from __future__ import annotations

from typing import Any

from . import form as _form  # noqa: F401 - registers setopt(HTTPPOST)
from ._callbacks import FileInfo, HstsEntry, HstsIndex, KhKey
from ._ffi import global_cleanup, global_init
from .constants import (
    FLAT,
    CSelect,
    InfoType,
    MOpt,
    Poll,
    SockOpt,
    SockType,
)
from .easy import Curl
from .errors import (
    CallbackError,
    CurlConnectionError,
    CurlTimeoutError,
    CurlTLSError,
    MultiError,
    ShareError,
    UrlError,
    easy_strerror,
    error,
    multi_strerror,
    share_strerror,
    url_strerror,
)
from .mime import CurlMime, CurlMimePart
from .multi import CurlMulti
from .share import CurlShare
from .sockaddr import CurlSockAddr
from .url import CurlUrl
from .version import (
    COMPILE_LIBCURL_VERSION_NUM,
    COMPILE_PY_VERSION_HEX,
    COMPILE_SSL_LIB,
    LIBCURL_VERSION_NUM,
    version,
    version_info,
)
from .version import __version__ as __version__
from .ws import WsFrame

globals().update(FLAT)

#: Imported on first use (asyncio costs more than the rest of pycurlcb; the
#: Opt and Info enums are built when first asked for).
_LAZY = {
    "Opt": ("constants", "Opt"),
    "Info": ("constants", "Info"),
    "AsyncCurlMulti": ("async_multi", "AsyncCurlMulti"),
    "async_multi": ("async_multi", None),
    "aio": ("async_multi", None),  # the module's earlier name
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'pycurlcb' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{target[0]}", __name__)
    value = module if target[1] is None else getattr(module, target[1])
    globals()[name] = value
    return value


__all__ = [
    "AsyncCurlMulti",
    "Curl",
    "CurlMime",
    "CurlMimePart",
    "CurlMulti",
    "CurlShare",
    "CurlUrl",
    "CurlSockAddr",
    "CSelect",
    "FileInfo",
    "HstsEntry",
    "HstsIndex",
    "Info",
    "InfoType",
    "KhKey",
    "MOpt",
    "Opt",
    "Poll",
    "SockOpt",
    "SockType",
    "error",
    "CallbackError",
    "CurlConnectionError",
    "CurlTimeoutError",
    "CurlTLSError",
    "MultiError",
    "ShareError",
    "UrlError",
    "WsFrame",
    "easy_strerror",
    "multi_strerror",
    "share_strerror",
    "url_strerror",
    "global_init",
    "global_cleanup",
    "LIBCURL_VERSION_NUM",
    "COMPILE_LIBCURL_VERSION_NUM",
    "COMPILE_PY_VERSION_HEX",
    "COMPILE_SSL_LIB",
    "version",
    "version_info",
    *FLAT,
]
