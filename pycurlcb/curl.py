"""pycurlcb's counterpart of pycurl's deprecated high-level ``curl`` module.

pycurl 7.49 ships a small wrapper, ``import curl``, around one easy handle:
``Curl(base_url).get(path, params)``, ``head``, ``post``, ``body()``,
``header()``, ``info()``.  This is the same interface on pycurlcb, for code
that still uses it; as pycurl's, importing it warns that it is deprecated
(use the Curl class directly).
"""

from __future__ import annotations

import urllib.parse
import warnings
from io import BytesIO
from typing import Any, Optional

from . import Curl as _Easy
from .constants import FLAT

warnings.warn(
    "The 'curl' high-level wrapper module is deprecated and will be removed "
    "in a future release. Use 'pycurl' directly instead.",
    DeprecationWarning,
    stacklevel=2,
)

#: The infos info() reports: (key, constant name), as pycurl's module lists them.
_INFO = (
    ("effective-url", "EFFECTIVE_URL"), ("http-code", "HTTP_CODE"),
    ("total-time", "TOTAL_TIME"), ("namelookup-time", "NAMELOOKUP_TIME"),
    ("connect-time", "CONNECT_TIME"), ("pretransfer-time", "PRETRANSFER_TIME"),
    ("redirect-time", "REDIRECT_TIME"), ("redirect-count", "REDIRECT_COUNT"),
    ("size-upload", "SIZE_UPLOAD"), ("size-download", "SIZE_DOWNLOAD"),
    ("speed-upload", "SPEED_UPLOAD"), ("header-size", "HEADER_SIZE"),
    ("request-size", "REQUEST_SIZE"), ("content-length-download", "CONTENT_LENGTH_DOWNLOAD"),
    ("content-length-upload", "CONTENT_LENGTH_UPLOAD"), ("content-type", "CONTENT_TYPE"),
    ("response-code", "RESPONSE_CODE"), ("speed-download", "SPEED_DOWNLOAD"),
    ("ssl-verifyresult", "SSL_VERIFYRESULT"), ("filetime", "INFO_FILETIME"),
    ("starttransfer-time", "STARTTRANSFER_TIME"), ("http-connectcode", "HTTP_CONNECTCODE"),
    ("httpauth-avail", "HTTPAUTH_AVAIL"), ("proxyauth-avail", "PROXYAUTH_AVAIL"),
    ("os-errno", "OS_ERRNO"), ("num-connects", "NUM_CONNECTS"), ("ssl-engines", "SSL_ENGINES"),
    ("cookielist", "INFO_COOKIELIST"), ("lastsocket", "LASTSOCKET"),
    ("ftp-entry-path", "FTP_ENTRY_PATH"),
)


class Curl:
    """One easy handle with pycurl's high-level defaults.

    ``base_url``: relative URLs given to get/head/post are joined to it.
    ``fakeheaders``: a list of header lines sent with every request.
    Defaults, as pycurl's: follow up to 5 redirects, verify the TLS host name,
    a cookie engine, .netrc, a 30 s timeout (seconds).
    """

    def __init__(self, base_url: str = "", fakeheaders: Optional[list[str]] = None) -> None:
        self.handle: Optional[_Easy] = _Easy()
        self.set_url(base_url)
        self.verbosity = 0
        self.fakeheaders = fakeheaders or []
        self.payload: Optional[bytes] = None
        self.payload_io = BytesIO()
        self.hdr = ""
        for name, value in (
            ("SSL_VERIFYHOST", 2), ("FOLLOWLOCATION", 1), ("MAXREDIRS", 5), ("NOSIGNAL", 1),
            ("COOKIEFILE", "/dev/null"), ("NETRC", 1),
        ):
            self.set_option(FLAT[name], value)
        self.set_timeout(30)
        self.set_option(FLAT["WRITEFUNCTION"], self.payload_io.write)
        self.set_option(FLAT["HEADERFUNCTION"], self._header)

    def _header(self, line: bytes) -> None:
        self.hdr += line.decode("ascii")

    def set_timeout(self, timeout: int) -> None:
        """CURLOPT_TIMEOUT: seconds for a whole request."""
        self.set_option(FLAT["TIMEOUT"], timeout)

    def set_url(self, url: str) -> None:
        """The base URL (relative URLs of get/head/post are joined to it)."""
        self.base_url = url
        self.set_option(FLAT["URL"], url)

    def set_option(self, *args: Any) -> None:
        """Curl.setopt(option, value) on the handle."""
        assert self.handle is not None, "the handle is closed"
        self.handle.setopt(*args)

    def set_verbosity(self, level: int) -> None:
        """CURLOPT_VERBOSE."""
        self.set_option(FLAT["VERBOSE"], level)

    def _request(self, relative_url: Optional[str] = None) -> bytes:
        assert self.handle is not None, "the handle is closed"
        if self.fakeheaders:
            self.set_option(FLAT["HTTPHEADER"], self.fakeheaders)
        if relative_url:
            self.set_option(FLAT["URL"], urllib.parse.urljoin(self.base_url, relative_url))
        self.payload = None
        self.payload_io.seek(0)
        self.payload_io.truncate()
        self.hdr = ""
        self.handle.perform()
        self.payload = self.payload_io.getvalue()
        return self.payload

    def get(self, url: str = "", params: Any = None) -> bytes:
        """GET ``url`` (relative to the base URL), with ``params`` url-encoded; the body."""
        if params:
            url += "?" + urllib.parse.urlencode(params)
        self.set_option(FLAT["HTTPGET"], 1)
        return self._request(url)

    def head(self, url: str = "", params: Any = None) -> bytes:
        """HEAD ``url``; the (empty) body."""
        if params:
            url += "?" + urllib.parse.urlencode(params)
        self.set_option(FLAT["NOBODY"], 1)
        return self._request(url)

    def post(self, cgi: str, params: Any) -> bytes:
        """POST ``params`` url-encoded to ``cgi``; the body."""
        self.set_option(FLAT["POST"], 1)
        self.set_option(FLAT["POSTFIELDS"], urllib.parse.urlencode(params))
        return self._request(cgi)

    def body(self) -> Optional[bytes]:
        """The body of the last response."""
        return self.payload

    def header(self) -> str:
        """The header lines of the last response."""
        return self.hdr

    def get_info(self, *args: Any) -> Any:
        """Curl.getinfo(info) on the handle."""
        assert self.handle is not None, "the handle is closed"
        return self.handle.getinfo(*args)

    def info(self) -> dict[str, Any]:
        """Every info of the last response, by pycurl's key names (the deprecated
        ones warn, as in pycurl)."""
        return {key: self.get_info(FLAT[name]) for key, name in _INFO}

    def answered(self, check: bytes) -> bool:
        """Whether ``check`` occurs in the last body."""
        return self.payload is not None and self.payload.find(check) >= 0

    def close(self) -> None:
        """Close the handle."""
        if self.handle is not None:
            self.handle.close()
        self.handle = None
        self.hdr = ""
        self.payload = b""

    def __del__(self) -> None:
        self.close()
