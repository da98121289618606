"""Checking a bundle with nothing but the zip: every name, every hash, the manifest's own.

Nothing is extracted, and nothing is read further than it may be (a small zip can expand to
gigabytes). The zip's names and the manifest's paths must be safe to unzip (``names``); what
the manifest says must be of the right types (``schema``); every listed file's SHA-256 is
recomputed; ``manifest.json`` must still match ``manifest.sha256``; and the manifest must agree
with itself (``consistency``). Each problem names the file and says what is wrong with it.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tracker.core.inert import inert_line
from tracker.evidence.consistency import check_consistency
from tracker.evidence.format import (
    MANIFEST,
    MANIFEST_SUM,
    EvidenceError,
    files_in_words,
    sha256_hex,
)
from tracker.evidence.names import clashes, unsafe_entry, unsafe_name
from tracker.evidence.schema import FileRecord, Manifest, read_events, read_manifest

# A bundle checks itself; only a hash kept outside it shows that it is the bundle that was made.
KEEP_HASH = ("Keep this hash where the other side can see it (in the covering letter, say): "
             "`tracker evidence verify` prints it for them to compare.")
COMPARE_HASH = ("Compare it with the hash kept when the bundle was made (`tracker evidence` "
                "printed it): only that shows this is the bundle that was made.")
MANIFEST_LIMIT = 64 * 1024 * 1024  # a manifest is read whole: refuse absurd ones
SUM_LIMIT = 4096  # manifest.sha256 is one line of 81 bytes
READ_MARGIN = 64 * 1024  # how far past its listed size a member is read before giving up
CHUNK = 1 << 20
_SUM_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *]manifest\.json")
PATH_SHOWN = 500  # characters of a path a problem shows (tracker's own are under 200)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a bundle: a file changed, added, missing, damaged or unsafe."""

    kind: str  # "changed" | "added" | "missing" | "damaged" | "invalid" | "unsafe"
    path: str
    detail: str

    def __post_init__(self) -> None:
        # Names come from the bundle and may be megabytes long: show enough to find them.
        object.__setattr__(self, "path", _clip(self.path, PATH_SHOWN))
        object.__setattr__(self, "detail", _clip(self.detail, 2 * PATH_SHOWN))

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}: {self.detail}"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "detail": self.detail}


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a bundle: files verified and every problem found.

    ``verified`` counts the files as export does (``format.files_in_words``): each listed file
    whose hash is the manifest's, and manifest.json and manifest.sha256 if they match.
    """

    path: Path
    verified: int
    problems: tuple[Problem, ...]
    # The SHA-256 of manifest.json as it is in the zip (None if there is none to read): a
    # bundle checks itself, so only this compared with the hash kept when the bundle was
    # made shows that it is the same bundle.
    manifest_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """What `tracker evidence verify` prints, line by line; names from the zip made inert."""
        found = [f"OK: {files_in_words(self.verified)} verified"] if self.ok else []
        found += [inert_line(str(problem)) for problem in self.problems]
        if self.manifest_sha256 is not None:
            found += [f"manifest.json SHA-256: {self.manifest_sha256}", COMPARE_HASH]
        return found

    @property
    def verdict(self) -> str:
        """One line: verified, or how many problems were found."""
        if self.ok:
            return f"OK: {files_in_words(self.verified)} verified"
        count = len(self.problems)
        return (f"{count} problem{'' if count == 1 else 's'} found; the bundle is not as it "
                "was exported")

    def as_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), "ok": self.ok, "verified": self.verified,
                "manifest_sha256": self.manifest_sha256,
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
    manifest: Manifest | None


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
        parsed = json.loads(data.decode("utf-8"), object_pairs_hook=_no_repeated_keys)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        problems.append(Problem("invalid", MANIFEST, f"not valid JSON ({exc})"))
        return _Signed(actual, False, None)
    manifest = read_manifest(parsed)
    if isinstance(manifest, str):
        problems.append(Problem("invalid", MANIFEST, manifest))
        return _Signed(actual, False, None)
    problems += [Problem("invalid", MANIFEST, error) for error in manifest.errors]
    return _Signed(actual, expected == actual, manifest)


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice: programs disagree on which one counts."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key[:40]!r} is given twice in one object")
        found[key] = value
    return found


def _listed_files(manifest: Manifest, problems: list[Problem]) -> dict[str, FileRecord]:
    """``files[]`` by path; a path listed twice is reported (with two hashes, which holds?)."""
    listed: dict[str, FileRecord] = {}
    for record in manifest.files:
        if record.path in listed:
            problems.append(Problem("invalid", record.path, f"listed twice in {MANIFEST} "
                                    "files[]"))
        listed.setdefault(record.path, record)
    return listed


def _manifest_paths(manifest: Manifest) -> Iterator[str]:
    """Every path the manifest names: its files, and each message's file and attachments."""
    yield from (record.path for record in manifest.files)
    for message in manifest.messages:
        if message.file is not None:
            yield message.file
        yield from (attachment.path for attachment in message.attachments)
        yield from (document.path for document in message.documents)
    yield from (request.events for request in manifest.requests)


def _check_file(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                entry: FileRecord) -> Problem | None:
    """Whether the member *info* is the file *entry* of the manifest lists, read no further
    than its listed size (and a margin) whatever the zip's header says."""
    path, size = info.filename, entry.size
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
    if digest != entry.sha256:
        return Problem("changed", path, f"its SHA-256 is {digest}, the manifest says "
                       f"{entry.sha256}")
    if read != size:
        return Problem("changed", path, f"{read} bytes, the manifest says {size}")
    return None


def _read_events(archive: zipfile.ZipFile, infos: Mapping[str, zipfile.ZipInfo],
                 manifest: Manifest, good: set[str],
                 problems: list[Problem]) -> dict[str, set[int]]:
    """For each request whose event log verified, the message numbers its events name."""
    named: dict[str, set[int]] = {}
    for request in manifest.requests:
        if request.events not in good:
            continue  # missing, changed or unsafe: reported already
        try:
            data = _read_capped(archive, infos[request.events], MANIFEST_LIMIT)
            value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_repeated_keys)
        except (_TooLarge, *_DAMAGE, RecursionError) as exc:
            problems.append(Problem("invalid", request.events, f"not a valid event log ({exc})"))
            continue
        numbers, errors = read_events(value)
        problems += [Problem("invalid", request.events, error) for error in errors]
        named[request.ref] = numbers
    return named


def verify_bundle(path: Path) -> Verification:
    """Recompute every hash of the bundle at *path*; EvidenceError if it is not a zip at all."""
    return _verify(path, path)


def verify_upload(stream: IO[bytes], name: str) -> Verification:
    """`verify_bundle` for a bundle sent to the web page: *stream* is the uploaded file
    (seekable), *name* what its sender called it (shown, never opened)."""
    return _verify(stream, Path(name or "upload.zip"))


def _verify(source: Path | IO[bytes], path: Path) -> Verification:
    try:
        archive = zipfile.ZipFile(source)
    except (*_DAMAGE, struct.error) as exc:  # NotImplementedError: a garbled version field
        raise EvidenceError(f"{inert_line(str(path))} is not a readable zip file "
                            f"({exc})") from None
    problems: list[Problem] = []
    with archive:
        infos = archive.infolist()
        unsafe = _check_members(infos, problems)
        by_name = {info.filename: info for info in infos}  # the last of a name, as zipfile reads
        present = set(by_name)
        signed = _read_manifest(archive, by_name, unsafe, problems)
        manifest = signed.manifest
        if manifest is None:
            return Verification(path, 0, tuple(problems), signed.sha256)
        # The manifest and its hash verify each other: both count, as export counts them.
        verified = 2 if signed.matches else 0
        listed = _listed_files(manifest, problems)
        for name in _manifest_paths(manifest):
            if name not in unsafe and (why := unsafe_name(name)) is not None:
                problems.append(Problem("unsafe", name, f"{why} (named in {MANIFEST})"))
                unsafe.add(name)
        good: set[str] = set()  # listed files whose hash and size are the manifest's
        for name, entry in sorted(listed.items()):
            if name in unsafe:
                continue
            if name not in present:
                problems.append(Problem("missing", name, "in the manifest, not in the zip"))
            elif (problem := _check_file(archive, by_name[name], entry)) is not None:
                problems.append(problem)
            else:
                good.add(name)
        verified += len(good)
        for name in sorted(present - set(listed) - {MANIFEST, MANIFEST_SUM} - unsafe):
            problems.append(Problem("added", name, "in the zip, not in the manifest"))
        if manifest.complete:  # a malformed manifest contradicting itself says nothing more
            events = _read_events(archive, by_name, manifest, good, problems)
            problems += [Problem("invalid", where, what) for where, what
                         in check_consistency(manifest, listed, events, unsafe)]
    return Verification(path, verified, tuple(problems), signed.sha256)
