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
  until the collection ends (``after_finalisers``).  So a CurlMulti's cached
  connections are closed by its ``close()``, with the Curls' closesocket
  callables, not by its release, which runs no Python.
* A handle object owns one C handle: copy, deepcopy and pickle raise TypeError.
* No ``__getattr__``/``__delattr__`` hook: a missing attribute raises
  Python's own AttributeError ("'Curl' object has no attribute 'URLL'. Did
  you mean: 'URL'?"), and attribute access stays on CPython's fast path.
"""

from __future__ import annotations

import gc
from collections import deque
from typing import Any, Callable, NoReturn, TypeVar

from ._callbacks import close_unclosed, collecting, report_unraisable

_T = TypeVar("_T", bound="Handle")

#: The releases the collector ran (after_finalisers), to run when it ends.
_deferred: deque[tuple[Callable[[Any], None], Any]] = deque()


def _on_collection(
    phase: str,
    info: dict[str, int],
    collecting: list[bool] = collecting,
    deferred: deque[tuple[Callable[[Any], None], Any]] = _deferred,
    close_unclosed: Callable[[], None] = close_unclosed,
) -> None:
    """gc.callbacks: note a collection (``_callbacks.collecting``); at its end
    run the releases it deferred, then close the sockets no Curl's __del__
    took (``_callbacks._closesocket``).

    (The defaults bind what it needs: at interpreter exit the module's globals
    may already be gone.)
    """
    collecting[0] = phase == "start"
    if phase == "stop":
        while deferred:
            release, cdata = deferred.popleft()
            release(cdata)  # calls no user code; what it would raise gc reports itself
        close_unclosed()


#: CPython runs gc.callbacks at the start and end of every collection.  PyPy has
#: none, and needs none: its collector runs finalisers (``__del__`` and the
#: ffi.gc releases alike) after the collection, an object's before those of
#: the objects it references, so a handle's ``__del__`` always comes before
#: the release of the cdata it holds (see after_finalisers).
GC_HOOKED = hasattr(gc, "callbacks")
if GC_HOOKED:
    gc.callbacks.append(_on_collection)


def after_finalisers(release: Callable[[Any], None]) -> Callable[[Any], None]:
    """``release`` for ``ffi.gc``, run after the handle's ``__del__``.

    When the collector frees a reference cycle, it finalises every object of
    it before freeing any, in an order it does not promise: the ffi.gc cdata
    may come before the handle that owns it.  Run then, ``release`` (which
    calls no Python) would close the C handle first, and the handle's
    ``__del__`` (which closes with the Python callbacks) would find it closed.
    So a release the collector runs waits, holding ``cdata``, until the
    collection ends; by then the handle's ``__del__`` has run, and ``release``
    finds the C handle closed (every release is idempotent).  At interpreter
    exit the collector runs without gc.callbacks, and releases run at once.

    On PyPy (no gc.callbacks, ``GC_HOOKED`` false) ``release`` runs at once:
    PyPy finalises in reference order (the handle, which holds the cdata,
    before the cdata), so the handle's ``__del__`` has already run.
    """
    if not GC_HOOKED:
        return release

    def run(cdata: Any, collecting: list[bool] = collecting,
            deferred: deque[tuple[Callable[[Any], None], Any]] = _deferred) -> None:
        if collecting[0]:
            deferred.append((release, cdata))
        else:
            release(cdata)

    return run


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
