"""The zip itself: written reproducibly and atomically (verifying one is in ``verify``).

Entries are sorted, dated 1980-01-01 and private (0600), so the same files give the same zip.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from tracker.core.errors import InputError

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: no clock in the bytes
ZIP_MODE = stat.S_IFREG | 0o600


def check_output(path: Path, force: bool) -> None:
    """Refuse a path in a missing folder, a folder, or an existing file without *force*."""
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a file name such as evidence.zip")
    if path.exists() and not force:
        raise InputError(f"{path} exists already; give --force to replace it")


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so that the permissions below are read
    info.external_attr = ZIP_MODE << 16
    return info


def _write_archive(fh: IO[bytes], files: Mapping[str, bytes]) -> None:
    with zipfile.ZipFile(fh, "w") as archive:
        for name in sorted(files):
            archive.writestr(_zip_info(name), files[name], compresslevel=9)


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """*files* as the zip `write_zip` writes, byte for byte, in memory (for a download)."""
    buffer = io.BytesIO()
    _write_archive(buffer, files)
    return buffer.getvalue()


def write_zip(files: Mapping[str, bytes], path: Path, *, force: bool = False) -> str:
    """Write *files* as a reproducible zip at *path* (0600, atomically); return its SHA-256."""
    check_output(path, force)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as fh:
            _write_archive(fh, files)
            fh.flush()
            os.fsync(fh.fileno())
            fh.seek(0)
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        os.chmod(temp, 0o600)
        check_output(path, force)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return digest
