"""Where ``-o`` sends the body, such that a failed transfer never clobbers a file.

``FileOutput(path)`` writes a regular file through a temporary file in the
same directory (``.NAME.XXXXXXXX.part``), and renames it onto ``path`` only
when the transfer succeeded: an existing file stays as it was until then,
and is left intact by a failure or Ctrl-C.  A target that exists and is not
a regular file (``/dev/null``, ``/dev/full``, a FIFO, a terminal) is written
in place: there is nothing to protect, and a rename would replace the device.
A symbolic link is followed: the file it points to is replaced, not the link.
When no temporary file can be made beside an existing target (a read-only
directory, ``/proc``, ``/sys``), the target itself is opened for writing, as
curl(1) does: an error then is the target's (``cannot write /proc/version:
Permission denied``), not the temporary file's; a target that opens is
written in place, truncated to what was written at the end.

``StreamOutput`` writes to an open stream (``-o -``: stdout).

Every OSError becomes a ``Failure`` with CURLE_WRITE_ERROR (23), curl(1)'s
exit status for an output it cannot write, and a line such as ``cannot
write out.bin: No space left on device``.
"""

from __future__ import annotations

import os
import secrets
import stat
from typing import BinaryIO, Optional

from .failure import Failure, curle


def _failure(name: str, exc: OSError) -> Failure:
    return Failure(f"cannot write {name}: {exc.strerror or exc}", curle("WRITE_ERROR"))


class StreamOutput:
    """An already open binary stream; ``name`` is how messages call it."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream = stream
        self.name = name

    def open(self) -> None:
        pass

    def write(self, data: bytes) -> None:
        """Write ``data``; Failure (23) if the stream refuses it."""
        try:
            self.stream.write(data)
        except OSError as exc:
            raise _failure(self.name, exc) from None

    def commit(self) -> None:
        """Flush; Failure (23) if that fails."""
        try:
            self.stream.flush()
        except OSError as exc:
            raise _failure(self.name, exc) from None

    def discard(self) -> None:
        try:
            self.stream.flush()
        except OSError:
            pass


class FileOutput:
    """``-o FILE``: ``open()`` before the transfer, then ``commit()`` or ``discard()``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: Optional[BinaryIO] = None
        self._temp: Optional[str] = None  # the temporary file, renamed onto _final
        self._final = path
        self._in_place = False  # a regular file written in place: truncated by commit()

    def open(self) -> None:
        """Create the temporary file (or open a non-regular target); Failure (23) if it cannot."""
        final = os.path.realpath(self.path)  # through a symbolic link, onto its target
        try:
            existing: Optional[os.stat_result] = os.stat(final)
        except FileNotFoundError:
            existing = None
        except OSError as exc:
            raise _failure(self.path, exc) from None
        try:
            if existing is not None and not stat.S_ISREG(existing.st_mode):
                self._file = open(final, "wb")  # noqa: SIM115 - closed by commit()/discard()
                return
            try:
                fd, self._temp = self._create_temp(final)
            except OSError:
                if existing is None:
                    raise  # the target would be created in the same directory: the same error
                self._file = self._open_in_place(final)  # the target's own error if it fails
                self._in_place = True
                return
            if existing is not None:
                os.fchmod(fd, stat.S_IMODE(existing.st_mode))  # the new file keeps the old mode
            self._file = os.fdopen(fd, "wb")
            self._final = final
        except OSError as exc:
            self.discard()
            raise _failure(self.path, exc) from None

    @staticmethod
    def _create_temp(final: str) -> tuple[int, str]:
        directory, name = os.path.split(final)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        while True:
            temp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
            try:
                # Mode 0666 less the umask, as a file curl(1) creates.
                return os.open(temp, flags, 0o666), temp
            except FileExistsError:
                continue

    @staticmethod
    def _open_in_place(final: str) -> BinaryIO:
        """The existing target, opened for writing without truncating it (commit() does)."""
        fd = os.open(final, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        return os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        """Write ``data``; Failure (23) if the file refuses it (ENOSPC ...)."""
        assert self._file is not None, "open() first"
        try:
            self._file.write(data)
        except OSError as exc:
            raise _failure(self.path, exc) from None

    def commit(self) -> None:
        """The transfer succeeded: flush, fsync and rename onto the target.

        Failure (23) if any step fails; the temporary file is removed then.
        """
        assert self._file is not None, "open() first"
        try:
            self._file.flush()
            if self._in_place:
                self._file.truncate()  # at the position: what this transfer wrote
            if self._temp is not None:
                os.fsync(self._file.fileno())
            self._file.close()
            if self._temp is not None:
                os.replace(self._temp, self._final)
                self._temp = None
        except OSError as exc:
            self.discard()
            raise _failure(self.path, exc) from None

    def discard(self) -> None:
        """The transfer failed: close, and remove the temporary file; never raises."""
        if self._file is not None:
            try:
                self._file.close()  # flushes what is buffered: a device gets it anyway
            except OSError:
                pass
        if self._temp is not None:
            try:
                os.unlink(self._temp)
            except OSError:
                pass
            self._temp = None
