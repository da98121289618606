"""Files named on the command line (a reply, a scan, an .eml to inspect), read with a bound."""

from __future__ import annotations

import os
import stat
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
