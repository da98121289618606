"""Which member names a bundle may hold: none that an unzip tool could turn against its user.

``tracker evidence verify`` never extracts anything, but people unzip a bundle afterwards
(docs/evidence.md shows how), with tools that follow ``..``, absolute paths, drive letters and
symbolic links. A bundle that verifies must be safe to unzip anywhere, so every name in the zip
and every path in the manifest is held to what tracker itself writes: plain relative paths of
regular files, one name for each file on every file system. Pure functions of names and
``ZipInfo`` records.
"""

from __future__ import annotations

import re
import stat
import struct
import unicodedata
import zipfile
from collections.abc import Iterable

SEGMENT_BYTES = 255  # the longest file name (one folder level) most file systems allow
PATH_BYTES = 1024  # a whole path: tracker's own are under 200, many systems stop at 260 or 1024
_DRIVE = re.compile(r"[A-Za-z]:")
_UNICODE_PATH = 0x7075  # Info-ZIP Unicode Path extra field: a second name for the entry
_MSDOS_FOLDER = 0x10  # the folder bit of the MS-DOS attributes in the low byte
# Controls, invisible formatting (U+202E turns "gpj.exe" into "exe.jpg"), line and paragraph
# separators, and surrogates, which no file system can store: none is in a name tracker writes.
_CONTROL = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs"))


def unsafe_name(name: str) -> str | None:
    """Why *name* is not safe as the path of a file in a bundle, or None if it is."""
    if not name:
        return "an empty name is no file name"
    control = next((c for c in name if unicodedata.category(c) in _CONTROL), None)
    if control is not None and unicodedata.category(control) == "Cs":
        return f"not valid Unicode (a lone surrogate U+{ord(control):04X})"
    if control is not None:
        return (f"a control character (U+{ord(control):04X}) can hide or change what the name "
                "says")
    if name.startswith("/"):
        return "an absolute path could write anywhere on the disk it is extracted to"
    if _DRIVE.match(name):
        return "a drive letter ('C:') could write to another disk on Windows"
    if "\\" in name:
        return "a backslash is a folder separator on Windows: the name could mean another path"
    if ":" in name:
        return "a colon names a hidden stream of another file on Windows"
    if len(name.encode("utf-8", "surrogatepass")) > PATH_BYTES:
        return f"longer than many systems can extract ({PATH_BYTES} bytes)"
    segments = name.split("/")
    if ".." in segments:
        return "a parent reference ('..') could write outside the folder it is extracted to"
    if "." in segments:
        return "a '.' segment gives the same file a second name"
    if "" in segments:
        return "an empty segment ('//' or a '/' at the end) is no file name"
    if any(len(segment.encode("utf-8", "surrogatepass")) > SEGMENT_BYTES
           for segment in segments):
        return f"a part of it is longer than file systems allow ({SEGMENT_BYTES} bytes)"
    return None


def unsafe_entry(info: zipfile.ZipInfo) -> str | None:
    """Why the zip entry *info* is not a plain file, or None if it is one."""
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if info.is_dir() or kind == stat.S_IFDIR or info.external_attr & _MSDOS_FOLDER:
        return "a folder entry, not a file: a bundle holds only files"
    if kind == stat.S_IFLNK:
        return "a symbolic link: once extracted it could point anywhere on the disk"
    if kind not in (0, stat.S_IFREG):  # 0: written without a Unix file type, a file
        return "not a regular file (a device, socket or pipe)"
    if _UNICODE_PATH in _extra_ids(info.extra):
        return ("it carries a second name (an Info-ZIP Unicode Path field) that unzip would "
                "use instead of this one")
    return None


def _extra_ids(extra: bytes) -> set[int]:
    """The header ids of the extra fields of an entry (a truncated last field is ignored)."""
    ids, at = set(), 0
    while at + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, at)
        ids.add(header_id)
        at += 4 + size
    return ids


def _fold(name: str) -> str:
    """The name as case-insensitive, normalising file systems (Windows, macOS) see it."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def clashes(names: Iterable[str]) -> dict[str, str]:
    """Each name that is another's once letter case and Unicode normalisation are ignored, or
    that is a file where another name needs a folder, with why it clashes.

    Every name of a clash is reported, not just the later one: which is the genuine one cannot
    be told. Exact duplicates are not clashes (the caller reports them as such).
    """
    distinct = sorted(set(names))
    groups: dict[str, list[str]] = {}
    for name in distinct:
        groups.setdefault(_fold(name), []).append(name)
    found: dict[str, str] = {}
    for group in groups.values():
        for name in group if len(group) > 1 else ():
            found[name] = "; ".join(_clash(name, other) for other in group if other != name)
    for name in distinct:
        parts = _fold(name).split("/")
        for folder in ("/".join(parts[:n]) for n in range(1, len(parts))):
            for file in groups.get(folder, ()):
                found.setdefault(file, f"a file, and the folder of {name}: it cannot be both")
                found.setdefault(name, f"its folder {file} is a file in the zip")
    return found


def _clash(name: str, other: str) -> str:
    if unicodedata.normalize("NFC", name) == unicodedata.normalize("NFC", other):
        return (f"the same name as {other} written another way in Unicode (NFC and NFD): "
                "extracted on macOS, one would overwrite the other")
    return (f"differs from {other} only by letter case: extracted on Windows or macOS, one "
            "would overwrite the other")
