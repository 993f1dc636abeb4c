"""The trampolines: the decorator and state they share (``core``) and the bodies by family.

``core`` holds the callback table's rows for this build, the per-handle state
(EasyCallbacks, MultiCallbacks) and the ``trampoline`` decorator; the bodies
live by family: ``transfer`` (write, header, read, seek, ioctl, bulk flush),
``progress`` (progress, xferinfo, debug), ``sockets`` (opensocket, sockopt,
closesocket), ``protocol`` (ssh, prereq, fnmatch, chunks, resolver_start,
trailer, hsts), ``multi`` (socket, timer, notify).  Importing this package
attaches every trampoline (a trampoline called before it is attached would
return 0).  Adding a callback is one row in ``_cbtable.py`` and one body in
its family here.  The modules of this private package share the state
objects' private slots (``_cb_write`` ...): tests/test_layers.py counts the
package as one unit.
"""

from . import multi, progress, protocol, sockets, transfer  # noqa: F401 - attach the trampolines
from .core import (
    EASY_SLOTS,
    MULTI_SLOTS,
    ROWS,
    Callback,
    EasyCallbacks,
    FileInfo,
    HstsEntry,
    HstsIndex,
    KhKey,
    MultiCallbacks,
    OptionRow,
    abort_value,
    slot,
    trampoline,
)
from .transfer import in_write_callback

__all__ = [
    "EASY_SLOTS", "MULTI_SLOTS", "ROWS", "Callback", "EasyCallbacks", "FileInfo", "HstsEntry", "HstsIndex",
    "KhKey", "MultiCallbacks", "OptionRow", "abort_value", "in_write_callback", "slot", "trampoline",
]
