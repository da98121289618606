"""The zip itself: written reproducibly and atomically, and verified with nothing but the zip.

Entries are sorted, dated 1980-01-01 and private (0600), so the same files give the same zip.
Verifying recomputes every hash and reports each file changed, added or missing, and whether
``manifest.json`` still matches ``manifest.sha256``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.errors import InputError
from tracker.evidence.format import FORMAT, MANIFEST, MANIFEST_SUM, EvidenceError, sha256_hex

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: no clock in the bytes
ZIP_MODE = stat.S_IFREG | 0o600
MANIFEST_LIMIT = 64 * 1024 * 1024  # a manifest is read whole: refuse absurd ones
_HEX64 = re.compile(r"[0-9a-f]{64}")


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


def write_zip(files: Mapping[str, bytes], path: Path, *, force: bool = False) -> str:
    """Write *files* as a reproducible zip at *path* (0600, atomically); return its SHA-256."""
    check_output(path, force)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as fh:
            with zipfile.ZipFile(fh, "w") as archive:
                for name in sorted(files):
                    archive.writestr(_zip_info(name), files[name], compresslevel=9)
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


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a bundle: a file changed, added, missing or damaged."""

    kind: str  # "changed" | "added" | "missing" | "damaged" | "invalid"
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}: {self.detail}"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "detail": self.detail}


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a bundle: files verified and every problem found."""

    path: Path
    verified: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), "ok": self.ok, "verified": self.verified,
                "problems": [p.as_dict() for p in self.problems]}


def _member_digest(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    """SHA-256 and size of a member, read in chunks; raises on a damaged member."""
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
           ValueError)


def _read_manifest(archive: zipfile.ZipFile, names: set[str],
                   problems: list[Problem]) -> tuple[dict[str, Any] | None, bool]:
    """The manifest (None if it cannot be used), and whether it matches ``manifest.sha256``."""
    if MANIFEST not in names:
        problems.append(Problem("missing", MANIFEST, "no manifest: nothing can be verified"))
        return None, False
    if archive.getinfo(MANIFEST).file_size > MANIFEST_LIMIT:
        problems.append(Problem("invalid", MANIFEST, "far too large to be a manifest"))
        return None, False
    try:
        data = archive.read(MANIFEST)
        expected = archive.read(MANIFEST_SUM).decode("ascii").split()[0].lower() \
            if MANIFEST_SUM in names else None
    except (*_DAMAGE, UnicodeDecodeError, IndexError) as exc:
        problems.append(Problem("damaged", MANIFEST, f"cannot be read ({exc})"))
        return None, False
    matches = expected == sha256_hex(data)
    if expected is None:
        problems.append(Problem("missing", MANIFEST_SUM, "the manifest's own hash is missing"))
    elif not matches:
        problems.append(Problem("changed", MANIFEST, f"its SHA-256 is {sha256_hex(data)}, "
                                f"{MANIFEST_SUM} says {expected}"))
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        problems.append(Problem("invalid", MANIFEST, f"not valid JSON ({exc})"))
        return None, False
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or not isinstance(manifest.get("files"), list):
        problems.append(Problem("invalid", MANIFEST, "not a tracker evidence manifest"))
        return None, False
    return manifest, matches


def _listed_files(manifest: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    listed: dict[str, Any] = {}
    for entry in manifest["files"]:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("sha256"), str) and _HEX64.fullmatch(entry["sha256"])
                and isinstance(entry.get("size"), int)):
            problems.append(Problem("invalid", MANIFEST, f"malformed file entry {entry!r:.80}"))
            continue
        listed[entry["path"]] = entry
    return listed


def _check_file(archive: zipfile.ZipFile, path: str, entry: Mapping[str, Any]) -> Problem | None:
    try:
        digest, size = _member_digest(archive, path)
    except _DAMAGE as exc:
        return Problem("damaged", path, f"cannot be read ({exc})")
    if digest != entry["sha256"]:
        return Problem("changed", path, f"its SHA-256 is {digest}, the manifest says "
                       f"{entry['sha256']}")
    if size != entry["size"]:
        return Problem("changed", path, f"{size} bytes, the manifest says {entry['size']}")
    return None


def _check_messages(manifest: Mapping[str, Any], listed: Mapping[str, Any]) -> list[Problem]:
    """Each message's stored SHA-256 must be its file's: a manifest at odds with itself."""
    problems = []
    for message in manifest.get("messages") or []:
        path = message.get("file") if isinstance(message, dict) else None
        if isinstance(path, str) and path in listed \
                and message.get("sha256") != listed[path]["sha256"]:
            problems.append(Problem("invalid", path, "the message's stored SHA-256 in the "
                                    "manifest is not its file's"))
    return problems


def verify_bundle(path: Path) -> Verification:
    """Recompute every hash of the bundle at *path*; EvidenceError if it is not a zip at all."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise EvidenceError(f"{path} is not a readable zip file ({exc})") from None
    problems: list[Problem] = []
    with archive:
        counts = Counter(archive.namelist())
        problems += [Problem("added", name, "the zip holds this name more than once")
                     for name, n in sorted(counts.items()) if n > 1]
        present = set(counts)
        manifest, manifest_matches = _read_manifest(archive, present, problems)
        if manifest is None:
            return Verification(path, 0, tuple(problems))
        verified = int(manifest_matches)  # manifest.json is one of the files verified
        listed = _listed_files(manifest, problems)
        for name, entry in sorted(listed.items()):
            if name not in present:
                problems.append(Problem("missing", name, "in the manifest, not in the zip"))
            elif (problem := _check_file(archive, name, entry)) is not None:
                problems.append(problem)
            else:
                verified += 1
        for name in sorted(present - set(listed) - {MANIFEST, MANIFEST_SUM}):
            problems.append(Problem("added", name, "in the zip, not in the manifest"))
        problems.extend(_check_messages(manifest, listed))
    return Verification(path, verified, tuple(problems))
