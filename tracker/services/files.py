"""Files named on the command line (a reply, a scan, an .eml to inspect) read with a bound, and
files tracker writes (a report, an export, its own workspace files) private and whole."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from tracker.core.errors import InputError

MAX_FILE_BYTES = 25 * 1024 * 1024  # the largest mail providers take; a scan of a letter fits


def read_file(path: Path, *, limit: int = MAX_FILE_BYTES, cut: bool = False) -> bytes:
    """The bytes of the regular file *path*, or InputError if it is not one or has over *limit*.

    Devices, pipes and folders are refused before anything is read: ``/dev/zero`` never ends.
    *cut*: a larger file is not refused here: its first ``limit + 1`` bytes are returned, for
    the caller to say, in its own words, that it is over its limit.
    """
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer before it is refused.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"{path} is not a regular file (it is a folder, device or pipe); "
                         "give a file")
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(limit + 1)  # one byte more says it is too large, even if it grew
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > limit and not cut:
        raise InputError(f"{path} is larger than {limit / 2**20:g} MB, the most tracker reads "
                         "from one file; give a smaller file (a large scan can stay outside "
                         "tracker, with a note saying where it is)")
    return data


def write_synced(fd: int, data: bytes) -> None:
    """Write *data* to the open file *fd*, close it, and have it on disk before returning."""
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Write *data* to *path* readable by its owner only (0600), all or nothing.

    The bytes go to a private temporary file beside *path* first and replace it in one
    rename, so a reader never sees half a report and an old one is never half overwritten.
    """
    target = path.expanduser()
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    try:
        write_synced(fd, data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write {target}: {exc.strerror}") from None


def write_new_file(path: Path, data: bytes) -> None:
    """Write *data* to *path*, a file that must not exist yet, readable by its owner only."""
    target = path.expanduser()
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{target} exists; choose a new file name") from None
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    try:
        write_synced(fd, data)
    except OSError as exc:
        target.unlink(missing_ok=True)  # never leave half a message behind
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
