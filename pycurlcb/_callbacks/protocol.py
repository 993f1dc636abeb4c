"""The trampolines of protocol callbacks: SSH host keys, PREREQ, FTP wildcards (fnmatch, chunk_bgn/end),
RESOLVER_START, TRAILER, HSTS read/write."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .._convert import c_int, callback_text, make_slist, safe_repr
from .._ffi import ffi, lib
from .core import EasyCallbacks, FileInfo, HstsEntry, HstsIndex, KhKey, trampoline
from .sockets import record_refusal

if TYPE_CHECKING:
    import datetime  # imported on first use at run time (HSTS callbacks)


# --- protocol callbacks ----------------------------------------------------------------


def _khkey(key: Any) -> Optional[KhKey]:
    if key == ffi.NULL:
        return None
    n = key.len
    raw = ffi.unpack(key.key, n) if n else ffi.string(key.key)
    return KhKey(raw, int(lib.pcb_khkey_type(key)))


@trampoline("pcb_ssh_key")
def _ssh_key(state: EasyCallbacks, easy: Any, known: Any, found: Any, match: int, clientp: Any) -> int:
    fn = state._cb_ssh_key
    if fn is None:
        return int(lib.CURLKHSTAT_REJECT)
    code = c_int(fn(_khkey(known), _khkey(found), match), "ssh key")
    if not 0 <= code < lib.CURLKHSTAT_LAST:
        raise ValueError(
            f"ssh key callback returned {code}, which is not a KHSTAT_* code "
            f"(0 to {lib.CURLKHSTAT_LAST - 1})"
        )
    return code


@trampoline("pcb_ssh_hostkey")
def _ssh_hostkey(state: EasyCallbacks, clientp: Any, keytype: int, key: Any, keylen: int) -> int:
    fn = state._cb_ssh_hostkey
    if fn is None:
        return int(lib.CURLKHMATCH_MISMATCH)
    return c_int(fn(keytype, ffi.unpack(key, keylen)), "ssh hostkey")


def _str(p: Any) -> str:
    return "" if p == ffi.NULL else ffi.string(p).decode("ascii", "replace")


@trampoline("pcb_prereq")
def _prereq(state: EasyCallbacks, clientp: Any, primary: Any, local: Any, pport: int, lport: int) -> int:
    guard = state._guard
    if guard is not None:
        # Every transfer, on a new or a reused connection: the SSRF guard's
        # check of a connection libcurl did not open through opensocket now.
        peer = _str(primary)
        reason = guard.refuse_peer(peer, pport)
        if reason is not None:
            record_refusal(state, peer, pport, reason)
            return int(lib.CURL_PREREQFUNC_ABORT)
    fn = state._cb_prereq
    if fn is None:
        return int(lib.CURL_PREREQFUNC_OK)
    return c_int(fn(_str(primary), _str(local), pport, lport), "prereq")


@trampoline("pcb_fnmatch")
def _fnmatch(state: EasyCallbacks, ptr: Any, pattern: Any, string: Any) -> int:
    fn = state._cb_fnmatch
    if fn is None:
        return int(lib.CURL_FNMATCHFUNC_FAIL)
    return c_int(fn(ffi.string(pattern), ffi.string(string)), "fnmatch")


@trampoline("pcb_chunk_bgn")
def _chunk_bgn(state: EasyCallbacks, transfer_info: Any, ptr: Any, remains: int) -> int:
    fn = state._cb_chunk_bgn
    if fn is None:
        return int(lib.CURL_CHUNK_BGN_FUNC_OK)
    info = ffi.cast("struct curl_fileinfo *", transfer_info)
    entry = FileInfo(
        None if info.filename == ffi.NULL else ffi.string(info.filename),
        int(info.filetype), info.perm, info.uid, info.gid, info.size, info.hardlinks, info.flags,
    )
    rv = fn(entry, remains)
    return int(lib.CURL_CHUNK_BGN_FUNC_OK) if rv is None else c_int(rv, "chunk_bgn", direct=False)


@trampoline("pcb_chunk_end")
def _chunk_end(state: EasyCallbacks, ptr: Any) -> int:
    fn = state._cb_chunk_end
    if fn is None:
        return int(lib.CURL_CHUNK_END_FUNC_OK)
    rv = fn()
    return int(lib.CURL_CHUNK_END_FUNC_OK) if rv is None else c_int(rv, "chunk_end", direct=False)


@trampoline("pcb_resolver_start")
def _resolver_start(state: EasyCallbacks, resolver_state: Any, reserved: Any, userdata: Any) -> int:
    fn = state._cb_resolver_start
    if fn is None:
        return 0
    rv = fn()
    return 0 if rv is None else c_int(rv, "resolver_start")


@trampoline("pcb_trailer")
def _trailer(state: EasyCallbacks, slist: Any, userdata: Any) -> int:
    slist[0] = ffi.NULL  # libcurl passes it uninitialised
    fn = state._cb_trailer
    rv = None if fn is None else fn()
    if rv is None:
        return int(lib.CURL_TRAILERFUNC_OK)
    if not isinstance(rv, (list, tuple)):
        raise TypeError(
            f"trailer callback returned {safe_repr(rv)}, which is not None or a list/tuple of "
            "header strings"
        )
    items = [callback_text(item, "a trailer header") for item in rv]
    slist[0] = make_slist(items)
    return int(lib.CURL_TRAILERFUNC_OK)


def _expire_from_c(stamp: bytes) -> Optional[datetime.datetime]:
    import datetime  # on first use: it costs import time

    if stamp in (b"", b"unlimited"):
        return None
    return datetime.datetime.strptime(stamp.decode("ascii") + "+0000", "%Y%m%d %H:%M:%S%z")


def _expire_to_c(value: Any) -> bytes:
    import datetime

    if value is None:
        return b""  # never expires
    if not isinstance(value, datetime.datetime):
        raise TypeError("hstsread callback: expire must be a datetime or None")
    utc: datetime.datetime = value if value.tzinfo is None else value.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y%m%d %H:%M:%S").encode("ascii")


@trampoline("pcb_hstsread")
def _hstsread(state: EasyCallbacks, easy: Any, entry: Any, userp: Any) -> int:
    fn = state._cb_hstsread
    rv = None if fn is None else fn()
    if rv is None:
        return int(lib.CURLSTS_DONE)
    if not isinstance(rv, tuple) or len(rv) != 3:
        raise TypeError(
            f"hstsread callback returned {safe_repr(rv)}, which is not None or a 3-tuple "
            "(host, expire, include_subdomains)"
        )
    host = callback_text(rv[0], "hstsread callback: host")
    if len(host) > entry.namelen:
        raise ValueError(
            f"hstsread callback: host length {len(host)} exceeds libcurl maximum {entry.namelen}"
        )
    expire = _expire_to_c(rv[1])
    if len(expire) >= ffi.sizeof(entry.expire):
        raise ValueError("hstsread callback: formatted expire does not fit in libcurl's buffer")
    include = bool(rv[2])
    ffi.memmove(entry.name, host + b"\0", len(host) + 1)
    entry.namelen = len(host)
    ffi.memmove(entry.expire, expire + b"\0", len(expire) + 1)
    entry.includeSubDomains = 1 if include else 0
    return int(lib.CURLSTS_OK)


@trampoline("pcb_hstswrite")
def _hstswrite(state: EasyCallbacks, easy: Any, entry: Any, index: Any, userp: Any) -> int:
    fn = state._cb_hstswrite
    if fn is None:
        return int(lib.CURLSTS_OK)
    item = HstsEntry(
        ffi.unpack(entry.name, entry.namelen),
        _expire_from_c(ffi.string(entry.expire)),
        bool(entry.includeSubDomains),
    )
    rv = fn(item, HstsIndex(index.index, index.total))
    if rv is None:
        return int(lib.CURLSTS_OK)
    code = c_int(rv, "hstswrite")
    if not 0 <= code <= lib.CURLSTS_FAIL:
        raise ValueError(
            f"hstswrite callback returned {code}, which is not CURLSTS_OK (0), CURLSTS_DONE (1), "
            "CURLSTS_FAIL (2) or None"
        )
    return code
