"""The transfer-data trampolines: write, header, read, seek, ioctl, and bulk.c's flush (pcb_bulk_flush)."""

from __future__ import annotations

import sys
from typing import Any

from .._convert import LONG_MAX, LONG_MIN, SIZE_MAX, c_int, fill, seek_code
from .._failure import post_mortem
from .._ffi import ffi, lib
from .._lifetime import STATES
from ..errors import error
from .core import EasyCallbacks, _backstop, trampoline

# --- return values ---------------------------------------------------------------------


# --- data callbacks --------------------------------------------------------------------


def _written(rv: Any, n: int, what: str) -> int:
    """What a write/header callable returned, as libcurl's size_t count."""
    if rv is None:
        return n
    if not isinstance(rv, int):
        raise error(f"{what} callback must return int or None")
    if not LONG_MIN <= rv <= LONG_MAX:
        raise OverflowError(f"{what} callback returned {rv} which does not fit in a C long")
    return rv & SIZE_MAX  # as pycurl: (size_t)value; anything but n fails the transfer


def _deliver_view(fn: Any, ptr: Any, n: int, what: str) -> int:
    view = memoryview(ffi.buffer(ptr, n)).toreadonly()
    try:
        rv = fn(view)
    finally:
        view.release()  # valid during the call only: libcurl reuses the buffer
    return _written(rv, n, what)


_unpack = ffi.unpack


@trampoline("pcb_write")
def _write(state: Any, ptr: Any, size: int, nmemb: int, userdata: Any) -> int:
    n = size * nmemb
    fn = state._cb_write
    if fn is None:
        return n
    if state._write_mv:
        return _deliver_view(fn, ptr, n, "write")
    rv = fn(_unpack(ptr, n))
    return n if rv is None or (type(rv) is int and rv == n) else _written(rv, n, "write")


def _bulk_flush(clientp: Any, data: Any, n: int) -> int:
    """pcb_bulk_flush (bulk.h): one ``obj.write`` call with ``n`` buffered body bytes.

    Not a row of ``_cbtable``: libcurl never calls it (bulk.c's C write
    callback does, and perform() through pcb_bulk_drain), no option installs
    it, and the callable it calls is the write row's.  It still fails closed
    as the rows' trampolines do: what ``obj.write`` raises is recorded on the
    Curl (the ``__cause__`` of perform()'s E_WRITE_ERROR), and a return
    value other than None or ``n`` fails the transfer, as pycurl does with
    a short write.  It runs after another callback of the transfer failed
    too: bytes libcurl delivered before the failure still reach ``obj``.
    """
    key = STATES.get(clientp)
    state: Any = None if key is None else key.ref()
    fn = None if state is None else state._cb_write
    if fn is None:
        return 0  # no live Curl: discard, as the write trampoline does
    try:
        if state._bulk_mv:
            rv = _deliver_view(fn, data, n, "write")
        else:
            rv = fn(_unpack(data, n))
            rv = n if rv is None else _written(rv, n, "write")
        return 0 if rv == n else -1
    except BaseException as exc:
        state._fail(exc)
        if isinstance(exc, Exception):
            post_mortem(exc)
        return -1


ffi.def_extern(name="pcb_bulk_flush", onerror=_backstop(-1))(_bulk_flush)


def in_write_callback(state: Any) -> bool:
    """True if this thread is inside ``state``'s WRITEFUNCTION (pycurl's
    ws_write_cb_running: ws_send()/ws_close() are allowed there).  Looks for
    the write trampoline's frame with this state on the calling stack."""
    frame = sys._getframe(1)
    code = _write.__code__
    while frame is not None:
        if frame.f_code is code and frame.f_locals.get("state") is state:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


@trampoline("pcb_header")
def _header(state: Any, ptr: Any, size: int, nmemb: int, userdata: Any) -> int:
    n = size * nmemb
    fn = state._cb_header
    if fn is None:
        return n
    if state._header_mv:
        return _deliver_view(fn, ptr, n, "header")
    rv = fn(_unpack(ptr, n))
    return n if rv is None or (type(rv) is int and rv == n) else _written(rv, n, "header")


@trampoline("pcb_read")
def _read(state: EasyCallbacks, buffer: Any, size: int, nitems: int, userdata: Any) -> int:
    fn = state._cb_read
    if fn is None:
        return int(lib.CURL_READFUNC_ABORT)
    n = size * nitems
    into = state._read_into
    if into is not None:  # READDATA is a BytesIO or binary file: straight into libcurl's buffer
        got = into(ffi.buffer(buffer, n))
        if got is not None:
            return int(got)
        return fill(buffer, n, None, "read")  # non-blocking, nothing there: read()'s error
    return fill(buffer, n, fn(n), "read")


@trampoline("pcb_seek")
def _seek(state: EasyCallbacks, userp: Any, offset: int, origin: int) -> int:
    fn = state._cb_seek
    if fn is None:
        return int(lib.CURL_SEEKFUNC_CANTSEEK)
    return seek_code(fn(offset, origin))


@trampoline("pcb_ioctl")
def _ioctl(state: EasyCallbacks, handle: Any, cmd: int, clientp: Any) -> int:
    fn = state._cb_ioctl
    if fn is None:
        return int(lib.CURLIOE_UNKNOWNCMD)
    rv = fn(cmd)
    if rv is None:
        return int(lib.CURLIOE_OK)
    code = c_int(rv, "ioctl", direct=False)
    if not 0 <= code < lib.CURLIOE_LAST:
        raise ValueError(
            f"ioctl callback returned {code}, which is not IOE_OK (0), IOE_UNKNOWNCMD (1), "
            "IOE_FAILRESTART (2) or None"
        )
    return code
