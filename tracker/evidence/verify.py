"""Checking a bundle with nothing but the zip: every name, every hash, the manifest's own.

Nothing is extracted. The zip's names and the manifest's paths must be safe to unzip
(``names``); every listed file's SHA-256 is recomputed; ``manifest.json`` must still match
``manifest.sha256``. Each problem names the file and says what is wrong with it.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.evidence.format import FORMAT, MANIFEST, MANIFEST_SUM, EvidenceError, sha256_hex
from tracker.evidence.names import clashes, unsafe_entry, unsafe_name

MANIFEST_LIMIT = 64 * 1024 * 1024  # a manifest is read whole: refuse absurd ones
SUM_LIMIT = 4096  # manifest.sha256 is one line of 81 bytes
READ_MARGIN = 64 * 1024  # how far past its listed size a member is read before giving up
CHUNK = 1 << 20
_SUM_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *]manifest\.json")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a bundle: a file changed, added, missing, damaged or unsafe."""

    kind: str  # "changed" | "added" | "missing" | "damaged" | "invalid" | "unsafe"
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


_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
           ValueError, OSError)


class _TooLarge(Exception):
    """A member holds more bytes than it may: reading it stopped there."""


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member read whole, but never more than *limit* bytes (_TooLarge past them).

    The header's size is checked first, then the bytes actually decompressed are counted: a
    header can lie, and a small zip can expand to gigabytes.
    """
    if info.file_size > limit:
        raise _TooLarge
    chunks, size = [], 0
    with archive.open(info) as fh:
        while chunk := fh.read(min(CHUNK, limit + 1 - size)):
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
    return b"".join(chunks)


def _member_digest(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                   limit: int) -> tuple[str, int]:
    """SHA-256 and size of a member, read in chunks and at most *limit* + 1 bytes of it.

    A size over *limit* means there is more: the rest is not read. Raises on damage.
    """
    digest, size = hashlib.sha256(), 0
    with archive.open(info) as fh:
        while chunk := fh.read(min(CHUNK, limit + 1 - size)):
            digest.update(chunk)
            size += len(chunk)
            if size > limit:
                break
    return digest.hexdigest(), size


def _check_members(infos: list[zipfile.ZipInfo], problems: list[Problem]) -> set[str]:
    """Report every name in the zip that is unsafe to unzip, or there twice; return the unsafe.

    Unsafe members are never read: whatever they hold, the bundle is not one tracker wrote.
    """
    counts = Counter(info.filename for info in infos)
    problems += [Problem("added", name, "the zip holds this name more than once")
                 for name, n in sorted(counts.items()) if n > 1]
    unsafe: dict[str, str] = {}
    for info in infos:
        why = unsafe_entry(info) or unsafe_name(info.filename)
        if why is not None:
            unsafe.setdefault(info.filename, why)
    for name, why in clashes(counts).items():
        unsafe.setdefault(name, why)
    problems += [Problem("unsafe", name, why) for name, why in sorted(unsafe.items())]
    return set(unsafe)


@dataclass(frozen=True)
class _Signed:
    """manifest.json as read: its bytes' SHA-256, whether manifest.sha256 vouches for them,
    and what it holds (None if it cannot be used)."""

    sha256: str | None
    matches: bool
    manifest: dict[str, Any] | None


def _read_sum(archive: zipfile.ZipFile, infos: Mapping[str, zipfile.ZipInfo],
              problems: list[Problem]) -> str | None:
    """The hash manifest.sha256 gives for manifest.json, or None (the problem reported)."""
    info = infos.get(MANIFEST_SUM)
    if info is None:
        problems.append(Problem("missing", MANIFEST_SUM, "the manifest's own hash is missing"))
        return None
    try:
        text = _read_capped(archive, info, SUM_LIMIT).decode("ascii").strip()
    except _TooLarge:
        problems.append(Problem("invalid", MANIFEST_SUM, f"more than {SUM_LIMIT} bytes, not "
                                "read further: it should be one line"))
        return None
    except (*_DAMAGE, UnicodeDecodeError) as exc:
        problems.append(Problem("damaged", MANIFEST_SUM, f"cannot be read ({exc})"))
        return None
    line = _SUM_LINE.fullmatch(text)
    if line is None:
        problems.append(Problem("invalid", MANIFEST_SUM, "not the one sha256sum line "
                                "'<SHA-256>  manifest.json'"))
        return None
    return line[1].lower()


def _read_manifest(archive: zipfile.ZipFile, infos: Mapping[str, zipfile.ZipInfo],
                   unsafe: set[str], problems: list[Problem]) -> _Signed:
    """manifest.json, its hash, and whether manifest.sha256 vouches for it.

    An unsafe manifest (or hash) has been reported already; it is not read.
    """
    if MANIFEST in unsafe:
        return _Signed(None, False, None)
    info = infos.get(MANIFEST)
    if info is None:
        problems.append(Problem("missing", MANIFEST, "no manifest: nothing can be verified"))
        return _Signed(None, False, None)
    try:
        data = _read_capped(archive, info, MANIFEST_LIMIT)
    except _TooLarge:
        problems.append(Problem("invalid", MANIFEST, f"more than {MANIFEST_LIMIT >> 20} MiB, "
                                "not read further: far too large to be a manifest"))
        return _Signed(None, False, None)
    except _DAMAGE as exc:
        problems.append(Problem("damaged", MANIFEST, f"cannot be read ({exc})"))
        return _Signed(None, False, None)
    actual = sha256_hex(data)
    expected = None if MANIFEST_SUM in unsafe else _read_sum(archive, infos, problems)
    if expected is not None and expected != actual:
        problems.append(Problem("changed", MANIFEST, f"its SHA-256 is {actual}, "
                                f"{MANIFEST_SUM} says {expected}"))
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        problems.append(Problem("invalid", MANIFEST, f"not valid JSON ({exc})"))
        return _Signed(actual, False, None)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or not isinstance(manifest.get("files"), list):
        problems.append(Problem("invalid", MANIFEST, "not a tracker evidence manifest"))
        return _Signed(actual, False, None)
    return _Signed(actual, expected == actual, manifest)


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


def _manifest_paths(manifest: Mapping[str, Any], listed: Mapping[str, Any]) -> Iterator[str]:
    """Every path the manifest names: its files, and each message's file and attachments."""
    yield from listed
    messages = manifest.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        if isinstance(message.get("file"), str):
            yield message["file"]
        attachments = message.get("attachments")
        for attachment in attachments if isinstance(attachments, list) else []:
            if isinstance(attachment, dict) and isinstance(attachment.get("path"), str):
                yield attachment["path"]


def _check_file(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                entry: Mapping[str, Any]) -> Problem | None:
    """Whether the member *info* is the file *entry* of the manifest lists, read no further
    than its listed size (and a margin) whatever the zip's header says."""
    path, size = info.filename, entry["size"]
    if info.file_size != size:
        return Problem("changed", path, f"the zip holds {info.file_size} bytes, the manifest "
                       f"says {size}")
    try:
        digest, read = _member_digest(archive, info, size + READ_MARGIN)
    except _DAMAGE as exc:
        return Problem("damaged", path, f"cannot be read ({exc})")
    if read > size + READ_MARGIN:
        return Problem("changed", path, f"more than {size + READ_MARGIN} bytes (not read "
                       f"further), the manifest says {size}")
    if digest != entry["sha256"]:
        return Problem("changed", path, f"its SHA-256 is {digest}, the manifest says "
                       f"{entry['sha256']}")
    if read != size:
        return Problem("changed", path, f"{read} bytes, the manifest says {size}")
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
        infos = archive.infolist()
        unsafe = _check_members(infos, problems)
        by_name = {info.filename: info for info in infos}  # the last of a name, as zipfile reads
        present = set(by_name)
        signed = _read_manifest(archive, by_name, unsafe, problems)
        manifest = signed.manifest
        if manifest is None:
            return Verification(path, 0, tuple(problems))
        verified = int(signed.matches)  # manifest.json is one of the files verified
        listed = _listed_files(manifest, problems)
        for name in _manifest_paths(manifest, listed):
            if name not in unsafe and (why := unsafe_name(name)) is not None:
                problems.append(Problem("unsafe", name, f"{why} (named in {MANIFEST})"))
                unsafe.add(name)
        for name, entry in sorted(listed.items()):
            if name in unsafe:
                continue
            if name not in present:
                problems.append(Problem("missing", name, "in the manifest, not in the zip"))
            elif (problem := _check_file(archive, by_name[name], entry)) is not None:
                problems.append(problem)
            else:
                verified += 1
        for name in sorted(present - set(listed) - {MANIFEST, MANIFEST_SUM} - unsafe):
            problems.append(Problem("added", name, "in the zip, not in the manifest"))
        problems.extend(_check_messages(manifest, listed))
    return Verification(path, verified, tuple(problems))
