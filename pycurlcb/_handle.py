"""The lifecycle every pycurlcb handle type shares (Curl, CurlMulti, CurlShare ...).

* ``close()`` is explicit and idempotent; ``closed`` says whether it ran; the
  handle is a context manager.
* ``__del__`` is pycurl's finaliser: it closes the handle with its Python
  callbacks enabled; close() hands what they raise to ``sys.unraisablehook``
  (teardown has nobody to raise to), and so does __del__ with close()'s own
  refusal (``__del__()`` called from inside a running transfer).  A subclass whose ``__del__`` does not
  call ``super().__del__()`` skips that: the C release attached with ffi.gc
  then frees the libcurl handle when the object is collected, without calling
  Python (handles.h).
* The C release attached with ffi.gc runs after the handle's ``__del__`` even
  when both are garbage in one reference cycle, where the collector
  finalises objects in no set order: a release the collector runs is kept
  until the collection ends (``_lifetime.after_finalisers``).  So a CurlMulti's cached
  connections are closed by its ``close()``, with the Curls' closesocket
  callables, not by its release, which runs no Python.
* A handle object owns one C handle: copy, deepcopy and pickle raise TypeError.
* No ``__getattr__``/``__delattr__`` hook: a missing attribute raises
  Python's own AttributeError ("'Curl' object has no attribute 'URLL'. Did
  you mean: 'URL'?"), and attribute access stays on CPython's fast path.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

from ._lifetime import report_unraisable

_T = TypeVar("_T", bound="Handle")

class Handle:
    """The lifecycle of a pycurlcb handle; subclasses implement close() and closed."""

    #: False until __init__ has made the C handle: a failed __init__ leaves
    #: nothing for __del__ to do.
    _ready = False

    def close(self) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    def __del__(self) -> None:
        if not self._ready:
            return
        try:
            self.close()  # reports what callbacks raise itself
        except BaseException as exc:  # noqa: B036 - nowhere to raise to from a finaliser
            if report_unraisable is not None:  # None: the interpreter is exiting
                report_unraisable(exc, f"{type(self).__name__}.__del__", self)

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __copy__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} objects do not support copying")

    def __deepcopy__(self, memo: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} objects do not support copying")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} objects do not support serialization")
