"""libcurl's version, as pycurl reports it (curl_version(3), curl_version_info(3)),
pycurl's build-information names (COMPILE_*), and pycurlcb's own version.

``__version__`` below is the one place pycurlcb's version is written:
pyproject.toml reads it (``dynamic = ["version"]``), build_ffi.py records it in
the compiled module, and importing this module refuses a compiled module built
for another version (a stale ``_curl*.so`` after an update of the sources).
"""

from __future__ import annotations

import re
import sys
from typing import Any, Optional

from ._ffi import ffi, lib
from ._pycurl_names import PYCURL_VERSION

#: pycurlcb's own version: the only place it is written (see the module docstring).
__version__ = "0.1.0"


def check_build(built: Optional[str]) -> None:
    """Refuse a compiled module built for another pycurlcb version (ImportError).

    ``built`` is the version build_ffi.py recorded in it (None: a module from
    before versions were recorded).
    """
    if built != __version__:
        what = f"pycurlcb {built}" if built else "an older pycurlcb (no version recorded)"
        raise ImportError(
            f"pycurlcb's compiled module ({_ffi_file()}) was built for {what}, but its Python files are "
            f"pycurlcb {__version__}: rebuild it (pip install --force-reinstall pycurlcb, or in a "
            "checkout `make venv` / pip install -e .)"
        )


def _ffi_file() -> str:
    from . import _curl

    return str(getattr(_curl, "__file__", "pycurlcb._curl"))


def _built_version() -> Optional[str]:
    fn = getattr(lib, "pcb_build_version", None)
    return None if fn is None else ffi.string(fn()).decode("ascii")


check_build(_built_version())


def _str(p: Any) -> Optional[str]:
    return None if p == ffi.NULL else ffi.string(p).decode("utf-8", "replace")


def _libcurl_version() -> str:
    return str(ffi.string(lib.curl_version()).decode("utf-8", "replace"))


CURLVERSION_NOW: int = lib.CURLVERSION_NOW
"""The newest curl_version_info_data layout of the headers: version_info()'s default ``stamp``."""


def version_info(stamp: int = CURLVERSION_NOW) -> tuple[Any, ...]:
    """curl_version_info(3) as pycurl's tuple: (age, version, version_num, host,
    features, ssl_version, ssl_version_num, libz_version, protocols, ares,
    ares_num, libidn, iconv_ver_num, libssh_version, brotli_ver_num,
    brotli_version); ``protocols`` is a tuple of str.

    ``stamp`` is accepted as pycurl accepts it (a CURLVERSION_* int, which
    libcurl ignores: it always fills the newest struct); TypeError for a non-int.
    """
    if not isinstance(stamp, int) or type(stamp) is bool:
        raise TypeError(f"version_info() argument must be int, not {type(stamp).__name__}")
    d = lib.curl_version_info(lib.CURLVERSION_NOW)
    protocols = []
    i = 0
    while d.protocols[i] != ffi.NULL:
        protocols.append(ffi.string(d.protocols[i]).decode("ascii"))
        i += 1
    return (
        d.age, _str(d.version), d.version_num, _str(d.host), d.features,
        _str(d.ssl_version), d.ssl_version_num, _str(d.libz_version), tuple(protocols),
        _str(d.ares), d.ares_num, _str(d.libidn), d.iconv_ver_num, _str(d.libssh_version),
        d.brotli_ver_num, _str(d.brotli_version),
    )


LIBCURL_VERSION_NUM: int = lib.curl_version_info(lib.CURLVERSION_NOW).version_num
"""The loaded libcurl's version number, e.g. 0x075801 for 7.88.1."""

version: str = f"PycURL/{PYCURL_VERSION} {_libcurl_version()} pycurlcb/{__version__}"
"""pycurl's version string with ours appended: ``'PycURL/7.49.0 libcurl/7.88.1
OpenSSL/3.0.19 ... pycurlcb/0.1.0'`` (pycurl: ``'PycURL/'`` + its version + ``' '`` +
curl_version(3)); the pycurl version is the one whose names pycurlcb offers."""
USER_AGENT: str = version
"""The default CURLOPT_USERAGENT of a new Curl: pycurl sends its version string."""

COMPILE_LIBCURL_VERSION_NUM: int = lib.LIBCURL_VERSION_NUM
"""LIBCURL_VERSION_NUM of the ``<curl/curl.h>`` pycurlcb was compiled against
(LIBCURL_VERSION_NUM is the loaded library's, which may be newer or, down to
7.73.0, older: the binary wheel is built against 8.21.0's)."""
COMPILE_PY_VERSION_HEX: int = (
    lib.pcb_build_py_version_hex() if hasattr(lib, "pcb_build_py_version_hex") else sys.hexversion
)
"""pycurl: PY_VERSION_HEX of the Python headers it was compiled with, which
build_ffi.py records in the compiled module (a module that does not record it
gives sys.hexversion).  The module uses the stable ABI (``_curl.abi3.so``, a
``cp39-abi3`` wheel), so the interpreter running it may be newer."""

# (curl_version_info ssl_version prefix, pycurl's name): the table pycurl's module
# init uses to check that the loaded libcurl's TLS library is the one it was built
# for (pycurl src/module.c and src/pycurl.h spell the names).
_SSL_LIBS = (
    ("OpenSSL/", "openssl"), ("LibreSSL/", "openssl"), ("BoringSSL", "openssl"),
    ("wolfSSL/", "wolfssl"), ("GnuTLS/", "gnutls"), ("NSS/", "nss"), ("mbedTLS/", "mbedtls"),
    ("Secure Transport", "secure-transport"), ("Schannel", "schannel"),
)


def ssl_lib(ssl_version: Optional[str]) -> str:
    """pycurl's COMPILE_SSL_LIB name for a curl_version_info(3) ssl_version string.

    'openssl', 'wolfssl', 'gnutls', 'nss', 'mbedtls', 'secure-transport',
    'schannel', or 'none/other' (no TLS, or a library pycurl does not name).
    A multi-TLS libcurl puts the backends not in use in parentheses
    ('(OpenSSL/3.0.2) Schannel'); the one in use decides.
    """
    active = re.sub(r"\([^)]*\)", "", ssl_version or "").strip()
    return next((name for prefix, name in _SSL_LIBS if active.startswith(prefix)), "none/other")


COMPILE_SSL_LIB: str = ssl_lib(_str(lib.curl_version_info(lib.CURLVERSION_NOW).ssl_version))
"""The TLS library of the loaded libcurl, named as pycurl's COMPILE_SSL_LIB
('openssl', 'gnutls' ... see ssl_lib())."""
