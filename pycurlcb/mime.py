"""CurlMime and CurlMimePart: multipart bodies (curl_mime_init(3)), pycurl 7.49's interface.

``mime = CurlMime(curl)`` makes a ``curl_mime`` for ``curl``; ``mime.addpart()``
(or the helpers ``add``, ``add_field``, ``add_file``, ``add_multipart``) adds
parts; ``curl.setopt(MIMEPOST, mime)`` posts it.

Ownership follows libcurl (lib/mime.c):

* a CurlMime owns its ``curl_mime`` (``ffi.gc``, released by ``_release``)
  until ``part.subparts(mime)`` attaches it: ``curl_mime_subparts`` hands it
  to the part, and it is freed with the part's tree, or when the part's
  content is replaced (``data``, ``filedata``, ``data_cb``, ``subparts``);
* ``setopt(MIMEPOST, mime)`` only points the easy handle at the mime (the
  Curl keeps the CurlMime alive in ``easy.kept(curl)``); ``curl_mime_free`` and
  ``curl_easy_cleanup`` each unbind it from the other, so either may go first;
* ``curl_easy_duphandle`` deep-copies the posted tree: the copy's data_cb
  parts call the same trampolines with the same ``arg``, and free them when
  the duplicate is cleaned up, reset or given another MIMEPOST.

Every libcurl structure that calls a data_cb's callbacks (the mime's own tree,
plus one copy per duphandle()) holds one reference on its ``MimeCallbacks``
(``refs``); libcurl's free callback drops it, and the user's ``free`` runs
when the last one goes (pycurl's rule), with its exception handed to
``sys.unraisablehook``.  The tree's states are kept alive by the CurlMime
that owns the tree (collectable with it); the states a duplicate's copy still
calls are also held by ``_ROOTED``, because no Python object sees when a
duplicate's copy is freed.

Teardown: ``close()``, the context manager and ``__del__`` free the tree with
the Python callbacks enabled (the user's ``free`` runs), also when the
collector finalises the ffi.gc cdata before the CurlMime (both garbage in one
cycle): a release the collector runs waits for the end of the collection
(``_lifetime.after_finalisers``).  A CurlMime collected without its
``__del__`` (a subclass ``__del__`` that does not call super()), or whose
release runs first at interpreter exit, is freed by ``_release``, which calls
no user callable and marks the tree's ``_Owned`` token.  A wrapper whose tree
is gone reports ``closed`` and raises "no mime handle": it checks its
``_Tree``, the chain of parents (weak references) and the root's token, so
that also holds when a parent's tree was freed without Python.

Errors: an exception raised by a data_cb ``read`` or ``seek`` callable aborts
the transfer (READFUNC_ABORT / SEEKFUNC_FAIL) and is recorded on the Curl
whose transfer is running (``curl._fail``), so ``perform()`` raises
``pycurlcb.error`` with it as ``__cause__`` (KeyboardInterrupt as itself).
"""

from __future__ import annotations

import operator
import os
import threading
import weakref
from typing import Any, Callable, NamedTuple, Optional

from . import easy, errors
from ._callbacks import trampoline
from ._convert import OFF_T_MAX, c_path, c_string, cut_repr, fill_mime, make_slist, mime_seek_code
from ._failure import State, take_parked
from ._ffi import ffi, lib
from ._handle import Handle
from ._lifetime import after_finalisers, reactivate, register, report_unraisable, unregister
from .constants import OPTION_IDS
from .easy import Curl, easy_struct, kept, open_handle
from .errors import error

MIMEPOST = OPTION_IDS["MIMEPOST"]
HTTPPOST = OPTION_IDS["HTTPPOST"]
_READFUNC_ABORT: int = lib.CURL_READFUNC_ABORT


# --- the data_cb state and libcurl's references to it --------------------------------


class MimeCallbacks(State):
    """One ``data_cb()``: the user's callables and libcurl's references to them.

    ``key`` is the ``arg`` libcurl passes to the trampolines.  ``refs``
    counts the libcurl structures that may call them (the mime's tree while
    ``in_tree``, plus each duphandle()'s copy); ``curls`` are weak references
    to the Curls whose transfers may call them, to route a failure to.
    """

    __slots__ = ("read", "seek", "free", "userdata", "key", "refs", "in_tree", "curls", "__weakref__")

    def __init__(self, read: Any, seek: Any, free: Any, userdata: Any, curl: Curl) -> None:
        self._exc = None
        self.read = read
        self.seek = seek
        self.free = free
        self.userdata = userdata
        self.refs = 0
        self.in_tree = False
        self.curls: list[Callable[[], Optional[Curl]]] = [weakref.ref(curl)]
        self.key = register(self)

    def _fail(self, exc: BaseException) -> None:
        """Record ``exc`` on the Curl whose transfer called the failing callable.

        That is the one in a transfer (the mime's Curl or a duphandle() of it;
        a callable shared by two transfers running at once fails both); else
        the mime's own Curl (a read run by ``Curl.pause(PAUSE_CONT)``).
        """
        curls = [c for c in (ref() for ref in self.curls) if c is not None and not c.closed]
        targets = [c for c in curls if _running(c)] or curls[:1]
        for curl in targets:
            curl._fail(exc)
        if not targets:
            State._fail(self, exc)  # parks a KeyboardInterrupt/SystemExit ...
            self._exc = None  # ... without disabling this state's later calls


def _running(curl: Curl) -> bool:
    """True while ``curl`` is in a transfer (perform(), or its CurlMulti is driving)."""
    if curl.closed:
        return False
    try:
        open_handle(curl, "mime")
    except error:
        return True
    return False


#: States a duphandle()'s copy still references beyond the mime's own tree:
#: nothing else keeps them alive until libcurl frees that copy.
_ROOTED: set[MimeCallbacks] = set()


def _sync_rooted(state: MimeCallbacks) -> None:
    if state.refs - (1 if state.in_tree else 0) > 0:
        _ROOTED.add(state)
    else:
        _ROOTED.discard(state)


class _Quiet(threading.local):
    depth = 0


#: > 0 while ``_release`` frees a tree: the free trampoline calls no user code.
_quiet = _Quiet()


class _Owned:
    """An owned ``curl_mime``: ``freed`` once ``_release`` has freed it.

    When a CurlMime is collected without its ``__del__`` (or its release runs
    first at interpreter exit), ``_release`` frees the tree: this token, which
    the release finds in ``_OWNED`` by address, tells ``__del__`` (and any
    wrapper still alive) that the tree is gone.  ``ptr`` is the cdata the
    release is given, so that a release the collector deferred until after
    ``close()`` cannot take the token of a new mime at the same address.
    """

    __slots__ = ("freed", "ptr")

    def __init__(self, ptr: Any) -> None:
        self.freed = False
        self.ptr = ptr


#: Address of a curl_mime a CurlMime owns -> its token.  An entry leaves when
#: the mime is freed (close, _release) or attached to a part.
_OWNED: dict[int, _Owned] = {}


def _address(ptr: Any) -> int:
    return int(ffi.cast("uintptr_t", ptr))


class _Tree:
    """The bookkeeping of one ``curl_mime``: alive exactly as long as libcurl's.

    ``owned`` is the token of a tree its CurlMime owns; ``parent`` the weak
    reference to the tree of the part it is attached to, once attached;
    ``children`` the attached trees; ``states`` the MimeCallbacks of its
    data_cb parts.
    """

    __slots__ = ("alive", "owned", "parent", "children", "states", "__weakref__")

    def __init__(self, owned: _Owned) -> None:
        self.alive = True
        self.owned: Optional[_Owned] = owned
        self.parent: Optional[Callable[[], Optional[_Tree]]] = None
        self.children: list[_Tree] = []
        self.states: list[MimeCallbacks] = []

    def valid(self) -> bool:
        tree: Optional[_Tree] = self
        while tree is not None:
            if not tree.alive:
                return False
            if tree.parent is None:
                return tree.owned is not None and not tree.owned.freed
            tree = tree.parent()
        return False  # the parent's tree was freed (and collected) without telling us

    def all_states(self) -> list[MimeCallbacks]:
        out = list(self.states)
        for child in self.children:
            out.extend(child.all_states())
        return out

    def kill(self) -> None:
        """libcurl has freed this tree."""
        self.alive = False
        for child in self.children:
            child.kill()


def _release(
    ptr: Any,
    quiet: _Quiet = _quiet,
    owned: dict[int, _Owned] = _OWNED,
    address: Callable[[Any], int] = _address,
    mime_free: Any = lib.curl_mime_free,
) -> None:
    """ffi.gc's release of an owned ``curl_mime``: its CurlMime was collected
    unclosed, or its ``__del__`` has not run yet (interpreter exit), or it
    has (the collector deferred this call, and ``close()`` freed the tree).

    libcurl calls the free trampoline of every data_cb part; while ``_quiet``
    is set it only does the bookkeeping, so no user callable runs from here,
    whatever order the collector frees things in.  (The defaults bind what it
    needs: at interpreter exit the module's globals may already be gone.)
    """
    token = owned.get(address(ptr))
    if token is None or token.ptr is not ptr:
        return  # freed by close() after the collector deferred this call, or handed to a part
    del owned[address(ptr)]
    token.freed = True
    quiet.depth += 1
    try:
        mime_free(ptr)
    finally:
        quiet.depth -= 1


#: _release as ffi.gc runs it: after the CurlMime's __del__ (_lifetime.after_finalisers).
_RELEASE = after_finalisers(_release)


# --- the trampolines (rows "mime" of _cbtable) -----------------------------------------


@trampoline("pcb_mime_read")
def _read(state: Any, buffer: Any, size: int, nitems: int, arg: Any) -> int:
    if not isinstance(state, MimeCallbacks) or state.read is None:
        return _READFUNC_ABORT
    n = size * nitems
    return fill_mime(buffer, n, state.read(state.userdata, n))


@trampoline("pcb_mime_seek")
def _seek(state: Any, arg: Any, offset: int, origin: int) -> int:
    if not isinstance(state, MimeCallbacks) or state.seek is None:
        return int(lib.CURL_SEEKFUNC_CANTSEEK)
    return mime_seek_code(state.seek(state.userdata, offset, origin))


@trampoline("pcb_mime_free")
def _free(state: Any, arg: Any) -> None:
    if not isinstance(state, MimeCallbacks):
        unregister(arg)  # its state is gone: nobody is left to tell
        return
    quiet = _quiet.depth > 0
    if quiet:
        state.in_tree = False  # only _release frees quietly, and only a tree
    state.refs -= 1
    _sync_rooted(state)
    if state.refs > 0:
        return
    unregister(state.key)
    fn, state.free = state.free, None
    state.read = state.seek = None
    if fn is None or quiet:
        return
    try:
        fn(state.userdata)
    except Exception as exc:
        report_unraisable(exc, "the free callback of a CurlMimePart")


# --- argument conversion, with pycurl's messages ----------------------------------------


def _text_arg(value: Any, name: str) -> Optional[bytes]:
    """A builder argument: None, or text (TypeError naming ``name`` otherwise)."""
    if value is None:
        return None
    if not isinstance(value, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a byte string or ascii-unicode string")
    return c_path(value)


def _data(value: Any) -> memoryview:
    """A part's content: a buffer (bytes, bytearray, memoryview ...) or an ASCII str."""
    if isinstance(value, str):
        value = value.encode("ascii")
    try:
        view = memoryview(value)
    except TypeError:
        raise TypeError(
            "data() argument must be a byte string, ASCII-only Unicode string, or a buffer object"
        ) from None
    if not view.c_contiguous:
        raise BufferError("data() argument must be a C-contiguous buffer")
    return view.cast("B") if view.ndim != 1 or view.format != "B" else view


def _headers(value: Any) -> Optional[list[bytes]]:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise TypeError("headers must be a list or tuple of strings")
    items = []
    for item in value:
        if not isinstance(item, (str, bytes)):
            raise TypeError("headers must contain only byte or ascii-unicode strings")
        items.append(c_string(item))
    return items


def _datasize(value: Any) -> int:
    if value is None:
        return -1
    try:
        size = operator.index(value)
    except TypeError:
        raise TypeError("datasize must be an integer >= -1 or None") from None
    if size > OFF_T_MAX:
        raise OverflowError("datasize does not fit into curl_off_t")
    if size < -1:
        raise ValueError("datasize must be >= -1")
    return size


def _no_handle(what: str) -> error:
    return error(lib.CURLE_BAD_FUNCTION_ARGUMENT, f"cannot invoke {what}() - no mime handle")


# --- CurlMime ----------------------------------------------------------------------------


class CurlMime(Handle):
    """A MIME structure for one Curl: ``CurlMime(curl)`` (curl_mime_init(3)).

    ``curl`` must be open and not in a transfer; parts can only be changed
    under the same conditions.  Post it with ``curl.setopt(MIMEPOST, mime)``
    (the Curl keeps it alive until the option is replaced, unset, reset or
    the Curl closed), or attach it below a part of another CurlMime of the
    same Curl with ``part.subparts(mime)``, which transfers its ownership to
    that part.  ``close()`` (idempotent, also the context manager's exit)
    frees it with its parts, attached mimes included, and calls the ``free``
    callables of their data_cb parts.  Closing a mime attached as subparts
    only retires this object: its parent still sends and frees it.
    Operations on a closed mime raise ``pycurlcb.error`` "no mime handle".
    """

    _ptr: Any  # the curl_mime * (through ffi.gc while this object owns it)
    _curl: Optional[Curl]
    _tree: Optional[_Tree]  # None once this object is retired
    _owner: bool  # False once attached as subparts (or closed)
    _parts: list[CurlMimePart]
    _submimes: list[CurlMime]  # the attached mimes this tree owns

    def __new__(cls, *args: Any, **kwargs: Any) -> CurlMime:
        curl = _curl_argument(args, kwargs)
        h = open_handle(curl, "CurlMime")
        self = super().__new__(cls)
        ptr = lib.curl_mime_init(h)
        if ptr == ffi.NULL:
            raise MemoryError("curl_mime_init() failed")
        self._ptr = ffi.gc(ptr, _RELEASE)
        owned = _OWNED[_address(ptr)] = _Owned(ptr)
        self._curl = curl
        self._tree = _Tree(owned)
        self._owner = True
        self._parts = []
        self._submimes = []
        self._ready = True
        return self

    def __init__(self, curl: Curl) -> None:
        pass

    # --- lifecycle -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the mime is closed, or its tree was freed with its parent."""
        tree = self._tree
        return tree is None or not tree.valid()

    def _check(self, what: str) -> Curl:
        """The Curl, for an operation that needs this mime open and the Curl idle."""
        if self.closed:
            raise _no_handle(what)
        curl = self._curl
        if curl is None:
            raise error(lib.CURLE_BAD_FUNCTION_ARGUMENT, f"cannot invoke {what}() - no curl handle")
        open_handle(curl, what)
        return curl

    def close(self) -> None:
        """Free the mime and its parts (curl_mime_free(3)); idempotent.

        Unsets it first if it is the Curl's MIMEPOST.  Raises ``error`` while
        the Curl is in a transfer.  What a ``free`` callable raises goes to
        sys.unraisablehook.
        """
        curl = self._curl
        if curl is not None and not curl.closed:
            open_handle(curl, "close")
        self._close()
        exc = take_parked()
        if exc is not None:
            raise exc

    def __del__(self) -> None:
        """pycurl's finaliser: close with the callbacks enabled; errors to sys.unraisablehook.

        A mime that is the MIMEPOST of a Curl in a transfer is not freed
        (only reachable here through an explicit ``__del__()`` call).
        """
        if not self._ready or not self._owner:
            return  # closed, or attached: its parent's tree frees it
        try:
            curl = self._curl
            if curl is not None and _pinned(curl) is self and not curl.closed:
                open_handle(curl, "__del__")
            self._close()
        except BaseException as exc:  # noqa: B036 - nowhere to raise to from a finaliser
            report_unraisable(exc, f"{type(self).__name__}.__del__", self)

    def __enter__(self) -> CurlMime:
        if self.closed:
            raise _no_handle("__enter__")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if len(exc_info) != 3:
            raise TypeError(f"__exit__ expected 3 arguments, got {len(exc_info)}")
        self.close()

    def _close(self) -> None:
        tree, ptr, owner = self._tree, self._ptr, self._owner
        if tree is None:
            return
        self._unpin()
        self._invalidate()
        if not owner or not tree.valid():
            return  # attached (its parent's tree frees it), or freed by _release already
        _OWNED.pop(_address(ptr), None)
        states = tree.all_states()  # alive until curl_mime_free has called their free
        for state in states:
            state.in_tree = False
            reactivate(state.key, state)  # a finaliser: the collector cleared them
        tree.kill()
        ffi.gc(ptr, None)
        lib.curl_mime_free(ptr)
        for state in states:
            _sync_rooted(state)

    def _unpin(self) -> None:
        """Drop the Curl's pin when this mime is its MIMEPOST.

        libcurl needs no call: curl_mime_free unbinds the mime from the easy
        handle (and curl_easy_cleanup from the mime), so nothing here touches
        a Curl's C handle, which may be gone when both are garbage.
        """
        curl = self._curl
        if curl is not None and _pinned(curl) is self:
            kept(curl).pop(MIMEPOST, None)

    def _invalidate(self) -> None:
        """Retire this wrapper, its parts and its attached mimes (their tree is gone or not ours)."""
        if self._tree is None:
            return
        self._tree = None
        self._owner = False
        self._curl = None
        parts, self._parts = self._parts, []
        submimes, self._submimes = self._submimes, []
        for part in parts:
            part._detach()
        for child in submimes:
            child._invalidate()

    # --- building ------------------------------------------------------------

    def addpart(self) -> CurlMimePart:
        """A new, empty part at the end of this mime (curl_mime_addpart(3))."""
        self._check("addpart")
        ptr = lib.curl_mime_addpart(self._ptr)
        if ptr == ffi.NULL:
            raise MemoryError("curl_mime_addpart() failed")
        part = CurlMimePart._make(self, ptr)
        self._parts.append(part)
        return part

    def add(
        self,
        name: Any = None,
        data: Any = None,
        file: Any = None,
        filename: Any = None,
        content_type: Any = None,
        headers: Any = None,
        encoder: Any = None,
    ) -> CurlMimePart:
        """Add a part and set what is given: its content from ``data`` (bytes,
        buffer or ASCII str) or ``file`` (a path), at most one of them.

        Every argument is checked before the part is added, so a bad one
        leaves the mime unchanged (ValueError, TypeError, or ``error``
        E_READ_ERROR for a file that cannot be read).
        """
        if data is not None and file is not None:
            raise ValueError("add() accepts at most one of data or file")
        spec = self._validate(name, data, file, filename, content_type, headers, encoder)
        return self._apply(spec)

    def add_field(
        self, name: Any, value: Any, content_type: Any = None, encoder: Any = None, headers: Any = None
    ) -> CurlMimePart:
        """Add a part ``name`` with content ``value`` (bytes, buffer or ASCII str); as add()."""
        spec = self._validate(name, value, None, None, content_type, headers, encoder)
        return self._apply(spec)

    def add_file(
        self,
        name: Any,
        path: Any,
        filename: Any = None,
        content_type: Any = None,
        headers: Any = None,
        encoder: Any = None,
    ) -> CurlMimePart:
        """Add a part ``name`` whose content is read from the file ``path`` when
        sent (curl_mime_filedata(3): its remote file name defaults to the
        path's base name); as add()."""
        spec = self._validate(name, None, path, filename, content_type, headers, encoder)
        return self._apply(spec)

    def add_multipart(self, name: Any = None, subtype: Any = "mixed") -> CurlMime:
        """Add a part holding a new CurlMime of the same Curl, and return that mime.

        Its Content-Type is ``multipart/<subtype>`` (none if ``subtype`` is None).
        """
        name_b = _text_arg(name, "name")
        subtype_b = None if subtype is None else _text_arg(subtype, "subtype")
        curl = self._check("add_multipart")
        child = CurlMime(curl)
        part = self.addpart()
        if name_b is not None:
            part.name(name_b)
        part.subparts(child)
        if subtype_b is not None:
            part.type(b"multipart/" + subtype_b)
        return child

    def _validate(
        self, name: Any, data: Any, file: Any, filename: Any, content_type: Any, headers: Any,
        encoder: Any,
    ) -> _PartSpec:
        spec = _PartSpec(
            _text_arg(name, "name"),
            None if data is None else bytes(_data(data)),
            _text_arg(file, "file"),
            _text_arg(filename, "filename"),
            _text_arg(content_type, "content_type"),
            _headers(headers),
            _text_arg(encoder, "encoder"),
        )
        curl = self._check("addpart")
        if spec.file is not None and not os.access(spec.file, os.R_OK):
            code = lib.CURLE_READ_ERROR
            message = f"{errors.easy_strerror(code)}: {os.fsdecode(spec.file)!r}"
            exc = errors.outcome(code, None, None, message=message)
            assert exc is not None
            raise exc
        if spec.encoder is not None:
            _check_encoder(curl, spec.encoder)
        return spec

    def _apply(self, spec: _PartSpec) -> CurlMimePart:
        part = self.addpart()
        if spec.name is not None:
            part.name(spec.name)
        if spec.data is not None:
            part.data(spec.data)
        elif spec.file is not None:
            part.filedata(spec.file)
        if spec.filename is not None:
            part.filename(spec.filename)
        if spec.content_type is not None:
            part.type(spec.content_type)
        if spec.headers is not None:
            part.headers(spec.headers)
        if spec.encoder is not None:
            part.encoder(spec.encoder)
        return part


class _PartSpec(NamedTuple):
    name: Optional[bytes]
    data: Optional[bytes]
    file: Optional[bytes]
    filename: Optional[bytes]
    content_type: Optional[bytes]
    headers: Optional[list[bytes]]
    encoder: Optional[bytes]


def _check_encoder(curl: Curl, encoder: bytes) -> None:
    """Ask libcurl whether it knows ``encoder``, on a scratch part (add() adds nothing
    when an argument is bad)."""
    scratch = lib.curl_mime_init(easy_struct(curl).h)
    if scratch == ffi.NULL:
        raise MemoryError("curl_mime_init() failed")
    try:
        part = lib.curl_mime_addpart(scratch)
        if part == ffi.NULL:
            raise MemoryError("curl_mime_addpart() failed")
        errors.check(lib.curl_mime_encoder(part, encoder))
    finally:
        lib.curl_mime_free(scratch)


def _curl_argument(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Curl:
    """The ``curl`` argument; the others are left to a subclass's __init__ (CurlMime's
    own __init__ takes none)."""
    if args:
        curl = args[0]
    elif "curl" in kwargs:
        curl = kwargs["curl"]
    else:
        raise TypeError("CurlMime() missing its argument: curl")
    if not isinstance(curl, Curl):
        raise TypeError(f"CurlMime() argument 1 must be pycurlcb.Curl, not {type(curl).__name__}")
    return curl


# --- CurlMimePart ------------------------------------------------------------------------


class CurlMimePart:
    """One part of a CurlMime (curl_mime_addpart(3)); made by ``CurlMime.addpart()``.

    Each setter replaces what it sets.  The content is one of ``data``,
    ``filedata``, ``data_cb`` or ``subparts``: setting one releases the
    previous one (its data_cb ``free`` runs, an attached mime is freed and
    its CurlMime closed).  Every method raises ``pycurlcb.error`` "no mime
    handle" once the mime is closed, and while its Curl is closed or in a
    transfer; text arguments are bytes or ASCII str without NUL bytes.
    """

    __slots__ = ("_mime", "_ptr", "_state", "_sub")

    _mime: Optional[CurlMime]
    _state: Optional[MimeCallbacks]
    _sub: Optional[CurlMime]

    def __new__(cls, *args: Any, **kwargs: Any) -> CurlMimePart:
        raise TypeError("cannot create 'CurlMimePart' instances: use CurlMime.addpart()")

    @classmethod
    def _make(cls, mime: CurlMime, ptr: Any) -> CurlMimePart:
        part: CurlMimePart = object.__new__(cls)
        part._mime = mime
        part._ptr = ptr
        part._state = None
        part._sub = None
        return part

    def _detach(self) -> None:
        self._mime = self._ptr = self._state = self._sub = None

    def _check(self, what: str) -> CurlMime:
        mime = self._mime
        if mime is None or mime.closed:
            raise _no_handle(what)
        mime._check(what)
        return mime

    # --- properties of the part ------------------------------------------------

    def name(self, name: Any) -> None:
        """The part's name (curl_mime_name(3)): the form field name."""
        self._check("name")
        errors.check(lib.curl_mime_name(self._ptr, c_string(name)))

    def filename(self, filename: Any) -> None:
        """The remote file name (curl_mime_filename(3))."""
        self._check("filename")
        errors.check(lib.curl_mime_filename(self._ptr, c_string(filename)))

    def type(self, mimetype: Any) -> None:
        """The Content-Type, e.g. ``"image/png"`` (curl_mime_type(3))."""
        self._check("type")
        errors.check(lib.curl_mime_type(self._ptr, c_string(mimetype)))

    def encoder(self, encoding: Any) -> None:
        """The transfer encoding: ``"binary"``, ``"8bit"``, ``"7bit"``, ``"base64"`` or
        ``"quoted-printable"`` (curl_mime_encoder(3)); OptionError for another."""
        self._check("encoder")
        errors.check(lib.curl_mime_encoder(self._ptr, c_string(encoding)))

    def headers(self, headers: Any) -> None:
        """Extra header lines, a list or tuple of str/bytes (curl_mime_headers(3));
        None removes them."""
        self._check("headers")
        items = _headers(headers)
        slist = ffi.NULL if items is None else make_slist(items)
        rc = lib.curl_mime_headers(self._ptr, slist, 1)
        if rc != lib.CURLE_OK and slist != ffi.NULL:
            lib.curl_slist_free_all(slist)
        errors.check(rc)

    # --- the content -------------------------------------------------------------

    def data(self, data: Any) -> None:
        """The content, copied: bytes, any C-contiguous buffer, or an ASCII str
        (curl_mime_data(3)); NUL bytes are fine."""
        self._check("data")
        view = _data(data)
        buf, size = ffi.from_buffer(view), view.nbytes
        self._set_content(lambda p: lib.curl_mime_data(p, buf, size))

    def filedata(self, path: Any) -> None:
        """The content is read from the file ``path`` when sent; the remote file
        name defaults to its base name (curl_mime_filedata(3)).  ``error``
        E_READ_ERROR if it cannot be read now (the part keeps the name)."""
        self._check("filedata")
        name = c_path(path)
        self._set_content(lambda p: lib.curl_mime_filedata(p, name))

    def data_cb(
        self, datasize: Any, read: Any, seek: Any = None, free: Any = None, userdata: Any = None
    ) -> None:
        """The content is produced by callables while sending (curl_mime_data_cb(3)).

        ``datasize``: int bytes, or -1/None when unknown (then sent chunked);
        ``read(userdata, size) -> bytes | buffer | ASCII str | READFUNC_ABORT |
        READFUNC_PAUSE``, at most ``size`` bytes, b"" at the end;
        ``seek(userdata, offset, origin) -> None | SEEKFUNC_*`` to rewind
        (a redirect or an authentication round may resend the body);
        ``free(userdata)`` once libcurl is done with them: when the content
        is replaced or the mime is freed (and every duphandle() copy of it).
        What read or seek raise aborts the transfer and is the ``__cause__``
        of the error perform() raises.
        """
        self._check("data_cb")
        size = _datasize(datasize)
        if not callable(read):
            raise TypeError("read must be callable")
        if seek is not None and not callable(seek):
            raise TypeError("seek must be callable or None")
        if free is not None and not callable(free):
            raise TypeError("free must be callable or None")
        mime = self._mime
        assert mime is not None and mime._curl is not None
        state = MimeCallbacks(read, seek, free, userdata, mime._curl)
        seekfunc = ffi.NULL if seek is None else lib.pcb_mime_seek
        readfunc, freefunc, key = lib.pcb_mime_read, lib.pcb_mime_free, state.key
        try:
            self._set_content(lambda p: lib.curl_mime_data_cb(p, size, readfunc, seekfunc, freefunc, key))
        except BaseException:
            unregister(state.key)
            raise
        state.refs = 1
        state.in_tree = True
        self._state = state
        assert mime._tree is not None
        mime._tree.states.append(state)

    def subparts(self, mime: Any) -> None:
        """The content is the parts of ``mime``, a CurlMime of the same Curl,
        which this part now owns (curl_mime_subparts(3)): it is sent and freed
        with this part; closing it afterwards only retires the object."""
        if not isinstance(mime, CurlMime):
            raise TypeError("subparts() expects a CurlMime object")
        parent = self._check("subparts")
        if mime.closed:
            raise ValueError("subparts() received a closed mime object")
        if mime._curl is not parent._curl:
            raise ValueError("subparts() requires both mime objects to use the same Curl handle")
        if mime is parent:
            raise ValueError("subparts() does not accept the parent mime object")
        if not mime._owner:
            raise ValueError("subparts() received a mime object already attached as subparts")
        if mime._curl is not None and _pinned(mime._curl) is mime:
            raise ValueError("subparts() received a mime object currently set as MIMEPOST")
        child_ptr = mime._ptr
        self._set_content(lambda p: lib.curl_mime_subparts(p, child_ptr))
        # The part owns the child's curl_mime now.
        ffi.gc(child_ptr, None)
        _OWNED.pop(_address(child_ptr), None)
        mime._owner = False
        tree, child = parent._tree, mime._tree
        assert tree is not None and child is not None
        child.owned = None
        child.parent = weakref.ref(tree)
        tree.children.append(child)
        parent._submimes.append(mime)
        self._sub = mime

    def _set_content(self, call: Callable[[Any], int]) -> None:
        """Replace the content with ``call(part)``, which only calls libcurl:
        libcurl releases the old content first, even when the call then fails
        (lib/mime.c cleanup_part_content)."""
        mime = self._mime
        assert mime is not None and mime._tree is not None
        tree = mime._tree
        state, sub = self._state, self._sub
        released = [] if state is None else [state]
        if sub is not None and sub._tree is not None:
            released += sub._tree.all_states()
        for s in released:
            s.in_tree = False
        try:
            rc = call(self._ptr)
        finally:
            self._state = self._sub = None
            if state is not None:
                tree.states.remove(state)
            if sub is not None:
                if sub._tree is not None:
                    sub._tree.kill()
                    tree.children.remove(sub._tree)
                mime._submimes.remove(sub)
                sub._invalidate()
            for s in released:
                _sync_rooted(s)
        errors.check(rc)


# --- setopt(MIMEPOST), and what a duphandle() copies ------------------------------------


class _Pin(NamedTuple):
    """``kept(curl)[MIMEPOST]``: the CurlMime a Curl posts.

    ``states`` is None when the Curl points at the mime's own tree; a
    duphandle() has its own copy of the tree, whose data_cb parts call the
    states listed (the ones the tree had when it was copied).
    """

    mime: CurlMime
    states: Optional[tuple[MimeCallbacks, ...]]


def _pinned(curl: Curl) -> Optional[CurlMime]:
    """The CurlMime whose own tree ``curl`` posts, or None."""
    pin = kept(curl).get(MIMEPOST)
    return pin.mime if isinstance(pin, _Pin) and pin.states is None else None


def _set_mimepost(curl: Curl, value: Any) -> None:
    """setopt(MIMEPOST, mime), as pycurl's do_curl_setopt_mimepost."""
    _refuse_other_types(value)
    if not isinstance(value, CurlMime):
        raise TypeError("setopt(option=MIMEPOST) expects a CurlMime object")
    if value.closed:
        raise ValueError("setopt(option=MIMEPOST) received a closed mime object")
    if not value._owner:
        raise ValueError("setopt(option=MIMEPOST) received a mime object already attached as subparts")
    if value._curl is not curl:
        raise ValueError("setopt(option=MIMEPOST) requires a CurlMime created with this Curl handle")
    h = easy_struct(curl).h
    if HTTPPOST in kept(curl):
        # Mutually exclusive in libcurl: libcurl must stop pointing at the form
        # before it is freed, and unsetting it afterwards would clear the mime.
        errors.check(lib.pcb_easy_setopt_ptr(h, HTTPPOST, ffi.NULL))
    errors.check(lib.pcb_easy_setopt_ptr(h, MIMEPOST, value._ptr))
    kept(curl)[MIMEPOST] = _Pin(value, None)
    kept(curl).pop(HTTPPOST, None)


def _unset_mimepost(curl: Curl) -> None:
    errors.check(lib.pcb_easy_setopt_ptr(easy_struct(curl).h, MIMEPOST, ffi.NULL))
    kept(curl).pop(MIMEPOST, None)


def _refuse_other_types(value: Any) -> None:
    """pycurl's setopt dispatch for an option that takes an object: its TypeErrors,
    naming the option and the value."""
    expects = f": setopt(MIMEPOST, {cut_repr(value)}) expects a CurlMime object"
    if isinstance(value, (str, bytes)):
        raise TypeError("strings are not supported for this option" + expects)
    if isinstance(value, int):
        raise TypeError("integers are not supported for this option" + expects)
    if isinstance(value, (list, tuple)):
        raise TypeError("lists are not supported for this option" + expects)
    if callable(value):
        raise TypeError("functions are not supported for this option" + expects)


def _dup_mimepost(src: Curl, dup: Curl) -> None:
    """curl_easy_duphandle deep-copied the posted tree: count the copy's references."""
    pin = kept(src).get(MIMEPOST)
    if not isinstance(pin, _Pin):
        return
    tree = pin.mime._tree
    if pin.states is not None:
        states = pin.states
    elif tree is not None and tree.valid():
        states = tuple(tree.all_states())
    else:
        states = ()
    ref = weakref.ref(dup)
    for state in states:
        if state.refs > 0:
            state.refs += 1
            state.curls.append(ref)
            _sync_rooted(state)
    kept(dup)[MIMEPOST] = _Pin(pin.mime, states)


easy.register_setter(MIMEPOST, _set_mimepost, _unset_mimepost)
easy.register_dup_hook(_dup_mimepost)
