"""pycurlcb: the system libcurl from Python, with its socket callbacks.

``import pycurlcb as pycurl`` works for code written against pycurl's Curl,
CurlMulti and AsyncCurlMulti; every pycurl-style flat constant (URL,
RESPONSE_CODE, E_COULDNT_CONNECT, SOCKTYPE_IPCXN, POLL_IN ...) is a
module attribute.
"""

from __future__ import annotations

from .aio import AsyncCurlMulti
from .constants import (
    FLAT,
    CSelect,
    Info,
    InfoType,
    MOpt,
    Opt,
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
    OptionError,
    error,
)
from .multi import CurlMulti
from .sockaddr import CurlSockAddr
from .version import (
    COMPILE_LIBCURL_VERSION_NUM,
    COMPILE_PY_VERSION_HEX,
    COMPILE_SSL_LIB,
    LIBCURL_VERSION_NUM,
    version,
    version_info,
)
from .version import __version__ as __version__

globals().update(FLAT)

__all__ = [
    "AsyncCurlMulti",
    "Curl",
    "CurlMulti",
    "CurlSockAddr",
    "CSelect",
    "Info",
    "InfoType",
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
    "OptionError",
    "LIBCURL_VERSION_NUM",
    "COMPILE_LIBCURL_VERSION_NUM",
    "COMPILE_PY_VERSION_HEX",
    "COMPILE_SSL_LIB",
    "version",
    "version_info",
    *FLAT,
]
