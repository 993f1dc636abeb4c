"""libcurl's version, as pycurl reports it (curl_version(3), curl_version_info(3))."""

from __future__ import annotations

from typing import Any, Optional

from ._ffi import ffi, lib


def _str(p: Any) -> Optional[str]:
    return None if p == ffi.NULL else ffi.string(p).decode("utf-8", "replace")


def _libcurl_version() -> str:
    return str(ffi.string(lib.curl_version()).decode("utf-8", "replace"))


def version_info() -> tuple[Any, ...]:
    """curl_version_info(3) as pycurl's tuple: (age, version, version_num, host,
    features, ssl_version, ssl_version_num, libz_version, protocols, ares,
    ares_num, libidn, iconv_ver_num, libssh_version, brotli_ver_num,
    brotli_version); ``protocols`` is a tuple of str."""
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


#: The loaded libcurl's version number, e.g. 0x075801 for 7.88.1.
LIBCURL_VERSION_NUM: int = lib.curl_version_info(lib.CURLVERSION_NOW).version_num
#: pycurl-style version string: 'PycURL/<ours> libcurl/7.88.1 OpenSSL/3.0 ...'.
version = "pycurlcb/0.1.0 " + _libcurl_version()
