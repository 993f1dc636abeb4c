"""WebSockets on a Curl: pycurl 7.49's ws_send, ws_recv, ws_recv_into, ws_meta, ws_close.

libcurl 7.86.0 and later speak WebSocket (RFC 6455) on ws:// and wss:// URLs
when built with it ("ws" in ``version_info()[8]``: 7.86.0 to 8.10 build it only
when asked, 8.11 and later by default).  As in libcurl, two ways to use it:

* ``setopt(CONNECT_ONLY, 2)``: perform() does the upgrade handshake and
  returns; then ws_send()/ws_recv() move frames on the connection.  They never
  block: BlockingIOError (EAGAIN) when there is nothing to read or no room to
  write; wait on ``getinfo(ACTIVESOCKET)``.
* a WRITEFUNCTION: perform() hands it every frame's payload; inside it,
  ws_meta() describes the frame the data belongs to, and ws_send()/ws_close()
  may answer on the same connection.

The arguments, return shapes, messages and errors are pycurl's (its
src/easyws.c).  On a libcurl without websockets every method raises ``error``
with E_NOT_BUILT_IN and a message naming what is missing.
"""

from __future__ import annotations

import errno
import operator
import os
import threading
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional

from . import _callbacks, _features, errors
from ._failure import take_failure, take_parked
from ._ffi import c_range, ffi, lib
from .errors import error

__all__ = ["WebSocketMixin", "WsFrame"]


class WsFrame(NamedTuple):
    """What libcurl says about received WebSocket data (struct curl_ws_frame, curl_ws_meta(3)).

    age: int, the struct's version (0); flags: int, WS_TEXT, WS_BINARY, WS_CONT,
    WS_CLOSE, WS_PING, WS_PONG bits; offset: int, bytes of this frame's payload
    delivered before this chunk; bytesleft: int, payload bytes of the frame
    still to come after it; len: int, bytes in this chunk.
    """

    age: int
    flags: int
    offset: int
    bytesleft: int
    len: int


def _missing() -> Optional[str]:
    """Why this build of pycurlcb cannot do websockets, or None."""
    return _features.missing("curl_ws_recv", "websockets") or _features.missing("ws", "websockets")


#: None when websockets work; else what is missing.
MISSING: Optional[str] = _missing()


def _flag(name: str) -> int:
    return int(getattr(lib, "CURLWS_" + name, 0))  # 0: headers without websockets (never sent)


_TEXT, _BINARY, _CONT, _CLOSE, _PING, _PONG = map(_flag, ("TEXT", "BINARY", "CONT", "CLOSE", "PING", "PONG"))
_UINT_MAX = c_range("unsigned int", signed=False)[1]
_LLONG_MIN = c_range("long long")[0]
_LONG_MIN, _LONG_MAX = c_range("long")
#: The close status codes a frame may carry (RFC 6455 section 7.4), as pycurl checks them.
_CLOSE_CODES = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))
#: The largest payload of a control frame (RFC 6455 section 5.5).
_CONTROL_MAX = 125


def _require(what: str) -> None:
    if MISSING is not None:
        raise error(lib.CURLE_NOT_BUILT_IN, f"{what}(): {MISSING}")


def _int(value: Any, what: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an int, not {type(value).__name__}") from None


def _frame(meta: Any) -> Optional[WsFrame]:
    if meta == ffi.NULL:
        return None
    return WsFrame(meta.age, meta.flags, meta.offset, meta.bytesleft, meta.len)


def _would_block() -> BlockingIOError:
    return BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))


class WebSocketMixin:
    """Curl's websocket methods (a base class of Curl; see the module's docstring)."""

    __slots__ = ()

    if TYPE_CHECKING:  # Curl's, which this mixin is a base of
        _e: Any
        _running: Optional[int]
        _handle: Callable[[str], Any]
        _multi_running: Callable[[], Optional[int]]
        _multi_now: Callable[[], Any]

    def ws_send(
        self, data: Any, flags: Optional[int] = None, fragsize: int = 0, encoding: str = "utf-8"
    ) -> int:
        """curl_ws_send(3): send ``data`` as one frame (or a part of one); the bytes sent.

        ``data``: str (encoded with ``encoding``; a WS_TEXT frame unless
        ``flags`` says otherwise) or a bytes-like object (WS_BINARY unless
        ``flags`` says otherwise).  ``flags``: WS_TEXT, WS_BINARY, WS_PING,
        WS_PONG, WS_CLOSE, with WS_CONT for a fragment and WS_OFFSET for a
        frame sent in parts (then ``fragsize`` is the whole frame's size in
        bytes).  Works on a CONNECT_ONLY=2 connection, and from inside this
        handle's WRITEFUNCTION during perform().

        Raises ValueError for a negative ``fragsize`` or flags, WS_TEXT with
        WS_BINARY, a fragmented control frame or two control types;
        OverflowError for flags beyond an unsigned int; TypeError for None or
        other data, for str data with WS_BINARY or WS_CLOSE; UnicodeEncodeError;
        BlockingIOError (EAGAIN) when the socket takes nothing now; ``error``
        for libcurl's other codes, a closed handle, or a call during a
        transfer from outside the WRITEFUNCTION.
        """
        _require("ws_send")
        size = _int(fragsize, "ws_send() fragsize")
        if not isinstance(encoding, str):
            raise TypeError(f"ws_send() encoding must be str, not {type(encoding).__name__}")
        if size < 0:
            raise ValueError("negative fragsize in ws_send")
        explicit = flags is not None
        bits = _check_flags(flags) if explicit else 0
        if data is None:
            raise TypeError(
                'ws_send: data must be str or bytes-like, not NoneType (use b"" for an empty payload)'
            )
        if isinstance(data, str):
            if bits & _BINARY:
                raise TypeError(
                    "ws_send: str data is incompatible with WS_BINARY; "
                    "pass bytes-like data for binary frames"
                )
            if bits & _CLOSE:
                raise TypeError(
                    "ws_send: str data is incompatible with WS_CLOSE; "
                    "use ws_close() or pass a bytes-like payload"
                )
            payload: Any = data.encode(encoding, "strict")
            if not explicit:
                bits = _TEXT
        else:
            payload = _buffer(data, "ws_send: data")
            if not explicit:
                bits = _BINARY
        return self._ws_send(payload, size, bits, "ws_send")

    def ws_close(self, code: Optional[int] = None, reason: Any = None, encoding: str = "utf-8") -> int:
        """Send a close frame (curl_ws_send(3) with WS_CLOSE); the bytes sent (0, or 2 + the reason's).

        ``code``: a close status code of RFC 6455 (1000-1003, 1007-1014,
        3000-4999), or None for an empty close frame; ``reason``: str (encoded
        with ``encoding``) or bytes, valid UTF-8, only with a code, at most 123
        bytes.  Raises ValueError for another code, a reason without code or
        a payload over 125 bytes; UnicodeEncodeError/UnicodeDecodeError for a
        reason that is not UTF-8; otherwise as ws_send().
        """
        _require("ws_close")
        if not isinstance(encoding, str):
            raise TypeError(f"ws_close() encoding must be str, not {type(encoding).__name__}")
        payload = b""
        if code is not None:
            status = _int(code, "ws_close() code")
            if not _LONG_MIN <= status <= _LONG_MAX:
                raise OverflowError("Python int too large to convert to C long")
            if status not in _CLOSE_CODES and not 3000 <= status <= 4999:
                raise ValueError("ws_close: code must be a valid wire close status code")
            payload = status.to_bytes(2, "big")
        if reason is not None:
            if code is None:
                raise ValueError("ws_close: reason requires code (RFC 6455 §5.5.1)")
            if isinstance(reason, str):
                text = reason.encode(encoding, "strict")
            else:
                text = bytes(_buffer(reason, "ws_close: reason"))
            text.decode("utf-8", "strict")  # the wire wants UTF-8 (RFC 6455 section 5.5.1)
            payload += text
        if len(payload) > _CONTROL_MAX:
            raise ValueError(
                f"ws_close: payload too large ({len(payload)} bytes, max 125 including "
                "2-byte status code)"
            )
        return self._ws_send(payload, 0, _CLOSE, "ws_close")

    def ws_recv(self, size: int, /) -> tuple[bytes, Optional[WsFrame]]:
        """curl_ws_recv(3) on a CONNECT_ONLY=2 connection: ``(data, frame)``.

        ``data``: up to ``size`` bytes of one frame's payload (b'' for size 0:
        only the frame's description); ``frame``: its WsFrame (``bytesleft``
        says how much of the frame is still to read), or None.  Raises
        ValueError for a negative size, BlockingIOError (EAGAIN) when nothing
        can be read yet, ``error`` for libcurl's other codes (E_GOT_NOTHING
        once the connection is closed), a closed handle or a call during a
        transfer.
        """
        _require("ws_recv")
        n = _int(size, "ws_recv() size")
        if n < 0:
            raise ValueError("negative buffersize in ws_recv")
        h = self._handle("ws_recv")
        buf = ffi.new("char[]", n) if n else ffi.NULL
        got, frame = self._ws_recv(h, buf, n)
        return (ffi.unpack(buf, got) if got else b""), frame

    def ws_recv_into(self, buffer: Any, nbytes: int = 0) -> tuple[int, Optional[WsFrame]]:
        """curl_ws_recv(3) into a writable buffer: ``(count, frame)``.

        ``nbytes`` 0 means the whole buffer.  Raises TypeError for a buffer
        that is not writable, ValueError for a negative ``nbytes`` or one
        larger than the buffer; otherwise as ws_recv().
        """
        _require("ws_recv_into")
        try:
            buf = ffi.from_buffer(buffer, require_writable=True)
        except (TypeError, BufferError):
            raise TypeError(
                "ws_recv_into() argument 'buffer' must be read-write bytes-like object, "
                f"not {type(buffer).__name__}"
            ) from None
        with buf:
            n = _int(nbytes, "ws_recv_into() nbytes")
            if n < 0:
                raise ValueError("negative buffersize in ws_recv_into")
            n = n or len(buf)
            if n > len(buf):
                raise ValueError("buffer too small for requested bytes")
            h = self._handle("ws_recv_into")
            return self._ws_recv(h, buf if n else ffi.NULL, n)

    def ws_meta(self) -> Optional[WsFrame]:
        """curl_ws_meta(3): the WsFrame of the data the WRITEFUNCTION is being given, else None.

        Only meaningful inside this handle's WRITEFUNCTION during a websocket
        transfer (not in WS_RAW_MODE); None anywhere else.  Raises ``error``
        for a closed handle.
        """
        _require("ws_meta")
        h = self._e.h
        if h == ffi.NULL:
            raise error("cannot invoke ws_meta() - no curl handle")
        return _frame(lib.curl_ws_meta(h))

    # --- the calls into libcurl ----------------------------------------------------

    def _ws_send(self, payload: Any, fragsize: int, flags: int, what: str) -> int:
        h, in_transfer = self._ws_send_handle(what)
        sent = ffi.new("size_t *")
        with ffi.from_buffer(payload) as buf:
            rc = lib.curl_ws_send(h, buf, len(buf), sent, fragsize, flags)
        self._ws_outcome(rc, in_transfer)
        return int(sent[0])

    def _ws_send_handle(self, what: str) -> tuple[Any, bool]:
        """The CURL* for ws_send/ws_close, and whether a transfer is running: allowed
        during one only from this handle's WRITEFUNCTION in the transfer's thread."""
        h = self._e.h
        if h == ffi.NULL:
            raise error(f"cannot invoke {what}() - no curl handle")
        running = self._running if self._running is not None else self._multi_running()
        if running is None:
            return h, False
        if running == threading.get_ident() and _callbacks.in_write_callback(self):
            return h, True
        raise error(f"cannot invoke {what}() - perform() is currently running outside WRITEFUNCTION callback")

    def _ws_recv(self, h: Any, buf: Any, n: int) -> tuple[int, Optional[WsFrame]]:
        got = ffi.new("size_t *")
        meta = ffi.new("struct curl_ws_frame **")
        rc = lib.curl_ws_recv(h, buf, n, got, meta)
        self._ws_outcome(rc, False)
        return int(got[0]), _frame(meta[0])

    def _ws_outcome(self, rc: int, in_transfer: bool) -> None:
        """Raise for a curl_ws_* result, as Curl.pause() does for callbacks that ran
        meanwhile (DEBUGFUNCTION): inside a transfer its driving call reports them."""
        if in_transfer:
            cause = None
        elif self._multi_now() is not None:
            cause = take_parked()
        else:
            cause = take_failure(self)  # type: ignore[arg-type]
        if rc == lib.CURLE_AGAIN and cause is None:
            raise _would_block()
        errors.check(rc, self._e.errbuf, cause)


def _check_flags(flags: Any) -> int:
    """ws_send's explicit flags, checked as pycurl does."""
    bits = _int(flags, "ws_send() flags")
    if bits < _LLONG_MIN:
        raise OverflowError("Python int too large to convert to C long long")
    if bits < 0:
        raise ValueError("flags must be non-negative")
    if bits > _UINT_MAX:
        raise OverflowError("flags out of range for curl_ws_send")
    if bits & _TEXT and bits & _BINARY:
        raise ValueError("ws_send: cannot set both WS_TEXT and WS_BINARY")
    control = bits & (_PING | _PONG | _CLOSE)
    if control and bits & _CONT:
        raise ValueError(
            "ws_send: control frames cannot be fragmented "
            "(WS_CONT forbidden with WS_PING/WS_PONG/WS_CLOSE)"
        )
    if control & (control - 1):
        raise ValueError("ws_send: only one of WS_PING / WS_PONG / WS_CLOSE may be set")
    return bits


def _buffer(data: Any, what: str) -> memoryview:
    """A bytes-like object as a C-contiguous memoryview (pycurl: PyBUF_SIMPLE)."""
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"{what} must be str or bytes-like, not {type(data).__name__}") from None
    if not view.c_contiguous:
        raise BufferError(f"{what} must be a C-contiguous buffer")
    return view
