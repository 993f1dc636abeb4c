"""The progress trampolines (PROGRESSFUNCTION, XFERINFOFUNCTION) and DEBUGFUNCTION's."""

from __future__ import annotations

from typing import Any

from .._convert import c_int
from .._ffi import ffi
from ..constants import InfoType
from .core import EasyCallbacks, trampoline

#: The small enum DEBUGFUNCTION callables get instead of a bare int.
_INFOTYPE = {m.value: m for m in InfoType}


def _progress_result(rv: Any, what: str) -> int:
    if rv is None:
        return 0
    if isinstance(rv, int):
        return c_int(rv, what, direct=False)
    return 1 if rv else 0


@trampoline("pcb_xferinfo")
def _xferinfo(state: EasyCallbacks, clientp: Any, dt: int, dn: int, ut: int, un: int) -> int:
    fn = state._cb_xferinfo
    return 1 if fn is None else _progress_result(fn(dt, dn, ut, un), "xferinfo")


@trampoline("pcb_progress")
def _progress(state: EasyCallbacks, clientp: Any, dt: float, dn: float, ut: float, un: float) -> int:
    fn = state._cb_progress
    return 1 if fn is None else _progress_result(fn(dt, dn, ut, un), "progress")


@trampoline("pcb_debug")
def _debug(state: EasyCallbacks, handle: Any, kind: int, data: Any, size: int, userp: Any) -> int:
    fn = state._cb_debug
    if fn is not None:
        fn(_INFOTYPE.get(kind, kind), ffi.unpack(data, size))  # its return is ignored, as libcurl does
    return 0
