"""Skip marks for what the loaded libcurl lacks: older than the version that added it,
or built without the feature.  A marked test runs, and asserts, wherever libcurl has it.

    @needs("CAINFO_BLOB", "7.77.0")      # a name pycurlcb exposes only when libcurl has it
    @needs_feature("HSTS", "7.77.0 (or 7.74.0+ built with HSTS)")   # a VERSION_* bit
    @needs_version("7.81.0", "CURLUE_NO_ZONEID")                     # the loaded version
"""

from __future__ import annotations

import pytest

import pycurlcb

#: The loaded libcurl's version number (0x075801 for 7.88.1).
VERSION_NUM: int = pycurlcb.version_info()[2]


#: The headers pycurlcb was built against are newer than the loaded libcurl (the binary
#: wheel, built against 8.21.0's, on an older libcurl.so.4): names of the headers' CURLINFO_*
#: and CURLMOPT_* values exist that the loaded libcurl answers with "unknown option".
HEADERS_NEWER: bool = pycurlcb.COMPILE_LIBCURL_VERSION_NUM > VERSION_NUM


def unknown_to_loaded(exc: BaseException, code: int) -> bool:
    """Whether ``exc`` is libcurl's ``code`` (E_UNKNOWN_OPTION, E_MULTI_UNKNOWN_OPTION) for a
    name of headers newer than the loaded libcurl."""
    return HEADERS_NEWER and isinstance(exc, pycurlcb.error) and exc.args[0] == code


def version_num(text: str) -> int:
    """0x075100 for '7.81.0'."""
    major, minor, patch = (int(x) for x in text.split("."))
    return (major << 16) | (minor << 8) | patch


def has(name: str) -> bool:
    """Whether pycurlcb has ``name`` (an option, constant or function of the loaded libcurl)."""
    return hasattr(pycurlcb, name)


def needs(name: str, version: str) -> pytest.MarkDecorator:
    """Skip unless pycurlcb has ``name``, which libcurl ``version`` added."""
    return pytest.mark.skipif(not has(name), reason=f"{name} needs libcurl {version}")


def has_feature(bit: str) -> bool:
    """Whether curl_version_info's features have VERSION_<bit> (False if pycurlcb lacks the bit)."""
    mask = getattr(pycurlcb, f"VERSION_{bit}", 0)
    return bool(mask and pycurlcb.version_info()[4] & mask)


def needs_feature(bit: str, version: str) -> pytest.MarkDecorator:
    """Skip unless the loaded libcurl has the feature VERSION_<bit>."""
    return pytest.mark.skipif(not has_feature(bit), reason=f"{bit} needs libcurl {version}")


def needs_version(version: str, what: str) -> pytest.MarkDecorator:
    """Skip on a libcurl older than ``version`` (for ``what``, a behaviour it added)."""
    return pytest.mark.skipif(VERSION_NUM < version_num(version), reason=f"{what} needs libcurl {version}")
