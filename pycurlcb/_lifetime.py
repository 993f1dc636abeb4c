"""The lifetime model in one place: the clientp registry, orphans, gc deferral, unraisable reporting.

docs/internals.md describes the whole model (who owns each CURL*, CURLM*,
CURLSH*, mime tree, slist and callback handle, and when each is freed).  This
module holds the shared registries it rests on:

* ``STATES``: clientp -> ``Key`` (a weak reference to the handle's callback
  state, and the sockets opened through it).  A clientp is an integer, never
  reused, cast to ``void *`` (``register``): libcurl may hold it long after
  its handle is gone without it pointing at freed memory;
* ``ORPHANS``: closed Curls whose sockets libcurl still holds (a multi's or
  share's connection cache calls CLOSESOCKETFUNCTION later);
* ``UNCLOSED``: sockets libcurl closed through a Curl that was garbage in a
  running collection, for its ``__del__`` (or the collection's end);
* ``collecting`` / ``DEFERRED`` / ``after_finalisers``: a handle's ffi.gc
  release that the collector runs waits until the collection ends, so the
  handle's ``__del__`` (which closes with the callbacks) comes first;
* ``report_unraisable``: what teardown cannot raise goes to sys.unraisablehook.
"""

from __future__ import annotations

import gc
import itertools
import os
import sys
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from ._ffi import ffi

if TYPE_CHECKING:
    from ._failure import State

#: CPython runs gc.callbacks at the start and end of every collection.  PyPy has
#: none, and needs none: its collector runs finalisers (``__del__`` and the
#: ffi.gc releases alike) after the collection, an object's before those of
#: the objects it references, so a handle's ``__del__`` always comes before
#: the release of the cdata it holds (see after_finalisers).  There a
#: registered clientp whose weak reference is dead always means a garbage
#: Curl whose ``__del__`` is still to come, or came without closing it (a
#: Curl released without Python is unregistered first: easy._release), so its
#: fds always wait (UNCLOSED), for that ``__del__`` or for the release, which
#: closes them (close_unclosed_of).
GC_HOOKED = hasattr(gc, "callbacks")


# --- the clientp registry --------------------------------------------------------------


class Key:
    """What a clientp stands for: a weak reference to its state, and the sockets
    opened through it that libcurl has not closed yet (``fds``).

    They live here, in the registry, not on the state: the collector may clear
    the weak reference of a state in a garbage cycle before a multi or share
    of the same cycle closes the state's sockets, and the set must still empty
    then (or the Curl would wait for them as an orphan forever).
    """

    __slots__ = ("ref", "fds")

    def __init__(self, state: State) -> None:
        self.ref = weakref.ref(state)
        #: fd -> the socket's inode when opened (which socket the number was)
        self.fds: dict[int, int] = {}


def socket_inode(fd: int) -> int:
    """The inode of the socket ``fd`` is now (sockets have unique ones), -1 if closed."""
    try:
        return os.fstat(fd).st_ino
    except OSError:
        return -1


#: clientp -> its Key.
STATES: dict[Any, Key] = {}
_keys = itertools.count(1)


def register(state: State) -> Any:
    """A new clientp for ``state``: a key, never reused, cast to void *."""
    clientp = ffi.cast("void *", next(_keys))
    STATES[clientp] = Key(state)
    return clientp


def _ignore(ref: Any) -> None:
    pass


def live_ref(obj: Any) -> Any:
    """A weak reference to ``obj`` that refers to it now, also from a finaliser.

    ``weakref.ref(obj)`` hands back the reference ``obj`` already has.  The
    collector clears that one when ``obj`` is garbage, before the finalisers
    run; CPython then makes a new one, PyPy hands back the cleared one (it
    keeps ``obj`` alive for a finaliser that references it, to run one
    collection later).  A reference with a callback is always a new one.
    """
    ref = weakref.ref(obj)
    return ref if ref() is not None else weakref.ref(obj, _ignore)


def reactivate(clientp: Any, state: State) -> None:
    """Point ``clientp`` at ``state`` again (a finaliser closing with callbacks:
    the collector has already cleared the weak references to garbage)."""
    key = STATES.get(clientp)
    if key is not None:
        key.ref = live_ref(state)


def unregister(clientp: Any) -> None:
    """From now on ``clientp`` calls no Python: libcurl's defaults apply."""
    STATES.pop(clientp, None)


#: Closed Curls that still have sockets open in libcurl.
ORPHANS: set[Any] = set()


def close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


#: [True while the cyclic garbage collector runs] (set by _handle's gc callback).
collecting = [False]

#: clientp -> the fds whose closing waits for that Curl's __del__ (_closesocket).
UNCLOSED: dict[Any, list[int]] = {}


def take_unclosed(clientp: Any) -> list[int]:
    """The fds libcurl closed through ``clientp`` while its Curl was garbage:
    Curl.close() (its __del__) hands each to the trampoline again, now with
    the Curl's closesocket."""
    return UNCLOSED.pop(clientp, [])


def close_unclosed_of(clientp: Any) -> None:
    """Close what libcurl closed through ``clientp`` while its Curl was garbage
    and no ``__del__`` took (easy's release: the Curl went without close())."""
    for fd in UNCLOSED.pop(clientp, ()):
        close_quietly(fd)


def close_unclosed() -> None:
    """The end of a collection: close what no Curl's __del__ took (a subclass
    __del__ that does not call super())."""
    while UNCLOSED:
        for fd in UNCLOSED.popitem()[1]:
            close_quietly(fd)


# --- gc deferral ---------------------------------------------------------------------


#: The releases the collector ran (after_finalisers), to run when it ends.
DEFERRED: deque[tuple[Callable[[Any], None], Any]] = deque()


def _on_collection(
    phase: str,
    info: dict[str, int],
    collecting: list[bool] = collecting,
    deferred: deque[tuple[Callable[[Any], None], Any]] = DEFERRED,
    close_unclosed: Callable[[], None] = close_unclosed,
) -> None:
    """gc.callbacks: note a collection (``collecting``); at its end
    run the releases it deferred, then close the sockets no Curl's __del__
    took (``_callbacks.sockets._closesocket``).

    (The defaults bind what it needs: at interpreter exit the module's globals
    may already be gone.)
    """
    collecting[0] = phase == "start"
    if phase == "stop":
        while deferred:
            release, cdata = deferred.popleft()
            release(cdata)  # calls no user code; what it would raise gc reports itself
        close_unclosed()


#: See GC_HOOKED: on PyPy nothing to hook, nothing to defer.
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
            deferred: deque[tuple[Callable[[Any], None], Any]] = DEFERRED) -> None:
        if collecting[0]:
            deferred.append((release, cdata))
        else:
            release(cdata)

    return run


# --- unraisable reporting ------------------------------------------------------------


_hook_args: Any = None
#: The fields of sys.UnraisableHookArgs beyond the five CPython has, as the
#: probe had them: PyPy's hook also reads ``extra_line`` and refuses None.
_hook_extra: dict[str, Any] = {}


def _unraisable_args(exc: BaseException, err_msg: str, obj: Any) -> Any:
    """sys.UnraisableHookArgs for ``exc``: the type CPython's own hook requires.

    It is not importable; it is learnt once from a real unraisable exception
    caught by a temporary hook.  CPython finalises the probe at once; PyPy
    would finalise it only in a later collection (and not from inside a
    finaliser), its exception then printed by the real hook, so there the
    exception is handed to PyPy's own ``__pypy__.write_unraisable``, which
    calls the hook the same way.
    """
    global _hook_args
    if _hook_args is None:
        seen: list[Any] = []
        saved, sys.unraisablehook = sys.unraisablehook, seen.append
        try:
            try:
                import __pypy__  # type: ignore[import-not-found]
            except ImportError:  # CPython

                class _Probe:
                    def __del__(self) -> None:
                        raise RuntimeError("probe")

                _Probe()
            else:  # a probe would raise from a later collection, to the real hook
                __pypy__.write_unraisable("probe", RuntimeError("probe"), None)
        finally:
            sys.unraisablehook = saved
        _hook_args = type(seen[0])
        n_extra = getattr(_hook_args, "n_fields", 5) - getattr(_hook_args, "n_sequence_fields", 5)
        if n_extra > 0 and hasattr(seen[0], "extra_line"):
            _hook_extra["extra_line"] = ""
        # The probe's traceback reaches this frame, whose ``seen`` holds the
        # args: a cycle through an object the collector cannot see (the args
        # are not GC-tracked), which would keep every caller's frame forever.
        seen.clear()
    return _hook_args((type(exc), exc, exc.__traceback__, err_msg, obj), _hook_extra)


def report_unraisable(exc: BaseException, where: str, obj: Any = None) -> None:
    """Hand ``exc`` to sys.unraisablehook (teardown has nobody to raise it to)."""
    sys.unraisablehook(_unraisable_args(exc, f"Exception ignored in {where}", obj))
