"""What ``verify`` reads from a manifest, type-checked: any JSON gives records or problems.

A bundle comes from anywhere, so its manifest is hostile input like any mail. ``read_manifest``
turns the parsed JSON into typed records of exactly the fields verify uses, and names each
field that is missing or of the wrong type (``messages[3].number must be a whole number from 1,
not text``). It never raises on any JSON value. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.evidence.format import FORMAT, FORMAT_VERSION

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class FileRecord:
    """One entry of ``files[]``: a file of the bundle with its size and SHA-256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class MessageRecord:
    """One entry of ``messages[]``, as far as verify checks it."""

    where: str  # "messages[3]", for problems
    number: int
    request: str
    file: str | None
    sha256: str | None
    attachments: tuple[FileRecord, ...]
    documents: tuple[FileRecord, ...] = ()  # format version 3 on


@dataclass(frozen=True)
class RequestRecord:
    """One entry of ``requests[]``, as far as verify checks it."""

    where: str
    ref: str
    events: str
    answered_by: int | None  # a message number (format version 2 on)


@dataclass(frozen=True)
class Manifest:
    """The typed parts of a manifest. ``complete`` is False if any part was left out because
    it was malformed (each such problem is in ``errors``)."""

    version: int
    files: tuple[FileRecord, ...]
    messages: tuple[MessageRecord, ...]
    requests: tuple[RequestRecord, ...]
    errors: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Kind:
    words: str
    test: Callable[[Any], bool]


def _is_count(value: Any, least: int) -> bool:
    return type(value) is int and value >= least  # bool is an int to Python, not to JSON


TEXT = _Kind("text", lambda v: isinstance(v, str))
TEXT_OR_NULL = _Kind("text or null", lambda v: v is None or isinstance(v, str))
SIZE = _Kind("a whole number of bytes", lambda v: _is_count(v, 0))
NUMBER = _Kind("a whole number from 1", lambda v: _is_count(v, 1))
NUMBER_OR_NULL = _Kind("a whole number from 1, or null", lambda v: v is None or _is_count(v, 1))
SHA256 = _Kind("a SHA-256 (64 lower-case hex digits)",
               lambda v: isinstance(v, str) and _HEX64.fullmatch(v) is not None)
SHA256_OR_NULL = _Kind("a SHA-256 (64 lower-case hex digits) or null",
                       lambda v: v is None or SHA256.test(v))
LIST = _Kind("a list", lambda v: isinstance(v, list))
OBJECT = _Kind("an object", lambda v: isinstance(v, dict))
_MISSING = object()


def describe(value: Any) -> str:
    """What a JSON value is, in words, without repeating text that came with the bundle."""
    if value is _MISSING:
        return "missing"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        shown = repr(value)
        return f"the number {shown}" if len(shown) <= 20 else "a very long number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


class Fields:
    """Reads fields of JSON objects, noting each one that is missing or of the wrong type."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def get(self, record: Mapping[str, Any], where: str, key: str, kind: _Kind) -> Any:
        """``record[key]`` if it is of *kind*, else ``_MISSING`` (and the error noted)."""
        value = record.get(key, _MISSING)
        if value is _MISSING or not kind.test(value):
            field = f"{where}.{key}" if where else key
            self.errors.append(f"{field} must be {kind.words}, not {describe(value)}")
            return _MISSING
        return value

    def items(self, value: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
        """The objects of the list *value* with their place (``where[3]``); others noted."""
        found = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                found.append((f"{where}[{index}]", item))
            else:
                self.errors.append(f"{where}[{index}] must be an object, not {describe(item)}")
        return found


def _file_record(fields: Fields, where: str, item: Mapping[str, Any]) -> FileRecord | None:
    path, size, sha256 = (fields.get(item, where, "path", TEXT),
                          fields.get(item, where, "size", SIZE),
                          fields.get(item, where, "sha256", SHA256))
    if _MISSING in (path, size, sha256):
        return None
    return FileRecord(path, size, sha256)


# Fields a manifest has from a format version on; verify reads older bundles without them.
MESSAGE_FIELDS_OF = {2: ("admission", "admission_means", "hold"), 3: ("tracking", "carrier")}


def _message_record(fields: Fields, where: str, item: Mapping[str, Any],
                    version: int) -> MessageRecord | None:
    errors = len(fields.errors)
    for since, keys in MESSAGE_FIELDS_OF.items():
        for key in keys if version >= since else ():
            fields.get(item, where, key, TEXT)
    number = fields.get(item, where, "number", NUMBER)
    request = fields.get(item, where, "request", TEXT)
    file = fields.get(item, where, "file", TEXT_OR_NULL)
    sha256 = fields.get(item, where, "sha256", SHA256_OR_NULL)
    listed = fields.get(item, where, "attachments", LIST)
    attachments = [_file_record(fields, place, attachment) for place, attachment
                   in fields.items([] if listed is _MISSING else listed, f"{where}.attachments")]
    documents: list[FileRecord | None] = []
    if version >= 3:  # the files kept with a letter: its PDF as posted, receipts
        kept = fields.get(item, where, "documents", LIST)
        documents = [_file_record(fields, place, document) for place, document
                     in fields.items([] if kept is _MISSING else kept, f"{where}.documents")]
    if len(fields.errors) > errors:
        return None
    return MessageRecord(where, number, request, file, sha256,
                         tuple(a for a in attachments if a is not None),
                         tuple(d for d in documents if d is not None))


def _request_record(fields: Fields, where: str, item: Mapping[str, Any],
                    version: int) -> RequestRecord | None:
    ref, events = fields.get(item, where, "ref", TEXT), fields.get(item, where, "events", TEXT)
    answered_by = None
    if version >= 2:  # the message that answered the request's current wait
        deadline = fields.get(item, where, "deadline", OBJECT)
        if deadline is not _MISSING:
            answered_by = fields.get(deadline, f"{where}.deadline", "answered_by",
                                     NUMBER_OR_NULL)
    if _MISSING in (ref, events, answered_by):
        return None
    return RequestRecord(where, ref, events, answered_by)


def _version(fields: Fields, manifest: Mapping[str, Any]) -> int | None:
    version = manifest.get("format_version", _MISSING)
    if not _is_count(version, 1):
        fields.errors.append(f"format_version must be a whole number from 1, not "
                             f"{describe(version)}")
        return None
    if version > FORMAT_VERSION:
        fields.errors.append(f"format_version {version} is newer than this tracker reads "
                             f"(up to {FORMAT_VERSION}): verify it with a newer tracker")
        return None
    return int(version)


def read_manifest(manifest: Any) -> Manifest | str:
    """The typed manifest, or why the JSON value is no tracker evidence manifest at all."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return f"not a tracker evidence manifest (no \"format\": \"{FORMAT}\")"
    fields = Fields()
    version = _version(fields, manifest)
    if version is None:
        return fields.errors[0]
    parts: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for key in ("files", "messages", "requests"):
        value = fields.get(manifest, "", key, LIST)
        parts[key] = [] if value is _MISSING else fields.items(value, key)
    files = [_file_record(fields, where, item) for where, item in parts["files"]]
    messages = [_message_record(fields, where, item, version)
                for where, item in parts["messages"]]
    requests = [_request_record(fields, where, item, version)
                for where, item in parts["requests"]]
    return Manifest(version=version, files=tuple(f for f in files if f is not None),
                    messages=tuple(m for m in messages if m is not None),
                    requests=tuple(r for r in requests if r is not None),
                    errors=tuple(fields.errors))


def read_events(value: Any) -> tuple[set[int], list[str]]:
    """The message numbers a request's ``events.json`` names, and each malformed record."""
    if not isinstance(value, list):
        return set(), [f"must be a list of events, not {describe(value)}"]
    fields, numbers = Fields(), set()
    for where, item in fields.items(value, "events"):
        number = fields.get(item, where, "message", NUMBER_OR_NULL)
        if number is not _MISSING and number is not None:
            numbers.add(number)
    return numbers, fields.errors
