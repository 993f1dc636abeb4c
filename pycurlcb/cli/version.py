"""``--version``: pycurlcb's version, and libcurl's with its protocols and features.

Read from the loaded libcurl (curl_version(3), curl_version_info(3)) through
pycurlcb's ``version`` and ``version_info()``; the feature names are those of
the CURL_VERSION_* bits (pycurl's VERSION_* constants) the library reports.
"""

from __future__ import annotations

import platform

import pycurlcb


def features(bits: int) -> list[str]:
    """The names of the CURL_VERSION_* bits set in ``bits``, one name per bit, sorted."""
    names: dict[int, str] = {}
    for name in sorted(dir(pycurlcb)):
        if name.startswith("VERSION_"):
            value = getattr(pycurlcb, name)
            if isinstance(value, int) and value > 0 and value & (value - 1) == 0 and bits & value:
                names.setdefault(value, name[len("VERSION_"):])
    return sorted(names.values())


def libcurl_version(short: bool = False) -> str:
    """``libcurl/7.88.1 OpenSSL/3.0.11 zlib/1.2.13 ...`` (curl_version(3)); ``short``: the first word.

    ``pycurlcb.version`` is pycurl's ``PycURL/7.49.0 libcurl/... pycurlcb/0.1.0``:
    the words from ``libcurl/`` on, less the ``pycurlcb/`` one (``--version``
    names pycurlcb first already).
    """
    text = pycurlcb.version
    text = text[text.find("libcurl/"):] if "libcurl/" in text else text
    words = [w for w in text.split() if not w.startswith("pycurlcb/")]
    return words[0] if short and words else " ".join(words)


def version_text() -> str:
    """Three or four lines, as ``curl --version`` prints them."""
    info = pycurlcb.version_info()
    protocols, bits = info[8], info[4]
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return "\n".join(
        [
            f"pycurlcb {pycurlcb.__version__} ({python}) {libcurl_version()}",
            f"Protocols: {' '.join(protocols)}",
            f"Features: {' '.join(features(bits))}",
        ]
    )
