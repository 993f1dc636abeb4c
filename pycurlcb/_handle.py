"""The lifecycle Curl and CurlMulti share: an explicit, idempotent close().

No ``ffi.gc`` on CURL*/CURLM*: finaliser order is random, and libcurl may call
back into Python while it cleans up.  ``close()`` runs from ``__del__`` only as
a fallback, never while the handle is inside a libcurl call.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ._ffi import ffi

_T = TypeVar("_T", bound="Closable")


class Closable:
    """``closed``, ``with handle:``, and close() as the finaliser's fallback."""

    _handle: Any  # the CURL* or CURLM*, ffi.NULL once closed
    _busy: bool  # inside a libcurl call that may run callbacks

    def close(self) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """True once close() has run."""
        return bool(self._handle == ffi.NULL)

    def __del__(self) -> None:
        try:
            if self._handle != ffi.NULL and not self._busy:
                self.close()
        except BaseException:  # noqa: B036 - nowhere to raise to from a finaliser
            pass

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
